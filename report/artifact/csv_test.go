package artifact_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

// Text that a spreadsheet would evaluate, and text that CSV must quote, as user ids and errors.
var csvTexts = []string{
	`=HYPERLINK("http://evil.example","click")`, "+1", "-2", "@x",
	"a,b", `say "hi"`, "line1\nline2", "서울, Zürich 😀", "plain",
}

// inertText is how the workbook and the CSV store text: formula-looking text gets an apostrophe.
func inertText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// seedTexts stores n events on day with csvTexts as user ids, errors and tags, costs of many
// decimals (one in five unpriced), and returns the database's sum of the day's cost.
func seedTexts(t *testing.T, pool *pgxpool.Pool, day time.Time, n int) decimal.Decimal {
	t.Helper()
	var rows []collect.Row
	for i := range n {
		txt := csvTexts[i%len(csvTexts)]
		r := eventtest.Row(fmt.Sprintf("%s-%d", t.Name(), i), day.Add(time.Duration(i)*13*time.Minute+123456*time.Microsecond))
		r.InputTokens, r.OutputTokens, r.CacheReadTokens, r.CostSource = int64(1000+i), int64(i), 10, "provider"
		r.DurationMS, r.Success, r.Error = int64(100+i), i%4 != 0, txt
		r.UserID, r.OrgID, r.Tags = txt, "org-1", tagsJSON(t, txt)
		eventtest.Price(&r, costs[i%len(costs)])
		if i%5 == 2 {
			eventtest.Price(&r, "")
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
	return eventtest.CostSum(t, pool, day, day.AddDate(0, 0, 1))
}

func tagsJSON(t *testing.T, v string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"note": v})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dbEventIDs(t *testing.T, pool *pgxpool.Pool, from, to time.Time) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT event_id FROM events WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY event_id", from, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// readEventsCSV gunzips and parses an events CSV: its header and rows.
func readEventsCSV(t *testing.T, r io.Reader) (header []string, rows [][]string) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("gunzip events csv: %v", err)
	}
	all, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatalf("read events csv: %v", err)
	}
	if err := zr.Close(); err != nil {
		t.Fatalf("gunzip events csv: %v", err)
	}
	if len(all) == 0 {
		t.Fatal("events csv is empty: no header")
	}
	return all[0], all[1:]
}

func readEventsCSVFile(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readEventsCSV(t, f)
}

// col is the index of a header name.
func col(t *testing.T, header []string, name string) int {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("header %q lacks %q", header, name)
	}
	return i
}

// csvCost sums the Cost column exactly.
func csvCost(t *testing.T, header []string, rows [][]string) decimal.Decimal {
	t.Helper()
	c := col(t, header, "Cost")
	sum := decimal.Zero
	for _, r := range rows {
		if r[c] != "" {
			sum = sum.Add(testkit.Dec(r[c]))
		}
	}
	return sum
}

// summaryLink is the Summary row that links the events CSV: its text and its link target.
func summaryLink(t *testing.T, f *excelize.File) (text, target string) {
	t.Helper()
	rows, err := f.GetRows(sheet.SheetSummary)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) > 1 && r[0] == "All events (CSV)" {
			ref := fmt.Sprintf("B%d", i+1)
			ok, target, err := f.GetCellHyperLink(sheet.SheetSummary, ref)
			if err != nil || !ok {
				t.Fatalf("Summary %s is not a link: %v", ref, err)
			}
			return r[1], target
		}
	}
	t.Fatal("the Summary sheet has no row linking the events CSV")
	return "", ""
}

