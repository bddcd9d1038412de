package output_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/xlsx"
)

// Ensures the workbook's By user and By org sheets, read back cell by cell, list every user and
// org of the period (finance charges back per org), by cost, then the total row, while the page
// keeps its top N and "(other)".
func TestWorkbookListsEveryUserAndOrg(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	d := day(2).Start
	// 14 users in 12 orgs; user-NN spends NN × 10, org-MM holds user-MM (and user-12, user-13
	// fall into org-00 and org-01).
	s := pgstore.New(e.pool, pgstore.Options{})
	var rows []collect.Row
	for i := range 14 {
		rows = append(rows, collect.Row{
			EventID: fmt.Sprintf("cb-%d", i), OccurredAt: d.Add(time.Duration(i) * time.Minute),
			Service: "QA_CHAT", Model: "gpt-4o", InputTokens: 10, OutputTokens: 5, CostSource: "provider", Success: true,
			Cost: decimal.NewNullDecimal(decimal.NewFromInt(int64(i+1) * 10)), UserID: fmt.Sprintf("user-%02d", i), OrgID: fmt.Sprintf("org-%02d", i%12),
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
	check := func(sheet string, want [][2]string) {
		t.Helper()
		got, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
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
			v, _ := strconv.ParseFloat(w[1], 64)
			total += v
		}
		last := got[len(got)-1]
		if last[0] != "Total" || last[1] != strconv.FormatFloat(total, 'f', -1, 64) {
			t.Errorf("%s total row %q, %q; want Total, %v", sheet, last[0], last[1], total)
		}
	}
	var users, orgs [][2]string
	for i := 13; i >= 0; i-- {
		users = append(users, [2]string{fmt.Sprintf("user-%02d", i), strconv.Itoa((i + 1) * 10)})
	}
	// org-01: 20 + 140 = 160, org-00: 10 + 130 = 140, then org-11 … org-02.
	orgs = append(orgs, [2]string{"org-01", "160"}, [2]string{"org-00", "140"})
	for i := 11; i >= 2; i-- {
		orgs = append(orgs, [2]string{fmt.Sprintf("org-%02d", i), strconv.Itoa((i + 1) * 10)})
	}
	check(xlsx.SheetUsers, users)
	check(xlsx.SheetOrgs, orgs)
}
