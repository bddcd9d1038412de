package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// writeYAML writes a configuration file and returns its path.
func writeYAML(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ensures "Local" and "" are refused as time zones, naming the key: Go accepts both (as the
// machine's zone and as UTC) but PostgreSQL knows neither, so every run would fail later.
func TestConfigRefusesLocalTimezone(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
	}{
		{"Local in the file", "timezone: Local\n", nil},
		{"empty in the file", "timezone: \"\"\n", nil},
		{"Local from the environment", "timezone: Asia/Seoul\n", map[string]string{"AISPEND_TIMEZONE": "Local"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(writeYAML(t, tc.yaml), envMap(tc.env))
			if err == nil || !strings.Contains(err.Error(), "timezone (AISPEND_TIMEZONE):") || !strings.Contains(err.Error(), "not a time zone name") {
				t.Fatalf("accepted or not named: %v", err)
			}
		})
	}
	if _, err := loadConfig(writeYAML(t, "timezone: America/Havana\n"), envMap(nil)); err != nil {
		t.Fatalf("America/Havana refused: %v", err)
	}
}

// Ensures a retention shorter than what a budget's period needs is refused at load, naming the
// key and the budget: the spend of a budget period is read from the raw events during the whole
// period and the day after it ends.
func TestConfigRefusesRetentionShorterThanBudgets(t *testing.T) {
	budgets := `budgets:
  - name: day
    period: daily
    amount: 1
  - name: week
    period: weekly
    amount: 1
  - name: month
    period: monthly
    amount: 1
`
	for _, tc := range []struct {
		zone    string
		days    int
		refused []string // budget names refused
	}{
		{"Asia/Seoul", 1, []string{"day", "week", "month"}},
		{"Asia/Seoul", 2, []string{"week", "month"}},
		{"Asia/Seoul", 7, []string{"week", "month"}},
		{"Asia/Seoul", 8, []string{"month"}},
		{"Asia/Seoul", 31, []string{"month"}},
		{"Asia/Seoul", 32, nil},
		// A day can be 25 hours, a week 169 and a month 745: one day more each.
		{"Europe/Berlin", 2, []string{"day", "week", "month"}},
		{"Europe/Berlin", 3, []string{"week", "month"}},
		{"Europe/Berlin", 8, []string{"week", "month"}},
		{"Europe/Berlin", 9, []string{"month"}},
		{"Europe/Berlin", 32, []string{"month"}},
		{"Europe/Berlin", 33, nil},
	} {
		path := writeYAML(t, "timezone: "+tc.zone+"\n"+budgets)
		_, err := loadConfig(path, envMap(map[string]string{"AISPEND_RETENTION_DAYS": strconv.Itoa(tc.days)}))
		var msg string
		if err != nil {
			msg = err.Error()
		}
		for _, name := range []string{"day", "week", "month"} {
			named := strings.Contains(msg, `budget "`+name+`"`)
			want := false
			for _, r := range tc.refused {
				want = want || r == name
			}
			if named != want {
				t.Errorf("%s, %d days: budget %s refused = %v; want %v\n%s", tc.zone, tc.days, name, named, want, msg)
			}
		}
		if len(tc.refused) > 0 && strings.Count(msg, "retention_days (AISPEND_RETENTION_DAYS): ") != len(tc.refused) {
			t.Errorf("%s, %d days: the key is not named once per budget:\n%s", tc.zone, tc.days, msg)
		}
	}
	// The message says what is needed.
	_, err := loadConfig(writeYAML(t, "timezone: Asia/Seoul\nretention_days: 31\n"+budgets), envMap(nil))
	if err == nil || !strings.Contains(err.Error(), `31 days is too short for budget "month" (budgets[2], monthly)`) || !strings.Contains(err.Error(), "want at least 32") {
		t.Errorf("message: %v", err)
	}
}

// Ensures an impossible --date is named as such, not as a format error.
func TestRunRefusesImpossibleDate(t *testing.T) {
	path := writeYAML(t, "timezone: Asia/Seoul\n")
	for date, want := range map[string]string{
		"2026-02-30": "--date: 2026-02-30 is not a date: February 2026 has 28 days",
		"2024-02-30": "--date: 2024-02-30 is not a date: February 2024 has 29 days",
		"2026-04-31": "--date: 2026-04-31 is not a date: April 2026 has 30 days",
		"2026-13-01": "--date: 2026-13-01 is not a date: there is no month 13",
		"yesterday":  `--date: "yesterday" is not a date: want YYYY-MM-DD`,
	} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"run", "--config", path, "--date", date}, envMap(nil), &out, &out)
		if err == nil || err.Error() != want {
			t.Errorf("--date %s: %v; want %q", date, err, want)
		}
	}
	// The same words for dates in the configuration file.
	_, err := loadConfig(writeYAML(t, "fx_date: 2026-02-29\nprices:\n  - {model: m, from: 2026-06-31, input: 1, output: 1}\n"), envMap(nil))
	for _, want := range []string{"fx_date: 2026-02-29 is not a date: February 2026 has 28 days", "prices[0].from: 2026-06-31 is not a date: June 2026 has 30 days"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config: %v; want %q", err, want)
		}
	}
}