// messageParts decodes a MIME message's text/plain and text/html parts.
func messageParts(t *testing.T, raw string) (text, html string) {
	t.Helper()
	walkMIME(t, raw, func(mt string, h func(string) string, body io.Reader) {
		if strings.EqualFold(h("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		switch mt {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	})
	return text, html
}

// walkMIME calls leaf with the media type, header and body of every part of a MIME message that
// is not itself multipart, in order.
func walkMIME(t *testing.T, raw string, leaf func(mt string, h func(string) string, body io.Reader)) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(h func(string) string, body io.Reader)
	walk = func(h func(string) string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(h("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(mt, "multipart/") {
			leaf(mt, h, body)
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walk(p.Header.Get, p)
		}
	}
	walk(m.Header.Get, m.Body)
}

// Ensures a run writes every event of the period to the events CSV beside the workbook, with the
// Events sheet's header and values and formula-looking text made inert while commas, quotes, line
// breaks and non-ASCII text round-trip; that the CSV's cost column, the workbook Summary's total
// and PostgreSQL's sum agree exactly; that a period this small also lists its events in the
// workbook, the same as the CSV; and that the page, the digest (HTML and text) and the Summary
// sheet link the CSV.
func TestEventsCSVBesideWorkbook(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	const n = 45
	p := day(2)
	want := seedTexts(t, e.pool, p.Start, n)
	res, err := e.job(t, publish.Dir{Root: dir, PublicURL: "https://reports.example.com/ai"}, nil).Run(context.Background(), p, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const csvKey = "daily/2026-10-02/aispend-daily-2026-10-02-events.csv.gz"
	const bookKey = "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"
	if i := slices.Index(res.Published, csvKey); i < 0 || i > slices.Index(res.Published, bookKey) || res.Published[len(res.Published)-1] != publish.IndexKey {
		t.Errorf("published %v: want the CSV, then the workbook, and the index last", res.Published)
	}

	header, rows := readEventsCSVFile(t, filepath.Join(dir, csvKey))
	book, err := excelize.OpenFile(filepath.Join(dir, bookKey))
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	// The sheet's rows continue on Events (2)… (the test's MaxEventRowsPerSheet is 25).
	var grid [][]string
	for _, name := range book.GetSheetList() {
		if name != sheet.SheetEvents && !strings.HasPrefix(name, sheet.SheetEvents+" (") {
			continue
		}
		rs, err := book.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if grid == nil {
			grid = rs[:1]
		}
		grid = append(grid, rs[1:]...)
	}
	if !slices.Equal(header, grid[0]) {
		t.Errorf("CSV header %q; Events sheet header %q", header, grid[0])
	}
	if len(rows) != n || len(grid)-1 != n {
		t.Fatalf("%d CSV rows and %d sheet rows; want %d events", len(rows), len(grid)-1, n)
	}
	summary, sheetCost, _ := sheettest.Totals(t, filepath.Join(dir, bookKey))
	if got := csvCost(t, header, rows); !got.Equal(want) || !summary.Equal(want) || !sheetCost.Equal(want) {
		t.Errorf("cost: CSV %s, workbook Summary %s, Events sheet %s; database %s", got, summary, sheetCost, want)
	}
	// Every event once, the database's ids.
	idCol := col(t, header, "Event ID")
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[idCol])
	}
	slices.Sort(ids)
	if dbIDs := dbEventIDs(t, e.pool, p.Start, p.End); !slices.Equal(ids, dbIDs) {
		t.Errorf("CSV event ids %q; database %q", ids, dbIDs)
	}
	// The CSV and the sheet list the same events in the same order; cells that are numbers in the
	// sheet are compared as numbers (the sheet's time is a serial, its booleans 1/0).
	costCol, userCol, errCol, tagsCol, atCol := col(t, header, "Cost"), col(t, header, "User"), col(t, header, "Error"), col(t, header, "Tags"), col(t, header, "Occurred at")
	for i, r := range rows {
		s := grid[i+1]
		for _, c := range []int{idCol, userCol, errCol, tagsCol, col(t, header, "Input tokens"), col(t, header, "Duration (ms)")} {
			if c < len(s) && r[c] != s[c] {
				t.Errorf("row %d %s: CSV %q, sheet %q", i+1, header[c], r[c], s[c])
			}
		}
		if (r[costCol] == "") != (costCol >= len(s) || s[costCol] == "") || (r[costCol] != "" && !testkit.Dec(r[costCol]).Equal(testkit.Dec(s[costCol]))) {
			t.Errorf("row %d cost: CSV %q, sheet %q", i+1, r[costCol], s[costCol])
		}
		at, err := time.Parse(time.RFC3339Nano, r[atCol])
		if err != nil || at.Location().String() == "UTC" || !strings.HasSuffix(r[atCol], "+09:00") {
			t.Errorf("row %d time %q: want RFC 3339 in Asia/Seoul (%v)", i+1, r[atCol], err)
		}
		j, _ := strings.CutPrefix(r[idCol], t.Name()+"-")
		k := 0
		fmt.Sscan(j, &k)
		if want := inertText(csvTexts[k%len(csvTexts)]); r[userCol] != want || r[errCol] != want {
			t.Errorf("event %d: user %q, error %q; want %q", k, r[userCol], r[errCol], want)
		}
		if wantAt := p.Start.Add(time.Duration(k)*13*time.Minute + 123456*time.Microsecond); !at.Equal(wantAt) {
			t.Errorf("event %d at %s, want %s", k, at, wantAt)
		}
	}

	// Linked from the Summary sheet, the page and both parts of the digest.
	if text, target := summaryLink(t, book); text != "aispend-daily-2026-10-02-events.csv.gz" || target != text {
		t.Errorf("Summary links %q as %q", target, text)
	}
	page := readText(t, filepath.Join(dir, "daily/2026-10-02/index.html"))
	if !strings.Contains(page, `href="aispend-daily-2026-10-02-events.csv.gz" download`) {
		t.Error("the page does not link the events CSV")
	}
	ds := digests(e.outboxMessages(t))
	if len(ds) != 1 {
		t.Fatalf("%d digests", len(ds))
	}
	text, html := messageParts(t, ds[0])
	const url = "https://reports.example.com/ai/" + csvKey
	if !strings.Contains(html, `href="`+url+`"`) || !strings.Contains(text, "Events CSV:  "+url+"\n") && !strings.Contains(text, "Events CSV:  "+url+"\r\n") {
		t.Errorf("the digest does not link %s:\n%s", url, text)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ensures a period with more events than reports.events_sheet_max_rows has a workbook whose
// Events sheet lists none and names the CSV in one row, while the CSV holds every event and its
// cost column reconciles with the Summary total and the database; and that a dry run renders the
// CSV into its own directory and publishes nothing.
func TestLargePeriodEventsOnlyInCSV(t *testing.T) {
	e := newEnv(t)
	e.sheetMax = 5
	dir := t.TempDir()
	const n = 12
	p := day(2)
	want := seedTexts(t, e.pool, p.Start, n)

	e.dryDir = t.TempDir()
	if _, err := e.job(t, publish.Dir{Root: dir}, nil).Run(context.Background(), p, report.RunOptions{DryRun: true}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if _, rows := readEventsCSVFile(t, filepath.Join(e.dryDir, "daily/2026-10-02/aispend-daily-2026-10-02-events.csv.gz")); len(rows) != n {
		t.Errorf("dry run CSV has %d rows, want %d", len(rows), n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the dry run published %d files", len(entries))
	}
	e.dryDir = ""

	if _, err := e.job(t, publish.Dir{Root: dir}, nil).Run(context.Background(), p, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	header, rows := readEventsCSVFile(t, filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02-events.csv.gz"))
	if len(rows) != n {
		t.Fatalf("CSV has %d rows, want %d", len(rows), n)
	}
	book, err := excelize.OpenFile(filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	got, err := book.GetRows(sheet.SheetEvents)
	if err != nil {
		t.Fatal(err)
	}
	const name = "aispend-daily-2026-10-02-events.csv.gz"
	if len(got) != 1 || len(got[0]) != 1 || !strings.Contains(got[0][0], name) || !strings.Contains(got[0][0], "12 events, more than the 5") {
		t.Errorf("Events sheet %q; want one row naming %s", got, name)
	}
	if ok, target, err := book.GetCellHyperLink(sheet.SheetEvents, "A1"); err != nil || !ok || target != name {
		t.Errorf("Events!A1 links %v %q (%v)", ok, target, err)
	}
	if slices.Contains(book.GetSheetList(), sheet.SheetEvents+" (2)") {
		t.Error("an event continuation sheet exists")
	}
	if text, _ := summaryLink(t, book); text != name {
		t.Errorf("Summary links %q", text)
	}
	raw := excelize.Options{RawCellValue: true}
	sum, err := book.GetRows(sheet.SheetSummary, raw)
	if err != nil {
		t.Fatal(err)
	}
	var total decimal.Decimal
	for _, r := range sum {
		switch {
		case len(r) > 1 && r[0] == "Total cost":
			total = testkit.Dec(r[1])
		case len(r) > 1 && r[0] == "Event rows listed" && r[1] != "0":
			t.Errorf("Event rows listed = %s, want 0", r[1])
		}
	}
	if got := csvCost(t, header, rows); !got.Equal(want) || !total.Equal(want) {
		t.Errorf("cost: CSV %s, workbook Summary %s; database %s", got, total, want)
	}
}

// Ensures the events CSV is published to S3 beside the workbook with content type
// application/gzip, holds every event, and the index is written after it.
func TestEventsCSVPublishedToS3(t *testing.T) {
	e := newEnv(t)
	srv := s3test.Start(t)
	const prefix = "sites/acme"
	target, err := publish.NewS3(publish.S3Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Bucket: srv.Bucket, Prefix: prefix,
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	want := seedTexts(t, e.pool, day(2).Start, n)
	res, err := e.job(t, target, nil).Run(context.Background(), day(2), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const key = prefix + "/daily/2026-10-02/aispend-daily-2026-10-02-events.csv.gz"
	ctx := context.Background()
	st, err := srv.Client().StatObject(ctx, srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("the CSV is not in the bucket: %v", err)
	}
	// Served as the .gz it is: a gzip Content-Encoding would make browsers unpack it. (The test
	// server reports minio-go's upload encoding, aws-chunked, for every object.)
	if enc := st.Metadata.Get("Content-Encoding"); st.ContentType != "application/gzip" || strings.Contains(enc, "gzip") {
		t.Errorf("content type %q, encoding %q; want application/gzip, not gzip-encoded", st.ContentType, enc)
	}
	o, err := srv.Client().GetObject(ctx, srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	header, rows := readEventsCSV(t, bytes.NewReader(b))
	if got := csvCost(t, header, rows); len(rows) != n || !got.Equal(want) {
		t.Errorf("bucket CSV: %d rows costing %s; database %d events costing %s", len(rows), got, n, want)
	}
	if res.Published[len(res.Published)-1] != publish.IndexKey || !slices.Contains(res.Published, "daily/2026-10-02/aispend-daily-2026-10-02-events.csv.gz") {
		t.Errorf("published %v", res.Published)
	}
}
