// Package sheettest reads back the workbooks the batch writes, for tests that reconcile them
// with the database.
package sheettest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report/sheet"
)

// Totals reads the Summary's total cost and the sum of every Events sheet's cost cells, as exact
// decimals of the stored cell values, and the number of event rows. It fails the test when the
// Summary has no total or an Events sheet with rows has no Cost column K; an Events sheet of one
// row (the note naming the CSV when the workbook lists no events) counts no rows.
func Totals(t testing.TB, path string) (summary, events decimal.Decimal, rows int) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw := excelize.Options{RawCellValue: true}
	all, err := f.GetRows(sheet.SheetSummary, raw)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range all {
		if len(r) > 1 && r[0] == "Total cost" {
			summary, found = testkit.Dec(r[1]), true
		}
	}
	if !found {
		t.Fatal("no Total cost row on the Summary sheet")
	}
	for _, name := range f.GetSheetList() {
		if name != sheet.SheetEvents && !strings.HasPrefix(name, sheet.SheetEvents+" (") {
			continue
		}
		rs, err := f.GetRows(name, raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || len(rs) > 1 && (len(rs[0]) < 11 || rs[0][10] != "Cost") {
			t.Fatalf("sheet %s: %d rows, header %v; want Cost in column K", name, len(rs), rs)
		}
		for _, r := range rs[1:] {
			rows++
			if len(r) > 10 && r[10] != "" {
				events = events.Add(testkit.Dec(r[10]))
			}
		}
	}
	return summary, events, rows
}

// Row is one line of a breakdown sheet read back: its first cell, its cost as the exact decimal
// of the stored value, and its requests.
type Row struct {
	Name     string
	Cost     decimal.Decimal
	Requests int64
}

// Breakdown reads every row of the breakdown sheet name ("By user", "By endpoint", "By tag
// team"…) cell by cell, up to its Total row, which it returns apart. It fails the test when the
// sheet, its Cost or Requests column, or its Total row is missing.
func Breakdown(t testing.TB, path, name string) (rows []Row, total Row) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("sheet %q: %v", name, err)
	}
	if len(all) == 0 {
		t.Fatalf("sheet %q is empty", name)
	}
	cost, reqs := slices.Index(all[0], "Cost"), slices.Index(all[0], "Requests")
	if cost < 0 || reqs < 0 {
		t.Fatalf("sheet %q header %q: no Cost or Requests column", name, all[0])
	}
	for _, r := range all[1:] {
		if len(r) <= reqs {
			continue // the blank row above the total
		}
		n, err := strconv.ParseInt(r[reqs], 10, 64)
		if err != nil {
			t.Fatalf("sheet %q row %q: requests: %v", name, r, err)
		}
		row := Row{Name: r[0], Cost: testkit.Dec(r[cost]), Requests: n}
		if r[0] == "Total" {
			return rows, row
		}
		rows = append(rows, row)
	}
	t.Fatalf("sheet %q has no Total row", name)
	return nil, Row{}
}
