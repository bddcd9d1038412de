package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures the demo configuration survives the real loader (file and validation) with its
// currency, time zone, prices and the three budgets, and that budgets scale with the size.
func TestDemoConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := writeConfig(path, demoConfig(demodata.DefaultEvents)); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Currency != "KRW" || cfg.Location.String() != "Asia/Seoul" || !cfg.FX["USD"].Equal(decimal.NewFromInt(1300)) {
		t.Fatalf("currency %s, time zone %s, fx %v; want KRW, Asia/Seoul, USD 1300", cfg.Currency, cfg.Location, cfg.FX)
	}
	if len(cfg.Prices) != len(demodata.Prices()) {
		t.Fatalf("%d prices, want %d", len(cfg.Prices), len(demodata.Prices()))
	}
	table, err := cfg.priceTable()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, cfg.Location)
	p, ok := table.Cost("claude-sonnet-4-5", "anthropic", at, pricing.Usage{InputTokens: 500, OutputTokens: 300})
	if !ok || !p.Cost.Equal(decimal.RequireFromString("7.80")) {
		t.Fatalf("seed example costs %s (%v), want ₩7.80", p.Cost, ok)
	}
	// The configuration prices exactly like the generator's own table.
	gen, _ := demodata.Table("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, cfg.Location)
	u := pricing.Usage{InputTokens: 12345, OutputTokens: 678, CacheReadTokens: 4096, CacheWriteTokens: 100}
	for _, pr := range demodata.Prices() {
		a, _ := table.Cost(pr.Model, pr.Provider, at, u)
		b, _ := gen.Cost(pr.Model, pr.Provider, at, u)
		if !a.Cost.Equal(b.Cost) || a.Version != b.Version {
			t.Errorf("%s: configuration prices %s (%s), generator %s (%s)", pr.Model, a.Cost, a.Version, b.Cost, b.Version)
		}
	}

	budgets := map[string]BudgetConfig{}
	for _, b := range cfg.Budgets {
		budgets[b.Name] = b
	}
	daily := budgets["daily-total"]
	if daily.Period != "daily" || !daily.Amount.Equal(decimal.NewFromInt(50000)) || !daily.Forecast ||
		len(daily.Thresholds) != 3 || daily.Thresholds[0] != 50 || daily.Thresholds[1] != 80 || daily.Thresholds[2] != 95 {
		t.Errorf("daily-total: %+v; want daily ₩50,000 at 50/80/95 with forecast", daily)
	}
	if budgets["monthly-total"].Period != "monthly" {
		t.Errorf("monthly-total: %+v", budgets["monthly-total"])
	}
	if qa := budgets["qa-chat-daily"]; qa.Scope["service"] != "QA_CHAT" {
		t.Errorf("qa-chat-daily: %+v; want scoped to QA_CHAT", qa)
	}

	double := demoConfig(2 * demodata.DefaultEvents)
	if !double.Budgets[0].Amount.Equal(decimal.NewFromInt(100000)) {
		t.Errorf("with twice the events the daily budget is %s, want 100000", double.Budgets[0].Amount)
	}
	if tiny := demoConfig(1); !tiny.Budgets[0].Amount.IsPositive() {
		t.Errorf("with one event the daily budget is %s, want > 0", tiny.Budgets[0].Amount)
	}
}

// Ensures the flags are documented and bad ones refused before anything starts.
func TestDemoFlags(t *testing.T) {
	var help bytes.Buffer
	err := run(context.Background(), []string{"demo", "--help"}, func(string) string { return "" }, &help, &help)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("demo --help: %v", err)
	}
	for _, want := range []string{"-events", "-seed", "-keep", "DATABASE_URL"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("demo --help lacks %q:\n%s", want, help.String())
		}
	}
	// The demo brings its own configuration: its help lists only the flags it accepts.
	if strings.Contains(help.String(), "-config") {
		t.Errorf("demo --help lists -config, which the demo refuses:\n%s", help.String())
	}
	for _, args := range [][]string{{"--events", "0"}, {"--events", "x"}, {"--config", "x.yaml"}, {"extra"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"demo"}, args...), func(string) string { return "" }, &out, &errb)
		if err == nil || strings.Contains(errb.String(), "starting a private PostgreSQL") {
			t.Errorf("demo %v: %v; want a refusal before starting anything", args, err)
		}
	}
}

