package artifact_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
)

// Ensures the workbook's By endpoint and By tag <key> sheets, read back cell by cell, list every
// value of the period with its exact cost and requests as a GROUP BY over the events gives them
// (the events without one as "(no endpoint)" / "(untagged)"), report.json and the page show the
// same breakdowns, and hostile tag values stay text: escaped on the page, never a formula in
// the workbook.
func TestChargebackOutputs(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	d := day(2).Start
	const script = `</script><script>alert(1)</script>`
	const formula = `=HYPERLINK("http://evil.example","x")`
	teams := []string{"search", script, formula, ""}
	var rows []collect.Row
	for i := range 24 {
		r := eventtest.Row(eventtest.ID(t), d.Add(time.Duration(i)*time.Hour))
		eventtest.Price(&r, fmt.Sprintf("%d.0000007", i+1))
		if i%3 != 0 {
			r.Endpoint = fmt.Sprintf("/v1/chat/%d", i%2)
		}
		if team := teams[i%4]; team != "" {
			r.Tags, _ = json.Marshal(map[string]string{"team": team})
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, e.pool, rows...)
	st := pgquery.New(e.pool)
	st.TagKeys = []string{"team"}
	res, err := e.job(t, publish.Dir{Root: dir}, store{Store: st}).Run(context.Background(), day(2), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := failedSteps(res); len(f) > 0 {
		t.Fatalf("failed steps %v", f)
	}
	book := filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02.xlsx")
	for _, c := range []struct{ sheet, field, none string }{
		{"By endpoint", "coalesce(endpoint, '')", "(no endpoint)"},
		{"By tag team", "coalesce(tags ->> 'team', '')", "(untagged)"},
	} {
		got, total := sheettest.Breakdown(t, book, c.sheet)
		want := map[string]string{}
		q := fmt.Sprintf(`SELECT %s, sum(cost)::text, count(*) FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1`, c.field)
		rs, err := e.pool.Query(context.Background(), q, day(2).Start, day(2).End)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var k, cost string
			var n int64
			if err := rs.Scan(&k, &cost, &n); err != nil {
				t.Fatal(err)
			}
			if k == "" {
				k = c.none
			}
			if k == formula {
				k = "'" + k // made inert with an apostrophe, as every text cell
			}
			want[k] = fmt.Sprintf("%s/%d", decimal.RequireFromString(cost), n)
		}
		have := map[string]string{}
		sum := decimal.Zero
		for _, r := range got {
			have[r.Name] = fmt.Sprintf("%s/%d", r.Cost, r.Requests)
			sum = sum.Add(r.Cost)
		}
		if fmt.Sprint(have) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("%s: %v; the events give %v", c.sheet, have, want)
		}
		if !total.Cost.Equal(sum) || !total.Cost.Equal(res.Report.Totals.Cost) {
			t.Errorf("%s total %s, rows sum to %s; the report's total %s", c.sheet, total.Cost, sum, res.Report.Totals.Cost)
		}
	}
	f, err := excelize.OpenFile(book)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cells, err := f.GetRows("By tag team")
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for i, r := range cells {
		cell := fmt.Sprintf("A%d", i+1)
		if fm, _ := f.GetCellFormula("By tag team", cell); fm != "" {
			t.Errorf("By tag team %s holds a formula %q", cell, fm)
		}
		listed = listed || len(r) > 0 && r[0] == "'"+formula
	}
	if !listed {
		t.Error("the formula-like team is not listed as text on By tag team")
	}

	page, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"By endpoint", "By tag team", "(untagged)", "(no endpoint)", "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(string(page), "<script>alert(1)") {
		t.Error("page holds the hostile tag value unescaped")
	}
	var doc struct {
		Top map[string]struct {
			Rows []struct{ Key, Label, Cost string }
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02/report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, dim := range []string{"endpoint", "tag:team"} {
		rows := doc.Top[dim].Rows
		sum := decimal.Zero
		for _, r := range rows {
			sum = sum.Add(decimal.RequireFromString(r.Cost))
		}
		labels := fmt.Sprint(rows)
		if len(rows) == 0 || !sum.Equal(res.Report.Totals.Cost) || !strings.Contains(labels, "(untagged)") && !strings.Contains(labels, "(no endpoint)") {
			t.Errorf("report.json top %s: %d rows summing to %s; total %s", dim, len(rows), sum, res.Report.Totals.Cost)
		}
	}
}
