package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures an event stored unpriced is priced once its model gets a price: by `aispend reprice`,
// and by the run that reports its day, which then counts it.
func TestRepriceCommandAndRun(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	ctx := context.Background()
	pool := pgtest.Connect(t, dbURL)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	at := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Seoul
	var rows []collect.Row
	for _, id := range []string{"late-priced-1", "late-priced-2"} {
		rows = append(rows, collect.Row{EventID: id, OccurredAt: at, Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic",
			InputTokens: 500, OutputTokens: 300, CostSource: "none", Success: true, DurationMS: -1})
	}
	if _, _, err := s.Insert(ctx, rows[:1]); err != nil {
		t.Fatal(err)
	}

	// The configuration now knows the model.
	priced := batchConfig + "fx: {USD: 1300}\nprices:\n  - model: claude-sonnet-4-5\n    from: 2025-09-29\n    input: 3\n    output: 15\n"
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(path, []byte(priced), 0o600); err != nil {
		t.Fatal(err)
	}
	env["AISPEND_CONFIG"] = path
	var out, logs bytes.Buffer
	if err := run(ctx, []string{"reprice"}, envMap(env), &out, &logs); err != nil {
		t.Fatalf("reprice: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "1 event priced") {
		t.Fatalf("reprice printed %q", out.String())
	}
	var cost, src string
	if err := pool.QueryRow(ctx, "SELECT cost::text, cost_source FROM events WHERE event_id = 'late-priced-1'").Scan(&cost, &src); err != nil {
		t.Fatal(err)
	}
	if !decimal.RequireFromString(cost).Equal(decimal.RequireFromString("7.80")) || src != "local" {
		t.Fatalf("repriced cost %s (%s), want 7.80 local", cost, src)
	}

	// A second unpriced event of the same day is priced by the run that reports the day.
	if _, _, err := s.Insert(ctx, rows[1:]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"run", "--date", "2026-10-01"}, envMap(env), &out, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "₩16 over 2 requests") || strings.Contains(out.String(), "unpriced") {
		t.Fatalf("run summary %q: want both events priced (₩15.60)", out.String())
	}
}

// Ensures `aispend reprice --from --to` corrects a wrong price: without --force it prints what
// would change and changes nothing; with it, exactly the locally priced events of those days
// change (never a client's cost, never another day), and the re-run report shows the new total.
// `aispend prices list|check` show where prices come from and which models have none.
func TestRepriceRangeCommand(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	ctx := context.Background()
	pool := pgtest.Connect(t, dbURL)
	write := func(cfg string) {
		path := filepath.Join(t.TempDir(), "aispend.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		env["AISPEND_CONFIG"] = path
	}
	aispend := func(args ...string) (string, error) {
		var out, logs bytes.Buffer
		err := run(ctx, args, envMap(env), &out, &logs)
		if err != nil {
			t.Logf("aispend %v: %v\n%s", args, err, logs.String())
		}
		return out.String(), err
	}
	// The wrong price: 3 / 15 where the provider bills 2 / 10.
	write(batchConfig + "fx: {USD: 1300}\nprices:\n  - model: claude-sonnet-4-5\n    from: 2025-09-29\n    input: 3\n    output: 15\n")
	if _, err := aispend("migrate"); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(env["AISPEND_CONFIG"], envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := cfg.priceTable()
	if err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	day := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Seoul
	var rows []collect.Row
	for i, at := range []time.Time{day, day.Add(time.Hour), day.Add(2 * time.Hour), day.Add(24 * time.Hour)} {
		r := collect.Row{EventID: fmt.Sprint("ev-", i), OccurredAt: at, Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic",
			InputTokens: 500, OutputTokens: 300, Success: true, DurationMS: -1}
		if i == 2 {
			r.SentCost, r.SentCurrency = decimal.NewNullDecimal(decimal.NewFromInt(100)), "KRW"
		}
		r.Price(wrong)
		rows = append(rows, r)
	}
	mystery := collect.Row{EventID: "mystery", OccurredAt: day, Service: "QA_CHAT", Model: "mystery-model", InputTokens: 1000, OutputTokens: 20, Success: true, DurationMS: -1}
	mystery.Price(wrong)
	rows = append(rows, mystery)
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	out, err := aispend("run", "--date", "2026-10-01")
	if err != nil || !strings.Contains(out, "₩116 over 4 requests") {
		t.Fatalf("first run: %q (%v), want 2 × ₩7.80 + ₩100", out, err)
	}
	costs := func() string {
		var s string
		if err := pool.QueryRow(ctx, "SELECT string_agg(event_id || '=' || coalesce(trim_scale(cost)::text, 'null'), ' ' ORDER BY event_id) FROM events").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := costs()

	// The corrected price.
	write(batchConfig + "fx: {USD: 1300}\nprices:\n  - model: claude-sonnet-4-5\n    from: 2025-09-29\n    input: 2\n    output: 10\n")
	out, err = aispend("reprice", "--from", "2026-10-01", "--to", "2026-10-01")
	if err != nil || !strings.Contains(out, "dry run: 2 events would change") || !strings.Contains(out, "₩15.60") || !strings.Contains(out, "₩10.40") {
		t.Fatalf("dry run: %q (%v)", out, err)
	}
	if got := costs(); got != before {
		t.Fatalf("dry run changed events: %s, was %s", got, before)
	}
	out, err = aispend("reprice", "--from", "2026-10-01", "--to", "2026-10-01", "--force")
	if err != nil || !strings.Contains(out, "2 events repriced from 2026-10-01 to 2026-10-01") {
		t.Fatalf("reprice --force: %q (%v)", out, err)
	}
	if got, want := costs(), "ev-0=5.2 ev-1=5.2 ev-2=100 ev-3=7.8 mystery=null"; got != want {
		t.Fatalf("after reprice: %s, want %s", got, want)
	}
	out, err = aispend("run", "--date", "2026-10-01")
	if err != nil || !strings.Contains(out, "₩110 over 4 requests") {
		t.Fatalf("re-run: %q (%v), want the new total 2 × ₩5.20 + ₩100", out, err)
	}

	env["AISPEND_NOW"] = "2026-10-05T00:00:00Z"
	out, err = aispend("prices", "list")
	if err != nil || !regexp.MustCompile(`claude-sonnet-4-5\s+anthropic\s+4\s+0\s+prices\s+claude-sonnet-4-5@2025-09-29\s+2\s+2\s+2\s+2\s+10`).MatchString(out) ||
		!regexp.MustCompile(`mystery-model\s+1\s+1\s+none`).MatchString(out) {
		t.Fatalf("prices list:\n%s(%v)", out, err)
	}
	out, err = aispend("prices", "check")
	if err == nil || !regexp.MustCompile(`mystery-model\s+1\s+1000\s+20`).MatchString(out) || strings.Contains(out, "claude") {
		t.Fatalf("prices check: %q (%v), want mystery-model listed and an error", out, err)
	}
	env["AISPEND_NOW"] = "2026-12-01T00:00:00Z" // nothing seen in the last 30 days
	if out, err := aispend("prices", "check"); err != nil || !strings.Contains(out, "every model seen in the last 30 days has a price") {
		t.Fatalf("prices check with nothing missing: %q (%v)", out, err)
	}
}
