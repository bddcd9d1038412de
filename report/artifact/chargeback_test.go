package artifact_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

// Ensures the workbook's By user and By org sheets, read back cell by cell, list every user and
// org of the period (finance charges back per org), by cost, then the total row, while the page
// keeps its top N and "(other)"; and that every row, not only the page's top N, has its latency
// percentiles (from the rollups' histograms, merged: an org of two users has both durations).
func TestWorkbookListsEveryUserAndOrg(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	d := day(2).Start
	// 14 users in 12 orgs; user-NN spends (NN+1) × 10 and takes 20 + 5·NN ms (below 92 ms a
	// percentile is exact), org-MM holds user-MM (and user-12, user-13 fall into org-00 and
	// org-01).
	s := pgstore.New(e.pool, pgstore.Options{})
	var rows []collect.Row
	for i := range 14 {
		rows = append(rows, collect.Row{
			EventID: fmt.Sprintf("cb-%d", i), OccurredAt: d.Add(time.Duration(i) * time.Minute),
			Service: "QA_CHAT", Model: "gpt-4o", InputTokens: 10, OutputTokens: 5, CostSource: "provider", Success: true,
			Cost: decimal.NewNullDecimal(decimal.NewFromInt(int64(i+1) * 10)), UserID: fmt.Sprintf("user-%02d", i), OrgID: fmt.Sprintf("org-%02d", i%12),
			DurationMS: int64(20 + 5*i),
		})
	}
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	s.Close()
	job := e.job(t, publish.Dir{Root: dir}, nil)
	job.TopN = 3
	res, err := job.Run(context.Background(), day(2), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Report.Breakdowns[report.ByUser]); n != 4 {
		t.Errorf("the page's users: %d rows; want the top 3 and (other)", n)
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// want: name, cost, and latency p50, p95, p99 in ms.
	check := func(sheet string, want [][5]string) {
		t.Helper()
		got, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		p50 := slices.Index(got[0], "Latency p50 (ms)")
		if p50 < 0 || len(got[0]) < p50+3 || got[0][p50+1] != "Latency p95 (ms)" || got[0][p50+2] != "Latency p99 (ms)" {
			t.Fatalf("%s header %q: no latency columns", sheet, got[0])
		}
		var kept [][]string
		for _, r := range got[1:] { // the header, and the blank row above the total
			if len(r) > 0 {
				kept = append(kept, r)
			}
		}
		got = kept
		if len(got) != len(want)+1 {
			t.Fatalf("%s: %d rows; want %d and the total row: %q", sheet, len(got), len(want), got)
		}
		total := 0.0
		for i, w := range want {
			if got[i][0] != w[0] || got[i][1] != w[1] {
				t.Errorf("%s row %d = %q, %q; want %q, %q", sheet, i+2, got[i][0], got[i][1], w[0], w[1])
			}
			var lat [3]string
			for k := range lat {
				if p50+k < len(got[i]) {
					lat[k] = got[i][p50+k]
				}
			}
			if lat != [3]string{w[2], w[3], w[4]} {
				t.Errorf("%s row %d (%s): latency p50/p95/p99 %q; want %q", sheet, i+2, w[0], lat, w[2:])
			}
			v, _ := strconv.ParseFloat(w[1], 64)
			total += v
		}
		last := got[len(got)-1]
		if last[0] != "Total" || last[1] != strconv.FormatFloat(total, 'f', -1, 64) {
			t.Errorf("%s total row %q, %q; want Total, %v", sheet, last[0], last[1], total)
		}
	}
	var users, orgs [][5]string
	ms := func(i int) string { return strconv.Itoa(20 + 5*i) }
	for i := 13; i >= 0; i-- {
		users = append(users, [5]string{fmt.Sprintf("user-%02d", i), strconv.Itoa((i + 1) * 10), ms(i), ms(i), ms(i)})
	}
	// org-01: 20 + 140 = 160 (user-01, 25 ms, and user-13, 85 ms), org-00: 10 + 130 = 140
	// (user-00, 20 ms, and user-12, 80 ms), then org-11 … org-02. Of two durations the p50 is the
	// lower (nearest rank), the p95 and p99 the higher.
	orgs = append(orgs, [5]string{"org-01", "160", ms(1), ms(13), ms(13)}, [5]string{"org-00", "140", ms(0), ms(12), ms(12)})
	for i := 11; i >= 2; i-- {
		orgs = append(orgs, [5]string{fmt.Sprintf("org-%02d", i), strconv.Itoa((i + 1) * 10), ms(i), ms(i), ms(i)})
	}
	check(sheet.SheetUsers, users)
	check(sheet.SheetOrgs, orgs)
}