// Ensures `aispend run --date` of a period that has not begun is refused before anything is
// computed or published, while the period in progress (today) can still be run.
func TestRunRefusesPeriodNotBegun(t *testing.T) {
	srv := mailtest.Start(t)
	env, _ := batchEnv(t, srv.SMTPPort)
	ctx := context.Background()
	seoul, _ := time.LoadLocation("Asia/Seoul")
	today := time.Now().In(seoul)
	tomorrow := today.AddDate(0, 0, 1).Format(time.DateOnly)
	nextMonth := time.Date(today.Year(), today.Month()+1, 1, 12, 0, 0, 0, seoul).Format(time.DateOnly)
	for _, args := range [][]string{
		{"--date", "2030-01-01"},
		{"--period", "daily", "--date", tomorrow},
		{"--period", "monthly", "--date", nextMonth},
		{"--period", "weekly", "--date", "2030-01-01", "--dry-run"},
	} {
		var out, logs bytes.Buffer
		err := run(ctx, append([]string{"run"}, args...), envMap(env), &out, &logs)
		if err == nil || !strings.Contains(err.Error(), "has not begun") || !strings.Contains(err.Error(), "--date") {
			t.Errorf("run %v: %v; want a refusal naming --date: the period has not begun", args, err)
		}
	}
	if _, err := os.Stat(env["AISPEND_OUTPUT"]); !os.IsNotExist(err) {
		t.Errorf("something was published for a period that has not begun: %v", err)
	}
	if n := len(srv.Messages(t)); n != 0 {
		t.Errorf("%d emails sent for periods that have not begun", n)
	}
	// Today, this week and this month are in progress: allowed.
	for _, kind := range []string{"daily", "weekly", "monthly"} {
		var out, logs bytes.Buffer
		if err := run(ctx, []string{"run", "--period", kind, "--date", today.Format(time.DateOnly)}, envMap(env), &out, &logs); err != nil {
			t.Errorf("run --period %s --date today: %v\n%s", kind, err, logs.String())
		}
	}
}

// zoneOnlyGoKnows makes a ZONEINFO directory with a zone Go can load and PostgreSQL has never
// heard of, as when the server's time zone database is older than the one aispend reads.
func zoneOnlyGoKnows(t *testing.T) (dir, name string) {
	t.Helper()
	z, err := zip.OpenReader(runtime.GOROOT() + "/lib/time/zoneinfo.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	dir = t.TempDir()
	name = "Aispend/Newzone"
	for _, f := range z.File {
		if f.Name != "America/Havana" {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		os.MkdirAll(filepath.Join(dir, "Aispend"), 0o755)
		w, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return dir, name
	}
	t.Fatal("America/Havana not in the Go time zone database")
	return "", ""
}

// Ensures every command that connects refuses, at start-up and naming the key, a time zone that
// Go knows but PostgreSQL does not, before it migrates or runs anything.
func TestCommandsRefuseZoneUnknownToPostgreSQL(t *testing.T) {
	bin := binary(t)
	zoneDir, zone := zoneOnlyGoKnows(t)
	url := pgtest.URL(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "aispend.yaml"), []byte("timezone: "+zone+"\n"), 0o600)
	env := append(os.Environ(), "ZONEINFO="+zoneDir, "DATABASE_URL="+url, "AISPEND_OUTPUT="+filepath.Join(dir, "out"),
		"AISPEND_INGEST_TOKENS=t", "AISPEND_LISTEN=127.0.0.1:0")
	for _, args := range [][]string{
		{"run", "--date", "2026-10-01"},
		{"run", "--alerts-only"},
		{"migrate"},
		{"schedule"},
		{"serve"},
		{"runs"},
		{"reprice"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "timezone (AISPEND_TIMEZONE): PostgreSQL does not know the time zone \""+zone+"\"") {
			t.Errorf("aispend %v: %v\n%s", args, err, out)
		}
	}
	// Nothing was run or migrated: the runs table of the fresh database is empty, and nothing published.
	pool := pgtest.Connect(t, url)
	var runs int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM runs").Scan(&runs); err != nil || runs != 0 {
		t.Errorf("runs recorded: %d, %v", runs, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("published with a zone PostgreSQL does not know: %v", err)
	}
	// The fake zone is otherwise fine for Go: the refusal is PostgreSQL's.
	cmd := exec.Command(bin, "run", "--help")
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aispend run --help: %v\n%s", err, out)
	}
}

