package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report/sheet"
)

// Ensures reports.events_sheet_max_rows defaults to 200,000, is read from the file and from
// AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS (which wins), and refuses a negative or non-numeric value.
func TestReportsConfig(t *testing.T) {
	cfg, err := loadConfig(writeTestConfig(t, ""), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Reports.EventsSheetMaxRows != 200_000 {
		t.Errorf("default %d, want 200000", cfg.Reports.EventsSheetMaxRows)
	}
	cfg, err = loadConfig(writeTestConfig(t, "reports:\n  events_sheet_max_rows: 5000\n"), envMap(nil))
	if err != nil || cfg.Reports.EventsSheetMaxRows != 5000 {
		t.Errorf("from the file: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig(writeTestConfig(t, "reports:\n  events_sheet_max_rows: 5000\n"), envMap(map[string]string{"AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS": "0"}))
	if err != nil || cfg.Reports.EventsSheetMaxRows != 0 {
		t.Errorf("from the environment: %+v, %v", cfg, err)
	}
	for yaml, want := range map[string]string{
		"reports:\n  events_sheet_max_rows: -1\n": "reports.events_sheet_max_rows (AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS): -1: must be ≥ 0 (0: workbooks list no events) (line 2)",
		"reports:\n  events_rows: 1\n":            "reports.events_rows: unknown key (line 2)",
	} {
		if _, err := loadConfig(writeTestConfig(t, yaml), envMap(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
	if _, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{"AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS": "many"})); err == nil ||
		!strings.Contains(err.Error(), `reports.events_sheet_max_rows (AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS): "many" is not an integer`) {
		t.Errorf("not a number: %v", err)
	}
}

// Ensures reports.tag_keys is read from the file and from AISPEND_REPORTS_TAG_KEYS, and that a
// bad key (a space, a colon, too long, twice) is refused at start-up with the other problems.
func TestReportsTagKeys(t *testing.T) {
	cfg, err := loadConfig(writeTestConfig(t, "reports:\n  tag_keys: [team, project]\n"), envMap(nil))
	if err != nil || fmt.Sprint(cfg.Reports.TagKeys) != "[team project]" {
		t.Fatalf("from the file: %v, %v", cfg.Reports.TagKeys, err)
	}
	cfg, err = loadConfig(writeTestConfig(t, ""), envMap(map[string]string{"AISPEND_REPORTS_TAG_KEYS": "team,cost-centre"}))
	if err != nil || fmt.Sprint(cfg.Reports.TagKeys) != "[team cost-centre]" {
		t.Fatalf("from the environment: %v, %v", cfg.Reports.TagKeys, err)
	}
	_, err = loadConfig(writeTestConfig(t, "reports:\n  tag_keys: [\"a b\", \"x:y\", team, team, abcdefghijklmnopqrstuvwxy]\nretention_days: -1\n"), envMap(nil))
	for _, want := range []string{`"a b": a key is 1 to 24`, `"x:y": a key`, `"team": listed twice`, `"abcdefghijklmnopqrstuvwxy": a key`, "retention_days"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v; want it to name %q", err, want)
		}
	}
}

// Ensures `aispend run` with AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS below the period's event count
// publishes a workbook whose Events sheet names the CSV instead of listing events, and a CSV
// holding every event whose cost column equals the Summary total and the database's sum; and
// that 0 lists no events even for a small period.
func TestRunLargePeriodEventsInCSV(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST") // emails go to the outbox
	const n = 12
	want := insertDay(t, dbURL, "2026-10-01", n)
	for _, max := range []string{"5", "0"} {
		env["AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS"] = max
		var stdout, logs bytes.Buffer
		if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
			t.Fatalf("run: %v\n%s", err, logs.String())
		}
		dir := filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01")
		summary, _, rows := sheettest.Totals(t, filepath.Join(dir, "aispend-daily-2026-10-01.xlsx"))
		if rows != 0 {
			t.Errorf("max %s: the workbook lists %d events", max, rows)
		}
		f, err := excelize.OpenFile(filepath.Join(dir, "aispend-daily-2026-10-01.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		note, _ := f.GetCellValue(sheet.SheetEvents, "A1")
		f.Close()
		if !strings.Contains(note, "aispend-daily-2026-10-01-events.csv.gz") {
			t.Errorf("max %s: Events!A1 = %q; want the CSV's name", max, note)
		}
		b, err := os.ReadFile(filepath.Join(dir, "aispend-daily-2026-10-01-events.csv.gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(zr).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		sum := decimal.Zero
		for _, r := range recs[1:] {
			if r[10] != "" {
				sum = sum.Add(decimal.RequireFromString(r[10]))
			}
		}
		if recs[0][10] != "Cost" || len(recs)-1 != n || !sum.Equal(want) || !summary.Equal(want) {
			t.Errorf("max %s: CSV %d rows costing %s (column %q), Summary %s; database %d events, %s", max, len(recs)-1, sum, recs[0][10], summary, n, want)
		}
	}
}

// Ensures reports.events_export: false (here AISPEND_REPORTS_EVENTS_EXPORT) publishes no events
// CSV and no FOCUS CSV (event-level keys) and links neither from the page, while the workbook
// still lists a small period's events.
func TestRunWithoutEventsExport(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST")
	const n = 7
	want := insertDay(t, dbURL, "2026-10-01", n)
	env["AISPEND_REPORTS_EVENTS_EXPORT"] = "false"
	var stdout, logs bytes.Buffer
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	dir := filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01")
	for _, name := range []string{"aispend-daily-2026-10-01-events.csv.gz", "aispend-daily-2026-10-01-focus.csv.gz"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s published with the export off (stat: %v)", name, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "events.csv.gz") || strings.Contains(string(page), "focus.csv.gz") {
		t.Error("the page links an events or FOCUS CSV with the export off")
	}
	summary, _, rows := sheettest.Totals(t, filepath.Join(dir, "aispend-daily-2026-10-01.xlsx"))
	if rows != n || !summary.Equal(want) {
		t.Errorf("workbook lists %d events costing %s; want %d, %s", rows, summary, n, want)
	}
	if _, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{"AISPEND_REPORTS_EVENTS_EXPORT": "sometimes"})); err == nil ||
		!strings.Contains(err.Error(), "reports.events_export (AISPEND_REPORTS_EVENTS_EXPORT)") {
		t.Errorf("bad value: %v", err)
	}
}

// Ensures reports.focus_export: false leaves the FOCUS CSV alone out: the events CSV is
// published and linked, the FOCUS CSV neither, and the manifest does not name it.
func TestRunWithoutFocusExport(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST")
	insertDay(t, dbURL, "2026-10-01", 3)
	env["AISPEND_REPORTS_FOCUS_EXPORT"] = "false"
	var stdout, logs bytes.Buffer
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	dir := filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01")
	if _, err := os.Stat(filepath.Join(dir, "aispend-daily-2026-10-01-events.csv.gz")); err != nil {
		t.Errorf("events CSV: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "aispend-daily-2026-10-01-focus.csv.gz")); !os.IsNotExist(err) {
		t.Errorf("FOCUS CSV published with focus_export off (stat: %v)", err)
	}
	for _, name := range []string{"index.html", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "events.csv.gz") || strings.Contains(string(b), "focus.csv.gz") {
			t.Errorf("%s: want the events CSV named and the FOCUS CSV not", name)
		}
	}
}

// Ensures AISPEND_NOW sets the clock every command uses, and a value that is not RFC 3339 is
// refused naming the variable.
func TestNowFromEnvironment(t *testing.T) {
	cfg, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{"AISPEND_NOW": "2026-11-30T22:00:00+09:00"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.now().UTC().Format(time.RFC3339); got != "2026-11-30T13:00:00Z" {
		t.Errorf("now = %s, want 2026-11-30T13:00:00Z", got)
	}
	if _, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{"AISPEND_NOW": "yesterday"})); err == nil ||
		!strings.Contains(err.Error(), `AISPEND_NOW: "yesterday" is not an RFC 3339 time`) {
		t.Errorf("bad AISPEND_NOW: %v", err)
	}
}
