// Package sheettest reads back the workbooks the batch writes, for tests that reconcile them
// with the database.
package sheettest

import (
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