// Ensures the database check (AT TIME ZONE) accepts exactly the zones of Go's database that
// PostgreSQL lists in pg_timezone_names, and the usual ones.
func TestDatabaseTimezoneCheckMatchesPostgreSQL(t *testing.T) {
	pool := pgtest.Connect(t, pgtest.URL(t))
	ctx := context.Background()
	rows, err := pool.Query(ctx, "SELECT name FROM pg_timezone_names")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		listed[n] = true
	}
	if rows.Err() != nil || len(listed) < 300 {
		t.Fatalf("pg_timezone_names: %d names, %v", len(listed), rows.Err())
	}
	z, err := zip.OpenReader(runtime.GOROOT() + "/lib/time/zoneinfo.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var unknown []string
	for _, f := range z.File {
		name := f.Name
		if strings.HasSuffix(name, "/") {
			continue
		}
		var ts string
		useErr := pool.QueryRow(ctx, "SELECT (timestamptz '2026-03-08 12:00Z' AT TIME ZONE $1)::text", name).Scan(&ts)
		if listed[name] != (useErr == nil) {
			t.Errorf("%s: in pg_timezone_names = %v, but AT TIME ZONE says %v", name, listed[name], useErr)
		}
		if !listed[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		t.Logf("zones of Go's database this PostgreSQL does not know: %v", unknown)
	}
	for _, must := range []string{"UTC", "Asia/Seoul", "America/Havana", "Etc/GMT+5"} {
		if err := checkDatabaseTimezone(ctx, pool, must); err != nil {
			t.Errorf("%s refused: %v", must, err)
		}
	}
	if err := checkDatabaseTimezone(ctx, pool, "Local"); err == nil || !strings.Contains(err.Error(), "timezone (AISPEND_TIMEZONE)") {
		t.Errorf("Local: %v", err)
	}
}

// Ensures values of the wrong type and unknown or repeated keys are all listed at once, each
// naming its key and line.
func TestConfigTypeErrorsNameKeys(t *testing.T) {
	_, err := loadConfig(writeYAML(t, "retention_days: ninety\nrun_lock_wait: soon\nbudgets:\n  - {name: b, amount: lots}\ncurency: KRW\nmail: {hots: x}\n"), envMap(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`retention_days: "ninety" is not an integer (line 1)`,
		`run_lock_wait: "soon" is not a duration such as 10m or 24h (line 2)`,
		`budgets[0].amount: "lots" is not a decimal number (line 4)`,
		"curency: unknown key (line 5)",
		"mail.hots: unknown key (line 6)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q:\n%v", want, err)
		}
	}
	// A repeated key stops the YAML decoder by itself.
	_, err = loadConfig(writeYAML(t, "fx: {USD: 1}\nfx: {USD: 2}\n"), envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "fx: defined twice, first at line 1 (line 2)") {
		t.Errorf("repeated key: %v", err)
	}
	// yaml.v3 gives no line for errors on line 1.
	_, err = loadConfig(writeYAML(t, "currency: [KRW"), envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "yaml: line 1: ") {
		t.Errorf("syntax error without its line: %v", err)
	}
}

// Ensures one file with problems of every kind is refused with all of them at once, in the
// user's words, each as "key: problem (line N)": values of the wrong type, unknown keys, a
// value from the environment that cannot be read (named by its variable), and values that
// cannot work, with the line of their key (none for a key the file lacks).
func TestConfigProblemsAllAtOnce(t *testing.T) {
	file := `currency: KRW
timezone: Mars/Base
retention_days: ninety
fx_date: "2025-13-01"
prices:
  - model: m
    from: "2025-01-01"
    input: -1
    output: x
budgets:
  - name: team
    period: yearly
    amount: -5
mail:
  hots: smtp.example.com
  tls: sometimes
bogus: 1
`
	_, err := loadConfig(writeYAML(t, file), envMap(map[string]string{"AISPEND_SMTP_PORT": "25x"}))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want a list of problems, got %v", err)
	}
	want := []string{
		`retention_days: "ninety" is not an integer (line 3)`,
		`prices[0].output: "x" is not a decimal number (line 9)`,
		`mail.hots: unknown key (line 15)`,
		`bogus: unknown key (line 17)`,
		`mail.port (AISPEND_SMTP_PORT): "25x" is not an integer`,
		`fx_date: 2025-13-01 is not a date: there is no month 13 (line 4)`,
		`fx.USD: required: prices are in USD and the reporting currency is KRW`,
		`prices[0].input: must be ≥ 0 (line 8)`,
		`timezone (AISPEND_TIMEZONE): unknown time zone "Mars/Base": want an IANA name such as Asia/Seoul, or UTC (line 2)`,
		`mail.tls (AISPEND_SMTP_TLS): "sometimes": want starttls, tls or none (line 16)`,
		`budgets[0] (team).period: period "yearly": want daily, weekly or monthly (line 12)`,
		`budgets[0] (team).amount: must be > 0 (line 13)`,
	}
	if !slices.Equal(ce.Problems, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(ce.Problems, "\n  "), strings.Join(want, "\n  "))
	}
	// yaml.v3 reads nothing of a mapping with a repeated key: what the budget holds instead
	// (no name, no amount) is not reported.
	_, err = loadConfig(writeYAML(t, "budgets:\n  - name: a\n    name: b\n    amount: 5\n"), envMap(nil))
	if !errors.As(err, &ce) || !slices.Equal(ce.Problems, []string{"budgets[0].name: defined twice, first at line 2 (line 3)"}) {
		t.Errorf("repeated key in a budget: %v", err)
	}
}