// demoRun runs `aispend demo` with a clean environment plus env.
func demoRun(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["AISPEND_OUTPUT"]; !ok {
		env["AISPEND_OUTPUT"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"demo", "--log-format", "json"}, args...),
		func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

// logValue finds the value of key in the JSON log line with message msg.
func logValue(t *testing.T, log, msg, key string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			if v, ok := m[key]; ok {
				switch v := v.(type) {
				case string:
					return v
				case float64:
					return strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
		}
	}
	t.Fatalf("no log line %q with %q in:\n%s", msg, key, log)
	return ""
}

var loadedRE = regexp.MustCompile(`Loaded ([\d,]+) events \(([\d,]+) new, ([\d,]+) already present\)`)

func loadedCounts(t *testing.T, stdout string) (total, fresh, dup int) {
	t.Helper()
	m := loadedRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no load summary in:\n%s", stdout)
	}
	n := func(s string) int { v, _ := strconv.Atoi(strings.ReplaceAll(s, ",", "")); return v }
	return n(m[1]), n(m[2]), n(m[3])
}

// demoBatchLines checks the summary lines of the demo's batch runs: one per period of
// demodata.Periods, in order, each ok. The periods are those of the moment before or after the demo
// (it may cross midnight).
func demoBatchLines(t *testing.T, stdout string, before, after time.Time) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^  ((?:daily|weekly|monthly) \S+): .*$`)
	var got []string
	for _, m := range re.FindAllStringSubmatch(stdout, -1) {
		got = append(got, m[1])
		if !strings.HasSuffix(m[0], ", ok") {
			t.Errorf("batch run not ok: %s", m[0])
		}
	}
	seoul, _ := time.LoadLocation(demodata.Timezone)
	matches := func(now time.Time) bool {
		want := demodata.Periods(now, seoul)
		if len(got) != len(want) {
			return false
		}
		for i, p := range want {
			if got[i] != p.String() {
				return false
			}
		}
		return true
	}
	if !matches(before) && !matches(after) {
		t.Errorf("batch runs %q; want %v", got, demodata.Periods(after, seoul))
	}
}

// demoSite checks the site the demo printed: the landing page links every period reported, and
// the pages and workbooks printed exist; the last day's workbook counts the requests its run
// reported.
func demoSite(t *testing.T, stdout, out string) {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatalf("no landing page: %v", err)
	}
	lines := regexp.MustCompile(`(?m)^  ((daily|weekly|monthly) (\S+)): .* over ([\d,]+) requests`).FindAllStringSubmatch(stdout, -1)
	if len(lines) == 0 {
		t.Fatalf("no batch runs in:\n%s", stdout)
	}
	requests := map[string]string{}
	for _, l := range lines {
		requests[l[1]] = strings.ReplaceAll(l[4], ",", "")
		if !strings.Contains(string(index), l[2]+"/"+l[3]+"/") {
			t.Errorf("landing page does not link %s", l[1])
		}
	}
	printed := regexp.MustCompile(`(?m)^  (?:pages:|workbooks:| ) +(\S+)$`).FindAllStringSubmatch(stdout, -1)
	if len(printed) != 6 { // the last day's, the week's and the month's
		t.Errorf("printed %d pages and workbooks, want 6:\n%s", len(printed), stdout)
	}
	for _, m := range printed {
		if !strings.HasPrefix(m[1], out) {
			t.Errorf("printed %s, outside the output directory %s", m[1], out)
		}
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("printed %s: %v", m[1], err)
		}
	}
	last := lines[len(lines)-1-2] // before the week and the month
	book := workbookSummary(t, filepath.Join(out, "daily", last[3], "aispend-daily-"+last[3]+".xlsx"))
	if book["Requests"] != requests[last[1]] || book["Period"] != last[3] || book["Currency"] != "KRW" {
		t.Errorf("workbook of %s: %v; want %s requests", last[1], book, requests[last[1]])
	}
}

var alertsSentRE = regexp.MustCompile(`emails: +(\S+) \((\d+) alerts? sent by this run`)

// demoAlerts reads the alert emails of the demo's outbox (printed as "emails: DIR/*.eml"),
// checks that there are as many as the demo says it sent, and returns their alert keys.
func demoAlerts(t *testing.T, stdout string) map[string]bool {
	t.Helper()
	m := alertsSentRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no emails line in:\n%s", stdout)
	}
	files, err := filepath.Glob(m[1])
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if k := msg.Header.Get("X-Aispend-Alert"); k != "" {
			if keys[k] {
				t.Errorf("alert %s written twice", k)
			}
			keys[k] = true
		}
	}
	if n, _ := strconv.Atoi(m[2]); len(keys) != n {
		t.Errorf("%d alert emails in %s; the demo says it sent %d", len(keys), m[1], n)
	}
	return keys
}

// Ensures that with no database configured the demo starts a private PostgreSQL, loads the
// data with progress, reports the budget crossings, runs the batch for the last days, the last
// week and the month, writes the alert emails to the outbox, says where everything is, and
// removes the cluster afterwards.
func TestDemoPrivateCluster(t *testing.T) {
	out := t.TempDir()
	before := time.Now()
	stdout, stderr, err := demoRun(t, map[string]string{"AISPEND_OUTPUT": out}, "--events", "3000", "--seed", "4")
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	total, fresh, dup := loadedCounts(t, stdout)
	if total < 2000 || fresh != total || dup != 0 {
		t.Fatalf("loaded %d (%d new, %d present), want about 3000 all new", total, fresh, dup)
	}
	if logValue(t, stderr, "loading events", "percent") != "100" {
		t.Errorf("no final progress line in:\n%s", stderr)
	}
	for _, want := range []string{"Budget daily-total (₩1,250 a day) reached 50% on ", "Spike: ", "unpriced",
		"site:      " + filepath.Join(out, "index.html"), "emails:    " + filepath.Join(out, "outbox", "*.eml")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	demoBatchLines(t, stdout, before, time.Now())
	if alerts := demoAlerts(t, stdout); len(alerts) == 0 {
		t.Errorf("no alert email in %s", filepath.Join(out, "outbox"))
	}
	demoSite(t, stdout, out)
	dir := logValue(t, stderr, "private PostgreSQL started", "dir")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still exists after the demo (stat: %v)", dir, err)
	}
}

// Ensures --keep leaves a running database holding the data, the recorded runs and a usable
// configuration, and that running the demo again against it (DATABASE_URL) adds no event and
// sends no alert twice.
func TestDemoKeepAndRerun(t *testing.T) {
	stdout, stderr, err := demoRun(t, nil, "--events", "3000", "--keep")
	dir := ""
	if m := regexp.MustCompile(`cluster directory: (\S+)`).FindStringSubmatch(stdout); m != nil {
		dir = m[1]
		t.Cleanup(func() {
			args := []string{"pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "stop"}
			if os.Geteuid() == 0 {
				args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
			}
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				t.Errorf("stop kept cluster: %v: %s", err, out)
			}
			os.RemoveAll(dir)
		})
	}
	if err != nil {
		t.Fatalf("demo --keep: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if dir == "" {
		t.Fatalf("no cluster directory printed:\n%s", stdout)
	}
	url := regexp.MustCompile(`DATABASE_URL=(\S+)`).FindStringSubmatch(stdout)
	cfgFile := regexp.MustCompile(`configuration: (\S+)`).FindStringSubmatch(stdout)
	if url == nil || cfgFile == nil {
		t.Fatalf("no DATABASE_URL or configuration printed:\n%s", stdout)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(cfgFile[1])) })
	if _, err := loadConfig(cfgFile[1], func(string) string { return "" }); err != nil {
		t.Errorf("kept configuration does not load: %v", err)
	}
	total, _, _ := loadedCounts(t, stdout)
	firstAlerts := demoAlerts(t, stdout)

	query := func(q string) int {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url[1])
		if err != nil {
			t.Fatalf("connect to the kept database: %v", err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	count := func() int { return query("SELECT count(*) FROM events") }
	runs := len(demodata.Periods(time.Now(), time.UTC))
	if n := count(); n != total {
		t.Fatalf("kept database holds %d events, the demo loaded %d", n, total)
	}
	if n := query("SELECT count(*) FROM runs WHERE status = 'succeeded'"); n != runs {
		t.Errorf("kept database records %d succeeded runs, want %d", n, runs)
	}

	stdout, stderr, err = demoRun(t, map[string]string{"DATABASE_URL": url[1]}, "--events", "3000")
	if err != nil {
		t.Fatalf("demo again: %v\n%s\n%s", err, stdout, stderr)
	}
	again, fresh, dup := loadedCounts(t, stdout)
	// Every event of the first run is found again; only the last minutes of today can be new.
	if dup != total || fresh+dup != again {
		t.Fatalf("second run: %d events, %d new, %d present; want the %d of the first run present", again, fresh, dup, total)
	}
	if strings.Contains(stderr, "private PostgreSQL") {
		t.Errorf("with DATABASE_URL set the demo started its own PostgreSQL:\n%s", stderr)
	}
	if n := count(); n != total+fresh {
		t.Fatalf("after the second run the database holds %d events, want %d", n, total+fresh)
	}
	// The same periods again: no alert is sent twice (only a threshold first crossed by the
	// minutes since the first run could alert now).
	for k := range demoAlerts(t, stdout) {
		if firstAlerts[k] {
			t.Errorf("alert %s sent again by the second demo", k)
		}
	}
	if n := query("SELECT count(*) FROM runs WHERE status = 'succeeded'"); n != 2*runs {
		t.Errorf("%d succeeded runs recorded after the second demo, want %d", n, 2*runs)
	}
}

// Ensures the demo runs on a database given by DATABASE_URL, as a user points it at their own
// server: it loads the data there, runs the batch and writes the site and the alert emails. With
// TEST_CITUS=1 (make test-citus) that database is on a Citus coordinator, and its events must be
// distributed there.
func TestDemoOnDatabase(t *testing.T) {
	url := pgtest.URL(t)
	out := t.TempDir()
	before := time.Now()
	stdout, stderr, err := demoRun(t, map[string]string{"DATABASE_URL": url, "AISPEND_OUTPUT": out}, "--events", "3000", "--seed", "4")
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	total, fresh, dup := loadedCounts(t, stdout)
	if total < 2000 || fresh != total || dup != 0 {
		t.Fatalf("loaded %d (%d new, %d present), want about 3000 all new", total, fresh, dup)
	}
	demoBatchLines(t, stdout, before, time.Now())
	if alerts := demoAlerts(t, stdout); len(alerts) == 0 {
		t.Errorf("no alert email in %s", filepath.Join(out, "outbox"))
	}
	demoSite(t, stdout, out)
	pool := pgtest.Connect(t, url)
	var stored int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&stored); err != nil || stored != total {
		t.Errorf("%d events stored (%v), the demo loaded %d", stored, err, total)
	}
	distributed, err := pgstore.Distributed(context.Background(), pool)
	if err != nil || distributed != pgtest.Citus() {
		t.Errorf("events distributed: %v (%v); want %v", distributed, err, pgtest.Citus())
	}
}
