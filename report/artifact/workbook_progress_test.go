package artifact_test

import (
	"archive/zip"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/sheet"
)

// Ensures the workbook of a month in progress (November, run on 10 November at 12:00), read back
// cell by cell, lists only 1–10 November on the Daily sheet (no ₩0 rows for the days to come),
// marks 10 November as the day so far, says "month to date" on the Summary and its chart, whose
// series stops at the last listed day; and that the workbook of a complete month (October, from
// the same run) lists all 31 days, with no note and the status "complete".
func TestWorkbookOfPeriodInProgress(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 11, 10, 12, 0, 0, 0, seoul))
	for _, tc := range []struct {
		name     string
		month    time.Month
		days     int
		status   string
		lastNote string // the Note of the last day; "" and no Note column for a complete month
		title    string
	}{
		{"in progress", time.November, 10, "month to date, 10 of 30 days", "so far (as of 12:00)", "AI spend report 2026-11 (month to date, 10 of 30 days)"},
		{"complete", time.October, 31, "complete", "", "AI spend report 2026-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := report.PeriodContaining(report.Monthly, time.Date(2026, tc.month, 1, 0, 0, 0, 0, seoul), seoul)
			_, book, _ := f.run(t, p)
			daily := sheetRows(t, book, sheet.SheetDaily)
			// Header, one row per day, a blank row, the Total row.
			if len(daily) != tc.days+3 {
				t.Fatalf("Daily has %d rows; want header, %d days, blank, Total:\n%q", len(daily), tc.days, daily)
			}
			header := daily[0]
			hasNote := header[len(header)-1] == "Note"
			if hasNote != (tc.lastNote != "") {
				t.Errorf("Daily header %q: Note column %v, want %v", header, hasNote, tc.lastNote != "")
			}
			wantLast := time.Date(2026, tc.month, tc.days, 0, 0, 0, 0, time.UTC)
			raw := readCell(t, book, sheet.SheetDaily, fmt.Sprintf("A%d", tc.days+1))
			if got := excelDate(t, raw); !got.Equal(wantLast) {
				t.Errorf("last Daily row is %s; want %s", got.Format(time.DateOnly), wantLast.Format(time.DateOnly))
			}
			if hasNote {
				for i, r := range daily[1 : tc.days+1] {
					note := ""
					if len(r) == len(header) {
						note = r[len(r)-1]
					}
					want := ""
					if i == tc.days-1 {
						want = tc.lastNote
					}
					if note != want {
						t.Errorf("Daily row of day %d: note %q, want %q", i+1, note, want)
					}
				}
			}
			if total := daily[len(daily)-1]; total[0] != "Total" {
				t.Errorf("last row %q; want the Total row", total)
			}

			summary := map[string]string{}
			for _, r := range sheetRows(t, book, sheet.SheetSummary) {
				if len(r) > 1 {
					summary[r[0]] = r[1]
				}
			}
			if got := summary["Period status"]; got != tc.status {
				t.Errorf("Summary Period status %q, want %q", got, tc.status)
			}
			_, asOf := summary["Figures as of"]
			if asOf != (tc.lastNote != "") {
				t.Errorf("Summary has Figures as of: %v; want %v", asOf, tc.lastNote != "")
			}
			if got := readCell(t, book, sheet.SheetSummary, "A1"); got != tc.title {
				t.Errorf("Summary title %q, want %q", got, tc.title)
			}

			chart := html.UnescapeString(chartXML(t, book))
			refs := regexp.MustCompile(`<f>([^<]*)</f>`).FindAllStringSubmatch(chart, -1)
			var got []string
			for _, r := range refs {
				got = append(got, r[1])
			}
			want := []string{"'Daily'!$B$1", fmt.Sprintf("'Daily'!$A$2:$A$%d", tc.days+1), fmt.Sprintf("'Daily'!$B$2:$B$%d", tc.days+1)}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("the chart's series name, categories and values are %q; want %q", got, want)
			}
			if inProgress := strings.Contains(chart, "month to date"); inProgress != (tc.lastNote != "") {
				t.Errorf("chart title says month to date: %v; want %v", inProgress, tc.lastNote != "")
			}
		})
	}
}

// readCell is one cell's stored value.
func readCell(t *testing.T, path, name, ref string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := f.GetCellValue(name, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// excelDate turns a date cell's serial into its calendar date.
func excelDate(t *testing.T, serial string) time.Time {
	t.Helper()
	var n float64
	if _, err := fmt.Sscan(serial, &n); err != nil {
		t.Fatalf("date cell %q: %v", serial, err)
	}
	d, err := excelize.ExcelDateToTime(n, false)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// chartXML is the XML of the workbook's (only) chart, the Summary's daily cost chart.
func chartXML(t *testing.T, path string) string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, zf := range z.File {
		if zf.Name == "xl/charts/chart1.xml" {
			r, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("the workbook has no chart")
	return ""
}
