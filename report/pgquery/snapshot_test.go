package pgquery_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/sheet"
)

// snapshotRead reads every event of a report's period from its event snapshot: the count and
// the exact sum of the priced costs, and the rows of its events CSV.
func snapshotRead(t *testing.T, rep *report.Report) (n int64, cost decimal.Decimal, csvRows int64) {
	t.Helper()
	ctx := context.Background()
	p := rep.Period
	err := rep.Events.Events(ctx, p.Start, p.End, func(e report.Event) error {
		n++
		if e.Cost.Valid {
			cost = cost.Add(e.Cost.Decimal)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the report's events: %v", err)
	}
	rs, ok := rep.Events.(artifact.RawEventSource)
	if !ok {
		t.Fatal("the report's event snapshot gives no raw events for the events CSV")
	}
	var buf bytes.Buffer
	csv, err := sheet.NewEventsCSV(&buf, p.Start.Location())
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.RawEvents(ctx, p.Start, p.End, func(e *report.RawEvent) error { return csv.WriteRaw(e) }); err != nil {
		t.Fatalf("read the report's raw events: %v", err)
	}
	if err := csv.Close(); err != nil {
		t.Fatal(err)
	}
	if recs := readCSV(t, buf.Bytes()); int64(len(recs)-1) != csv.Rows() {
		t.Fatalf("events csv has %d records for %d rows", len(recs)-1, csv.Rows())
	}
	return n, cost, csv.Rows()
}

// focusRead sums the FOCUS groups of a report's period from its event snapshot: their exact cost
// and tokens (input, cache reads and writes included, and output).
func focusRead(t *testing.T, rep *report.Report) (cost decimal.Decimal, tokens int64) {
	t.Helper()
	fs, ok := rep.Events.(report.FocusSource)
	if !ok {
		t.Fatal("the report's event snapshot gives no FOCUS groups")
	}
	err := fs.FocusGroups(context.Background(), rep.Period.Start, rep.Period.End, func(g *report.FocusGroup) error {
		cost, tokens = cost.Add(g.Cost), tokens+g.Uncached+g.CacheRead+g.CacheWrite+g.Output
		return nil
	})
	if err != nil {
		rep.Events.Close() // its connection, or the pool's clean-up waits for it
		t.Fatalf("read the report's FOCUS groups: %v", err)
	}
	return cost, tokens
}

// liveCount is what a new snapshot holds of [from, to): events and their exact cost.
func liveCount(t *testing.T, pool *pgxpool.Pool, from, to time.Time) (n int64, cost decimal.Decimal) {
	t.Helper()
	var c string
	if err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(cost), 0)::text FROM events
		WHERE occurred_at >= $1 AND occurred_at < $2`, from, to).Scan(&n, &c); err != nil {
		t.Fatal(err)
	}
	return n, decimal.RequireFromString(c)
}

// Ensures a report's event rows (the workbook's Events sheet, the events CSV and the FOCUS
// groups) are exactly the events its totals count, even when events arrive and are re-priced between the report and the
// reading of its rows: those changes are in neither, and the next report has them in both.
func TestReportEventsReconcileWithTotals(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	p := report.PeriodContaining(report.Daily, day, seoul)
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(7, 1)), day, 1, 300)...)
	st := pgquery.New(pool)

	for round := range 2 {
		rep, err := st.Report(ctx, report.ReportRequest{Period: p, Events: true})
		if err != nil {
			t.Fatal(err)
		}
		// Between the report and the reading of its rows: new events of the day, and one
		// event re-priced.
		insert(t, pool, randomEvents(rand.New(rand.NewPCG(8, uint64(round))), day.Add(time.Duration(round)*time.Minute), 1, 40)...)
		pgtest.ChangeEvents(t, pool, `UPDATE events SET cost = cost + 1000 WHERE event_id = (SELECT min(event_id)
			FROM events WHERE occurred_at >= $1 AND occurred_at < $2 AND cost IS NOT NULL)`, p.Start, p.End)
		n, cost, csvRows := snapshotRead(t, rep)
		focusCost, focusTokens := focusRead(t, rep)
		rep.Events.Close()
		if pgtest.Citus() {
			// The workers read in snapshots of their own, taken after the report: the events
			// inserted since are left out (their transactions are not in the report's snapshot),
			// but an updated event is read as updated (README, Scaling: Citus).
			cost = cost.Sub(decimal.NewFromInt(1000))
			focusCost = focusCost.Sub(decimal.NewFromInt(1000))
		}
		if tok := rep.Totals.InputTokens + rep.Totals.OutputTokens; !focusCost.Equal(rep.Totals.Cost) || focusTokens != tok {
			t.Fatalf("round %d: the report counts %s and %d tokens; its FOCUS groups %s and %d", round, rep.Totals.Cost, tok, focusCost, focusTokens)
		}
		if n != rep.Totals.Requests || csvRows != rep.Totals.Requests || !cost.Equal(rep.Totals.Cost) {
			t.Fatalf("round %d: the report counts %d events costing %s; its rows hold %d events costing %s and its csv %d rows",
				round, rep.Totals.Requests, rep.Totals.Cost, n, cost, csvRows)
		}
		live, liveCost := liveCount(t, pool, p.Start, p.End)
		if live == n || liveCost.Equal(cost) {
			t.Fatalf("round %d: the changes after the report did not land (%d events, %s)", round, live, liveCost)
		}
	}
	// The next report counts everything.
	rep, err := st.Report(ctx, report.ReportRequest{Period: p, Events: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Events.Close()
	live, liveCost := liveCount(t, pool, p.Start, p.End)
	n, cost, _ := snapshotRead(t, rep)
	if rep.Totals.Requests != live || !rep.Totals.Cost.Equal(liveCost) || n != live || !cost.Equal(liveCost) {
		t.Fatalf("next report: totals %d / %s, rows %d / %s; stored %d / %s",
			rep.Totals.Requests, rep.Totals.Cost, n, cost, live, liveCost)
	}
}

// countingTracer counts the queries run on a pool, and keeps their text.
type countingTracer struct {
	n   atomic.Int64
	mu  sync.Mutex
	sql []string
}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	c.sql = append(c.sql, d.SQL)
	c.mu.Unlock()
	return ctx
}

// queries returns the text of the queries run since the last call.
func (c *countingTracer) queries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sql
	c.sql = nil
	return out
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// tracedPool is a pool on url whose queries are counted.
func tracedPool(t *testing.T, url string) (*pgxpool.Pool, *countingTracer) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tr := &countingTracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, tr
}

// Ensures a read replica serves a report's event rows when its snapshot holds exactly the
// report's events (here the replica is the primary itself, as a caught-up replica would be),
// and that the rows come from the primary's snapshot instead, and still reconcile, when the
// replica lags (a second database with part of the events) or the period changed since the
// report.
func TestReportEventsFromReplicaOnlyWhenItHoldsThem(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	pool := pgtest.Connect(t, url)
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	p := report.PeriodContaining(report.Daily, day, seoul)
	evs := randomEvents(rand.New(rand.NewPCG(9, 1)), day, 1, 200)
	insert(t, pool, evs...)

	caughtUp, caughtUpQueries := tracedPool(t, url)
	lagging, laggingQueries := tracedPool(t, pgtest.URL(t))
	insert(t, lagging, evs[:50]...)

	for _, c := range []struct {
		name        string
		replica     *pgxpool.Pool
		queries     *countingTracer
		change      bool // events arrive between the report and the read
		fromReplica bool
	}{
		{"caught-up replica", caughtUp, caughtUpQueries, false, true},
		{"caught-up replica, period changed since", caughtUp, caughtUpQueries, true, false},
		{"lagging replica", lagging, laggingQueries, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			st := pgquery.New(pool)
			st.Replica = pgquery.New(c.replica)
			st.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			rep, err := st.Report(ctx, report.ReportRequest{Period: p, Events: true})
			if err != nil {
				t.Fatal(err)
			}
			defer rep.Events.Close()
			if c.change {
				insert(t, pool, randomEvents(rand.New(rand.NewPCG(10, 1)), day, 1, 5)...)
			}
			before := c.queries.n.Load()
			n, cost, csvRows := snapshotRead(t, rep)
			if n != rep.Totals.Requests || csvRows != n || !cost.Equal(rep.Totals.Cost) {
				t.Fatalf("the report counts %d events costing %s; its rows hold %d costing %s, its csv %d rows",
					rep.Totals.Requests, rep.Totals.Cost, n, cost, csvRows)
			}
			fellBack := strings.Contains(logs.String(), "events read from the primary")
			if c.fromReplica == fellBack {
				t.Fatalf("read from the replica: %v; want %v (%d replica queries)\n%s", !fellBack, c.fromReplica,
					c.queries.n.Load()-before, logs.String())
			}
			if c.queries.n.Load() == before {
				t.Fatal("the replica was not asked")
			}
		})
	}
}

// Ensures a report summarizes the BRIN ranges written since the last VACUUM before it rebuilds
// from them (an unsummarized range matches every query: the newest days would be read whole).
func TestReportSummarizesNewBRINRanges(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	// More than a few block ranges of 128 pages (the last, partial range is never summarized).
	insert(t, pool, randomEvents(rand.New(rand.NewPCG(11, 1)), day, 1, 20000)...)
	rep, err := pgquery.New(pool).Report(ctx, report.ReportRequest{Period: report.PeriodContaining(report.Daily, day, seoul)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != nil {
		t.Fatal("a report that was not asked for its events keeps a snapshot open")
	}
	var left int64
	if err := pool.QueryRow(ctx, `SELECT sum(brin_summarize_new_values(i.indexrelid))::bigint FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
		WHERE i.indrelid IN ('events_2026_09'::regclass, 'events_2026_10'::regclass)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d BRIN ranges were left unsummarized by the report", left)
	}
}
