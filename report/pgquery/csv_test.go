package pgquery_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/sheet"
)

// gunzip is the content of a gzip file.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// readCSV gunzips and parses an events CSV.
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	raw := gunzip(t, b)
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v\n%s", err, raw)
	}
	return recs
}

// Ensures the events CSV written from the values PostgreSQL prints (Store.RawEvents and
// sheet.EventsCSV.WriteRaw, used for large periods) is byte for byte the one sheet.EventsCSV.Write
// makes from the same events: times in several zones (Z, half-hour and negative offsets,
// fractional seconds), exact costs, absent values, formula-looking text, commas, quotes, line
// breaks, CR, non-ASCII and tags, over several days (the chunks of the read) in time order.
func TestEventsCSVFromDatabaseEqualsWriter(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	base := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC)
	texts := []string{"plain", "=HYPERLINK(\"http://x\")", "+1", "-2", "@x", "\tlead tab", "a,b", `say "hi"`,
		"line\nbreak", "cr\rhere", "\rcr first", "\n=1+1", " =1", "\u3000@x", " leading space", "한국어 ✓ 🎉", "", "\\N", "trailing ", "'quoted"}
	costs := []string{"12.00", "0.0000001", "1234.5678901", "", "0.50", "100"}
	var rows []collect.Row
	for i, txt := range texts {
		r := collect.Row{
			EventID: fmt.Sprintf("ev-%02d", i), OccurredAt: base.Add(time.Duration(i)*277*time.Minute + time.Duration(i*i*123457)*time.Microsecond),
			Service: txt, Model: "m-" + txt, Provider: "anthropic", InputTokens: int64(i * 1000), OutputTokens: 7,
			CacheReadTokens: int64(i), CostSource: "local", Success: i%3 != 0, Error: txt, CacheHit: i%2 == 0,
			UserID: txt, OrgID: "org " + txt, Endpoint: txt, DurationMS: math.MinInt64,
		}
		if i%4 != 0 {
			r.DurationMS = int64(i * 11)
		}
		if i%5 == 0 {
			r.Tags = []byte(fmt.Sprintf(`{"team": %q}`, txt))
		}
		if c := costs[i%len(costs)]; c != "" {
			r.Cost = decimal.NewNullDecimal(decimal.RequireFromString(c))
		} else {
			r.CostSource = "none"
		}
		rows = append(rows, r)
	}
	st := pgstore.New(pool, pgstore.Options{})
	if _, _, err := st.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	st.Close()
	q := pgquery.New(pool)
	from, to := base.Add(-time.Hour), base.Add(4*24*time.Hour)
	for _, zone := range []string{"UTC", "Asia/Kolkata", "America/St_Johns", "Asia/Seoul"} {
		loc := mustLoc(zone)
		var goCSV, dbCSV bytes.Buffer
		w, err := sheet.NewEventsCSV(&goCSV, loc)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Events(ctx, from, to, w.Write); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := sheet.NewEventsCSV(&dbCSV, loc)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.RawEvents(ctx, from, to, func(e *report.RawEvent) error { return d.WriteRaw(e) }); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if d.Rows() != int64(len(texts)) {
			t.Errorf("%s: %d rows counted; want %d", zone, d.Rows(), len(texts))
		}
		if g, w := gunzip(t, dbCSV.Bytes()), gunzip(t, goCSV.Bytes()); !bytes.Equal(g, w) {
			t.Errorf("%s: the CSV of the raw events differs from the writer's\n raw: %q\nevents: %q", zone, g, w)
		}
		want, got := readCSV(t, goCSV.Bytes()), readCSV(t, dbCSV.Bytes())
		if len(got) != len(want) {
			t.Fatalf("%s: %d records from the database, %d from the writer", zone, len(got), len(want))
		}
		for i := range want {
			if fmt.Sprintf("%q", got[i]) != fmt.Sprintf("%q", want[i]) {
				t.Errorf("%s: record %d\n db: %q\ngo: %q", zone, i, got[i], want[i])
			}
		}
	}
}

// benchMonth seeds a month of 10,000 events a day (300,000 events from base, 1,000 users, one
// org, one tag set) for the benchmarks of a large period's files, and returns base and n.
func benchMonth(b *testing.B) (*pgxpool.Pool, time.Time, int) {
	ctx := context.Background()
	pool := pgtest.Pool(b)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const n, batch = 300_000, 10_000
	st := pgstore.New(pool, pgstore.Options{})
	for first := 0; first < n; first += batch {
		rows := make([]collect.Row, 0, batch)
		for i := first; i < first+batch; i++ {
			rows = append(rows, collect.Row{EventID: fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i),
				OccurredAt: base.Add(time.Duration(i) * 8640 * time.Millisecond), Service: "QA_CHAT", Model: "claude-sonnet-4-5",
				Provider: "anthropic", InputTokens: int64(1000 + i%5000), OutputTokens: int64(i % 700), CacheReadTokens: int64(i % 800),
				Cost: decimal.NewNullDecimal(decimal.New(int64(i%100000), -7)), CostSource: "local", DurationMS: int64(i % 900),
				Success: i%50 != 0, CacheHit: i%10 == 0, UserID: fmt.Sprintf("user-%d", i%1000), OrgID: "org-7",
				Endpoint: "/v1/messages", Tags: []byte(`{"team":"search"}`)})
		}
		if _, _, err := st.Insert(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		b.Fatal(err)
	}
	return pool, base, n
}

// BenchmarkRawEventsCSV writes the events CSV of 300,000 events (a month of 10,000 a day) from
// the database as a large period's report does (Store.RawEvents into EventsCSV.WriteRaw), with
// the gzip, and reports rows/s; the seeding is not timed.
func BenchmarkRawEventsCSV(b *testing.B) {
	ctx := context.Background()
	pool, base, n := benchMonth(b)
	q, loc := pgquery.New(pool), mustLoc("Asia/Seoul")
	b.ResetTimer()
	for b.Loop() {
		c, err := sheet.NewEventsCSV(io.Discard, loc)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.RawEvents(ctx, base, base.AddDate(0, 1, 0), func(e *report.RawEvent) error { return c.WriteRaw(e) }); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		if c.Rows() != int64(n) {
			b.Fatalf("%d rows written, want %d", c.Rows(), n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFocusCSV writes the FOCUS file of the same month (Store.FocusGroups, the GROUP BY in
// the database, into FocusCSV, with the gzip) and reports the events it covers per second.
func BenchmarkFocusCSV(b *testing.B) {
	ctx := context.Background()
	pool, base, n := benchMonth(b)
	q, end := pgquery.New(pool), base.AddDate(0, 1, 0)
	b.ResetTimer()
	for b.Loop() {
		c, err := sheet.NewFocusCSV(io.Discard, sheet.FocusPeriod{Start: base, End: end, Currency: "USD", BillingAccountID: "bench"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.FocusGroups(ctx, base, end, c.Write); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(c.Rows()), "rows")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
