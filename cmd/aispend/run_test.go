package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/runlog"
)

const batchConfig = `currency: KRW
timezone: Asia/Seoul
public_url: https://reports.example.com/ai
budgets:
  - name: daily-total
    period: daily
    amount: 1000
  - name: qa-monthly
    period: monthly
    amount: 1000
    scope: {service: QA_CHAT}
    recipients: [qa-lead@example.com]
`

func insertCost(t *testing.T, url string, at time.Time, service, cost string) {
	t.Helper()
	r := eventtest.Row(fmt.Sprintf("%s-%d", t.Name(), at.UnixNano()), at)
	r.Service, r.Model, r.Provider, r.InputTokens, r.OutputTokens, r.CostSource = service, "m", "", 1, 1, "provider"
	eventtest.Price(&r, cost)
	eventtest.Insert(t, pgtest.Connect(t, url), r)
}

func batchEnv(t *testing.T, smtpPort int) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "aispend.yaml")
	if err := os.WriteFile(path, []byte(batchConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	return map[string]string{
		"DATABASE_URL": url, "AISPEND_CONFIG": path, "AISPEND_OUTPUT": filepath.Join(dir, "out"),
		"AISPEND_SMTP_HOST": "127.0.0.1", "AISPEND_SMTP_PORT": strconv.Itoa(smtpPort), "AISPEND_SMTP_TLS": "none",
		"AISPEND_SMTP_FROM": "aispend@example.com", "AISPEND_ALERT_EMAILS": "finance@example.com",
		// The tests run periods of October 2026 by the real clock, weeks after they ended: a
		// grace of ten years lets their alerts be sent, as an operator replaying old periods
		// would set it (stale alerts are tested with the default in report/stale_alert_test.go).
		"AISPEND_ALERTS_GRACE": "87600h",
	}, url
}

// Ensures `aispend run` computes the period in the configured zone, sends each alert once,
// prints a one-line summary, and that --dry-run sends nothing.
func TestRunCommand(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	insertCost(t, url, time.Date(2026, 10, 1, 1, 0, 0, 0, seoul), "QA_CHAT", "600")     // 60 % of daily-total
	insertCost(t, url, time.Date(2026, 9, 30, 23, 0, 0, 0, seoul), "QA_CHAT", "999999") // the day before in Seoul
	ctx := context.Background()
	args := []string{"run", "--period", "daily", "--date", "2026-10-01", "--log-format", "text"}

	var out, logs bytes.Buffer
	dryDir := t.TempDir()
	if err := run(ctx, append(args, "--dry-run", "--dry-run-dir", dryDir), envMap(env), &out, &logs); err != nil {
		t.Fatalf("dry run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "dry run") || len(srv.Messages(t)) != 0 {
		t.Fatalf("dry run: %q, %d emails", out.String(), len(srv.Messages(t)))
	}
	if _, err := os.Stat(filepath.Join(env["AISPEND_OUTPUT"], "index.html")); err == nil {
		t.Error("dry run published the site")
	}
	out.Reset()
	if err := run(ctx, args, envMap(env), &out, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	summary := strings.TrimSpace(out.String())
	for _, want := range []string{"daily 2026-10-01", "₩600", "1 request (", "alerts 2 sent", ", ok"} {
		if !strings.Contains(summary, want) || strings.Count(summary, "\n") != 0 {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	all := srv.Messages(t)
	var msgs []mailtest.Summary // the alerts; the digest is checked in outputs_test.go
	for _, m := range all {
		if !strings.Contains(m.Subject, "digest") {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 2 || len(all) != 3 {
		t.Fatalf("%d emails; want the daily INFO, the monthly INFO and the digest", len(all))
	}
	to := map[string]bool{}
	for _, m := range msgs {
		to[m.To[0].Address] = true
	}
	if !to["finance@example.com"] || !to["qa-lead@example.com"] {
		t.Errorf("recipients %v: want the default list and the budget's own", to)
	}
	if err := run(ctx, args, envMap(env), &out, &logs); err != nil || len(srv.Messages(t)) != 3 {
		t.Fatalf("re-run: %v, %d emails", err, len(srv.Messages(t)))
	}
	// Recorded in the runs table like a scheduled run; the dry run is not.
	pool := pgtest.Connect(t, url)
	recent, err := runlog.New(pool, runlog.Options{}).Recent(ctx, 10)
	if err != nil || len(recent) != 2 {
		t.Fatalf("runs: %v %v; want the run and the re-run", recent, err)
	}
	if r := recent[len(recent)-1]; r.Kind != "daily" || r.Period != "2026-10-01" || r.Status != runlog.StatusSucceeded {
		t.Errorf("run recorded as %+v", r)
	}
	d := srv.Message(t, msgs[0].ID)
	if !strings.Contains(d.HTML, "https://reports.example.com/ai/daily/2026-10-01/") {
		t.Error("alert does not link to the report page")
	}
}

// Ensures a failing step makes `aispend run` exit non-zero while the summary still shows what
// was computed.
func TestRunCommandFailsWhenSMTPDown(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	srv.Stop()
	seoul, _ := time.LoadLocation("Asia/Seoul")
	insertCost(t, url, time.Date(2026, 10, 1, 1, 0, 0, 0, seoul), "OTHER", "900")
	var out, logs bytes.Buffer
	err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &out, &logs)
	if err == nil {
		t.Fatal("run succeeded with the SMTP server down")
	}
	if s := out.String(); !strings.Contains(s, "₩900") || !strings.Contains(s, "FAILED: alerts") {
		t.Errorf("summary %q", s)
	}
	if err := run(context.Background(), []string{"run", "--date", "2026-13-01"}, envMap(env), &out, &logs); err == nil || !strings.Contains(err.Error(), "--date") {
		t.Errorf("bad date: %v", err)
	}
	if err := run(context.Background(), []string{"run", "--period", "hourly"}, envMap(env), &out, &logs); err == nil || !strings.Contains(err.Error(), "--period") {
		t.Errorf("bad period: %v", err)
	}
}

// Ensures `aispend alert test` sends a sample alert, or reports the SMTP error.
func TestAlertTestCommand(t *testing.T) {
	srv := mailtest.Start(t)
	env, _ := batchEnv(t, srv.SMTPPort)
	var out, logs bytes.Buffer
	if err := run(context.Background(), []string{"alert", "test", "--to", "ops@example.com"}, envMap(env), &out, &logs); err != nil {
		t.Fatalf("alert test: %v", err)
	}
	msgs := srv.WaitFor(t, 1, 10*time.Second)
	if !strings.Contains(msgs[0].Subject, "[TEST]") || msgs[0].To[0].Address != "ops@example.com" || !strings.Contains(out.String(), "sent") {
		t.Errorf("got %+v, output %q", msgs[0], out.String())
	}
	srv.Stop()
	err := run(context.Background(), []string{"alert", "test", "--to", "ops@example.com"}, envMap(env), &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "send test alert") {
		t.Errorf("SMTP down: %v", err)
	}
	if err := run(context.Background(), []string{"alert", "test", "--to", "a@b.c\r\nBcc: x@y.z"}, envMap(env), &out, &logs); err == nil {
		t.Error("address with CR/LF accepted")
	}
}

// Ensures GET /v1/budgets reports the current period of every budget, computed by the batch
// job's code.
func TestBudgetsEndpoint(t *testing.T) {
	env, url := batchEnv(t, 1)
	insertCost(t, url, time.Now(), "QA_CHAT", "850.5")
	var body struct {
		Currency string `json:"currency"`
		Budgets  []struct {
			Name, Spent, Limit, Remaining, Percent, State, Period string
			PeriodEnd                                             time.Time `json:"period_end"`
		} `json:"budgets"`
	}
	getBudgets(t, env, &body)
	if len(body.Budgets) != 2 || body.Currency != "KRW" {
		t.Fatalf("body %+v", body)
	}
	b := body.Budgets[0]
	// Right after midnight the event could fall in yesterday's Seoul day; then it counts 0.
	if b.Name != "daily-total" || b.Limit != "1000" || (b.Spent == "850.5" && (b.State != "warning" || b.Percent != "85.05" || b.Remaining != "149.5")) {
		t.Errorf("daily-total %+v", b)
	}
	if q := body.Budgets[1]; q.Name != "qa-monthly" || q.Period != "monthly" || q.Spent != "850.5" || q.State != "warning" {
		t.Errorf("qa-monthly %+v", q)
	}
}

// getBudgets serves with env and decodes the answer of GET /v1/budgets (ingest token) into v.
func getBudgets(t *testing.T, env map[string]string, v any) {
	t.Helper()
	addr := freeAddr(t)
	env["AISPEND_LISTEN"] = addr
	env["AISPEND_INGEST_TOKENS"] = "secret-token"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envMap(env), &out, &logs) }()
	defer func() {
		cancel()
		<-done
	}()
	waitHealthy(t, addr)
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/budgets", nil)
	req.Header.Set("Authorization", "Bearer secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/budgets: status %d: %v", resp.StatusCode, err)
	}
}

// Ensures the scheduled work functions run the right steps: a budget check alerts for today and
// brings today's aggregates up to date (so that the next one reads only the events since) without
// a report; a daily run reports yesterday; retention drops partitions.
func TestBatchRunKinds(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	cfg, err := loadConfig("", envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool := pgtest.Connect(t, url)
	now := time.Now()
	insertCost(t, url, now.Add(-time.Minute), "OTHER", "500")
	log := slog.New(slog.DiscardHandler)

	out, err := batchRun(ctx, cfg, pool, log, "budget-check", now)
	if err != nil || out.AlertsSent != 1 {
		t.Fatalf("budget-check: %v, %d alerts", err, out.AlertsSent)
	}
	var current int
	pool.QueryRow(ctx, "SELECT count(*) FROM aggregate_days WHERE day = ($1::timestamptz AT TIME ZONE 'Asia/Seoul')::date", now).Scan(&current)
	if current != 1 {
		t.Error("budget-check left today's aggregates out of date")
	}
	if len(out.PublishedKeys) != 0 {
		t.Errorf("budget-check published %v", out.PublishedKeys)
	}
	if _, err := batchRun(ctx, cfg, pool, log, "daily", now); err != nil {
		t.Fatalf("daily: %v", err)
	}
	var parts int
	pool.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass").Scan(&parts)
	if _, err := batchRun(ctx, cfg, pool, log, "retention", now); err != nil {
		t.Fatalf("retention: %v", err)
	}
	var after int
	pool.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass").Scan(&after)
	if after >= parts { // the test database has partitions from 400 days back; retention is 90
		t.Errorf("retention dropped nothing: %d → %d partitions", parts, after)
	}
	if len(srv.Messages(t)) != 2 {
		t.Errorf("%d emails; want the one budget-check alert and the daily digest", len(srv.Messages(t)))
	}
	if _, err := batchRun(ctx, cfg, pool, log, "hourly", now); err == nil {
		t.Error("unknown kind accepted")
	}
}

// Ensures `aispend run --alerts-only` (a frequent cron entry) sends the alerts due in the current
// periods once, records a budget-check run, and renders and publishes nothing.
func TestRunAlertsOnly(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	insertCost(t, dbURL, time.Now(), "QA_CHAT", "850") // 85 % of daily-total and qa-monthly
	var out, logs bytes.Buffer
	for i := 0; i < 2; i++ {
		if err := run(context.Background(), []string{"run", "--alerts-only"}, envMap(env), &out, &logs); err != nil {
			t.Fatalf("run --alerts-only: %v\n%s", err, logs.String())
		}
	}
	srv.WaitFor(t, 2, 30*time.Second)
	// One email per budget period, for 80 % and naming 50 %, once; the ledger records all four.
	if got := srv.Messages(t); len(got) != 2 || !strings.Contains(got[0].Subject, "at 85.0 %") || !strings.Contains(got[1].Subject, "at 85.0 %") {
		t.Fatalf("alert emails %+v, want 2 at 85.0 %%", got)
	}
	if entries, _ := os.ReadDir(env["AISPEND_OUTPUT"]); len(entries) != 0 {
		t.Fatalf("--alerts-only published %d files", len(entries))
	}
	pool := pgtest.Connect(t, dbURL)
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM alert_ledger WHERE status = 'sent'").Scan(&n); err != nil || n != 4 {
		t.Fatalf("alerts recorded as sent: %d (%v), want 4 (50 and 80 %% of each budget)", n, err)
	}
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM runs WHERE kind = 'budget-check' AND status = 'succeeded'").Scan(&n); err != nil || n != 2 {
		t.Fatalf("budget-check runs recorded: %d (%v), want 2", n, err)
	}
	if err := run(context.Background(), []string{"run", "--alerts-only", "--date", "2026-10-01"}, envMap(env), &out, &logs); err == nil {
		t.Fatal("--alerts-only with --date accepted")
	}
}

// Ensures two installations (two new databases, the same configuration and events) send
// different Message-IDs for the same alerts and digest, and that one installation sends the same
// Message-ID again when it sends the same email again (its ledger rows gone, as if never
// recorded).
func TestMessageIDsPerInstallation(t *testing.T) {
	srv := mailtest.Start(t)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	args := []string{"run", "--period", "daily", "--date", "2026-10-01", "--log-format", "text"}
	send := func(env map[string]string) map[string]string { // subject → Message-ID of the new emails
		t.Helper()
		var out, logs bytes.Buffer
		if err := run(context.Background(), args, envMap(env), &out, &logs); err != nil {
			t.Fatalf("run: %v\n%s", err, logs.String())
		}
		ids := map[string]string{}
		for _, m := range srv.Messages(t) {
			ids[m.Subject] = m.MessageID
		}
		if len(ids) != 3 || len(srv.Messages(t)) != 3 {
			t.Fatalf("%d emails, %d subjects; want 2 alerts and the digest", len(srv.Messages(t)), len(ids))
		}
		srv.DeleteAll(t)
		return ids
	}
	var envs []map[string]string
	var sent []map[string]string
	for range 2 {
		env, url := batchEnv(t, srv.SMTPPort)
		insertCost(t, url, time.Date(2026, 10, 1, 1, 0, 0, 0, seoul), "QA_CHAT", "600")
		envs, sent = append(envs, env), append(sent, send(env))
	}
	for subject, id := range sent[0] {
		if other, ok := sent[1][subject]; !ok || other == id {
			t.Errorf("%q: Message-IDs %q and %q; want the same email with another Message-ID in the other installation", subject, id, other)
		}
	}
	pool := pgtest.Connect(t, envs[0]["DATABASE_URL"])
	if _, err := pool.Exec(context.Background(), "DELETE FROM alert_ledger; DELETE FROM digest_log"); err != nil {
		t.Fatal(err)
	}
	again := send(envs[0])
	for subject, id := range sent[0] {
		if again[subject] != id {
			t.Errorf("%q sent again as %q; want the same Message-ID %q", subject, again[subject], id)
		}
	}
}
