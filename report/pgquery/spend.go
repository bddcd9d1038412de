package pgquery

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// A budget's spend over [start, end) is read from the daily aggregates for every whole day
// (in the zone of start) whose aggregates are current, plus the rows of its change marks not
// yet consumed (events that arrived since the last refresh; pending_rows.sql), and for every
// day whose raw events retention dropped; the rest (days never built or changed by an update
// since, the partial days at either end) is summed from the events. Every read shares one
// REPEATABLE READ snapshot, so a row is counted from exactly one source and the sum equals a raw
// sum over the events at that snapshot. A tag scope reads the events only: the aggregates have
// no tags.

// spendPlan splits [start, end) into days read from aggregates and ranges read from events.
type spendPlan struct {
	tz     string
	days   []time.Time    // dateOf values
	ranges [][2]time.Time // half-open, ascending, not adjacent
	// pending: the ranges of days among days whose pending marks' rows are read from the
	// events (pending_rows.sql).
	pending [][2]time.Time
}

// spendSources is what every plan of one snapshot reads besides its own current days: the
// pending change marks and which time ranges retention dropped, each read once.
type spendSources struct {
	marks []pendingMark
	// unsummed: each transaction of the pending insert marks whose rows were not summed (a mark
	// written without sums: before migration 00012, or by a bulk statement) once. xacts: each
	// transaction of the pending insert marks once, read only when a read needs every pending
	// row (rowXacts), since a burst of small commits leaves tens of thousands.
	xacts, unsummed []int64
	avail           *partitionSet
	byZone          map[string]pendingMarks // days, per time zone
}

type pendingMark struct {
	hour time.Time
	xact *int64 // nil: a mark without a transaction; 0: insert marks whose rows were summed
}

// readSpendSources reads the spendSources of tx's snapshot (pending_hours.sql, availability).
func readSpendSources(ctx context.Context, tx pgx.Tx) (*spendSources, error) {
	src := &spendSources{unsummed: []int64{}} // an array parameter, never NULL
	rows, err := tx.Query(ctx, qPendingHours)
	if err != nil {
		return nil, fmt.Errorf("list pending changes: %w", err)
	}
	var m pendingMark
	var summed bool
	unsummed := map[int64]bool{} // a transaction leaves a mark per hour it wrote into
	_, err = pgx.ForEachRow(rows, []any{&m.hour, &m.xact, &summed}, func() error {
		if m.xact != nil {
			x := *m.xact
			if !summed && !unsummed[x] {
				src.unsummed, unsummed[x] = append(src.unsummed, x), true
			}
			m.xact = &x
		}
		src.marks = append(src.marks, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending changes: %w", err)
	}
	if src.avail, err = availability(ctx, tx); err != nil {
		return nil, err
	}
	return src, nil
}

// rowXacts are the transactions whose rows a read of the range r takes from the events: those
// without sums when r is whole UTC hours (the sums serve the rest), otherwise every pending one,
// read once per snapshot when first needed (pending_xacts.sql).
func (src *spendSources) rowXacts(ctx context.Context, tx pgx.Tx, r [2]time.Time) ([]int64, error) {
	if wholeHours(r) {
		return src.unsummed, nil
	}
	if src.xacts == nil {
		rows, err := tx.Query(ctx, qPendingXacts)
		if err != nil {
			return nil, fmt.Errorf("list pending transactions: %w", err)
		}
		xs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("list pending transactions: %w", err)
		}
		src.xacts = append([]int64{}, xs...)
	}
	return src.xacts, nil
}

// addRange appends [a, b) to rs, merged with the last range when adjacent.
func addRange(rs [][2]time.Time, a, b time.Time) [][2]time.Time {
	if !a.Before(b) {
		return rs
	}
	if n := len(rs); n > 0 && rs[n-1][1].Equal(a) {
		rs[n-1][1] = b
		return rs
	}
	return append(rs, [2]time.Time{a, b})
}

// planSpend plans the spend of scope over [start, end) (see spendPlan); a tag scope reads all
// of it from the events.
func planSpend(ctx context.Context, tx pgx.Tx, src *spendSources, scope report.Scope, start, end time.Time) (spendPlan, error) {
	loc := start.Location()
	pl := spendPlan{tz: loc.String()}
	if scope.TagKey != "" {
		pl.ranges = [][2]time.Time{{start, end}}
		return pl, nil
	}
	addRaw := func(a, b time.Time) { pl.ranges = addRange(pl.ranges, a, b) }
	// The whole days inside [start, end).
	first := start
	if y, m, d := start.Date(); !report.StartOfDay(y, m, d, loc).Equal(start) {
		first = nextDay(start, loc)
	}
	if !nextDay(first, loc).After(end) {
		current, err := currentDays(ctx, tx, pl.tz, first, end)
		if err != nil {
			return pl, err
		}
		marks := src.days(loc)
		addRaw(start, first)
		d := first
		for ; !nextDay(d, loc).After(end); d = nextDay(d, loc) {
			next := nextDay(d, loc)
			date := dateOf(d)
			switch {
			case !src.avail.complete(d, next):
				// Retention dropped (part of) its events: the aggregates are all there is.
				pl.days = append(pl.days, date)
			case current[date] && !marks.stale[date] && !marks.added[date]:
				pl.days = append(pl.days, date)
			case current[date] && !marks.stale[date]:
				pl.days = append(pl.days, date)
				pl.pending = addRange(pl.pending, d, next)
			default:
				addRaw(d, next)
			}
		}
		addRaw(d, end)
		return pl, nil
	}
	addRaw(start, end)
	return pl, nil
}

// pendingMarks are the days (dateOf values) touched by change marks not yet consumed: stale by
// a mark without a transaction, added to by the marks of inserts.
type pendingMarks struct{ stale, added map[time.Time]bool }

// days are the days in loc that the pending marks touch, worked out once per zone: every plan
// of a check asks, and the marks can be tens of thousands.
func (src *spendSources) days(loc *time.Location) pendingMarks {
	if pm, ok := src.byZone[loc.String()]; ok {
		return pm
	}
	pm := pendingMarks{stale: map[time.Time]bool{}, added: map[time.Time]bool{}}
	if src.byZone == nil {
		src.byZone = map[string]pendingMarks{}
	}
	src.byZone[loc.String()] = pm
	for _, m := range src.marks {
		days := pm.stale
		if m.xact != nil {
			days = pm.added
		}
		days[dateOf(m.hour.In(loc))] = true
		days[dateOf(m.hour.Add(time.Hour-time.Microsecond).In(loc))] = true
	}
	return pm
}

// scopeDims counts the dimensions a scope filters on (tags aside) and names the last one.
func scopeDims(sc report.Scope) (n int, dim, key string) {
	for _, f := range []struct{ dim, v string }{
		{"service", sc.Service}, {"model", sc.Model}, {"provider", sc.Provider},
		{"org_id", sc.OrgID}, {"user_id", sc.UserID},
	} {
		if f.v != "" {
			n, dim, key = n+1, f.dim, f.v
		}
	}
	return n, dim, key
}

// readSnapshot runs fn in a read-only REPEATABLE READ transaction: one snapshot for every read.
// On Citus it first waits until the rows of every change mark in that snapshot are visible on the
// workers (marksBarrier), so that the rows that pending marks stand for are all there.
func (s *Store) readSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if distributed {
			if _, err := marksBarrier(ctx, tx); err != nil {
				return err
			}
		} else if out, ok := ctx.Value(snapshotOut{}).(*string); ok {
			// REPEATABLE READ: every statement of tx reads in this snapshot.
			if err := tx.QueryRow(ctx, qCurrentSnapshot).Scan(out); err != nil {
				return fmt.Errorf("read the snapshot: %w", err)
			}
		}
		return fn(tx)
	})
}

// BudgetSpend implements report.Store.
func (s *Store) BudgetSpend(ctx context.Context, scope report.Scope, start, end time.Time) (report.Spend, error) {
	sp, err := s.BudgetSpends(ctx, []report.SpendQuery{{Scope: scope, Start: start, End: end}})
	if err != nil {
		return report.Spend{}, err
	}
	return sp[0], nil
}

// BudgetSpends implements report.SpendBatcher: every query in one snapshot, the parts read from
// the events with one scan per distinct time range, shared by every query that needs it (the
// budgets of a check mostly share today's tail).
func (s *Store) BudgetSpends(ctx context.Context, qs []report.SpendQuery) ([]report.Spend, error) {
	out := spendTally(make([]report.Spend, len(qs)))
	err := s.readSpend(ctx, func(tx pgx.Tx, src *spendSources) error {
		var raw, pend rangeQueries // the queries that read each range from events, and from the rows of pending marks
		for i, q := range qs {
			pl, err := planSpend(ctx, tx, src, q.Scope, q.Start, q.End)
			if err != nil {
				return err
			}
			if err := out.fromAggregates(ctx, tx, i, pl, q.Scope); err != nil {
				return err
			}
			raw.add(pl.ranges, i)
			pend.add(pl.pending, i)
		}
		for _, r := range raw.order {
			if err := out.read(ctx, tx, spendRead{qSpendBatch, rowAggregates, []any{r[0], r[1]}, raw.idx[r]}, qs); err != nil {
				return err
			}
		}
		for _, r := range pend.order {
			rds, err := src.pendingReads(ctx, tx, r, pend.idx[r])
			if err != nil {
				return err
			}
			for _, rd := range rds {
				if err := out.read(ctx, tx, rd, qs); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query budget spend: %w", err)
	}
	return out, nil
}

// readSpend runs fn in one snapshot tuned for reading narrow time ranges of the events
// (rawReadSettings), with the sources of budget spend read (readSpendSources).
func (s *Store) readSpend(ctx context.Context, fn func(tx pgx.Tx, src *spendSources) error) error {
	return s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if err := rawReadSettings(ctx, tx); err != nil {
			return err
		}
		src, err := readSpendSources(ctx, tx)
		if err != nil {
			return err
		}
		return fn(tx, src)
	})
}

// spendTally is the spend of each query of a batch, added up from its reads.
type spendTally []report.Spend

// add adds a read's cost (exact text), events and unpriced events to query i.
func (t spendTally) add(i int, cost string, n, unpriced int64) error {
	c, err := decimal.NewFromString(cost)
	if err != nil {
		return fmt.Errorf("parse spend %q: %w", cost, err)
	}
	sp := &t[i]
	sp.Cost, sp.Events, sp.Unpriced = sp.Cost.Add(c), sp.Events+n, sp.Unpriced+unpriced
	return nil
}

// fromAggregates adds to query i its spend on the days pl reads from the rollups (a scope on at
// most one dimension) or the aggregates.
func (t spendTally) fromAggregates(ctx context.Context, tx pgx.Tx, i int, pl spendPlan, scope report.Scope) error {
	if len(pl.days) == 0 {
		return nil
	}
	var row pgx.Row
	switch n, dim, key := scopeDims(scope); {
	case n == 0:
		row = tx.QueryRow(ctx, qSpendRollups, pl.tz, pl.days, "total", "")
	case n == 1:
		row = tx.QueryRow(ctx, qSpendRollups, pl.tz, pl.days, dim, key)
	default:
		row = tx.QueryRow(ctx, qSpendAggs, append([]any{pl.tz, pl.days}, scopeArgs(scope)[:5]...)...)
	}
	var cost string
	var n, unpriced int64
	if err := row.Scan(&cost, &n, &unpriced); err != nil {
		return fmt.Errorf("from aggregates: %w", err)
	}
	return t.add(i, cost, n, unpriced)
}

// read runs the read b for its queries of qs and adds each one's figures.
func (t spendTally) read(ctx context.Context, tx pgx.Tx, b spendRead, qs []report.SpendQuery) error {
	idx := b.idx
	sql, args := spendBatch(b, qs)
	dest := make([]any, 1+3*len(idx))
	var zero int
	dest[0] = &zero
	costs, ns, unpriced := make([]string, len(idx)), make([]int64, len(idx)), make([]int64, len(idx))
	for j := range idx {
		dest[1+3*j], dest[2+3*j], dest[3+3*j] = &costs[j], &ns[j], &unpriced[j]
	}
	if err := tx.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return fmt.Errorf("from events: %w", err)
	}
	for j, i := range idx {
		if err := t.add(i, costs[j], ns[j], unpriced[j]); err != nil {
			return err
		}
	}
	return nil
}

// rangeQueries lists the distinct time ranges of a batch in the order first seen, each with the
// queries that read it: one scan per range serves them all.
type rangeQueries struct {
	order [][2]time.Time
	idx   map[[2]time.Time][]int
}

// add records that query i reads the ranges rs.
func (rq *rangeQueries) add(rs [][2]time.Time, i int) {
	if rq.idx == nil {
		rq.idx = map[[2]time.Time][]int{}
	}
	for _, r := range rs {
		if rq.idx[r] == nil {
			rq.order = append(rq.order, r)
		}
		rq.idx[r] = append(rq.idx[r], i)
	}
}

// pendingReads are the reads of what the pending insert marks add to the range r (whole days
// of current aggregates) for the queries idx: their sums (pending_sums.sql) when r is whole UTC
// hours, and the rows (pending_rows.sql) of the transactions that have no sums, or of every
// pending transaction when r is not (a zone whose offset is not whole hours).
func (src *spendSources) pendingReads(ctx context.Context, tx pgx.Tx, r [2]time.Time, idx []int) ([]spendRead, error) {
	var out []spendRead
	if wholeHours(r) {
		out = append(out, spendRead{qPendingSums, sumAggregates, []any{r[0], r[1], src.unsummed}, idx})
	}
	rows, err := src.rowXacts(ctx, tx, r)
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		out = append(out, spendRead{qSpendPending, rowAggregates, append([]any{r[0], r[1]}, pendingArgs(rows)...), idx})
	}
	return out, nil
}

// wholeHours tells whether the range r begins and ends on whole UTC hours, as the pending sums
// do (event_change_sums).
func wholeHours(r [2]time.Time) bool {
	return r[0].Truncate(time.Hour).Equal(r[0]) && r[1].Truncate(time.Hour).Equal(r[1])
}

// pendingArgs is pending_rows.sql's parameters for the transactions xacts.
func pendingArgs(xacts []int64) []any {
	lo, hi := xacts[0], xacts[0]
	for _, x := range xacts {
		lo, hi = min(lo, x), max(hi, x)
	}
	return []any{lo, hi, xacts}
}

// spendRead is one read for several queries: spend_batch.sql, with or without pending_rows.sql,
// or pending_sums.sql, with its leading parameters and the aggregates of its rows (rowAggregates
// or sumAggregates), for the queries idx.
type spendRead struct {
	query, aggs string
	head        []any
	idx         []int
}

// rowAggregates and sumAggregates are a scope's cost (text, exact), events and unpriced events
// over event rows and over event_change_sums rows; %[1]s is the scope's predicate.
var (
	rowAggregates = stripComments(q("spend_row_aggregates"))
	sumAggregates = stripComments(q("spend_sum_aggregates"))
)

var param = regexp.MustCompile(`\$([0-9]+)`)

// renumber is the SQL fragment sql with its parameters $1, $2, ... renumbered to follow a
// query's first base parameters.
func renumber(sql string, base int) string {
	return param.ReplaceAllStringFunc(sql, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		return "$" + strconv.Itoa(base+n)
	})
}

// scopeAt is the scope predicate (scope.sql) with its parameters renumbered to follow the
// query's first base parameters.
func scopeAt(base int) string {
	return renumber(qScope, base)
}

// spendBatch builds the read rd for its queries of qs: three FILTERed aggregates per query
// (rd.aggs), each with the query's scope parameters after rd's own.
func spendBatch(rd spendRead, qs []report.SpendQuery) (string, []any) {
	args := append([]any{}, rd.head...)
	var b strings.Builder
	for _, i := range rd.idx {
		fmt.Fprintf(&b, rd.aggs, scopeAt(len(args)))
		args = append(args, scopeArgs(qs[i].Scope)...)
	}
	return strings.Replace(rd.query, "/*scopes*/", b.String(), 1), args
}

// rawReadSettings tunes the transaction for reading narrow time ranges of the events
// (raw_read_settings.sql).
func rawReadSettings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, qRawReadSettings); err != nil {
		return fmt.Errorf("tune budget read: %w", err)
	}
	return nil
}

// BudgetDrivers implements report.Store, from the same sources as BudgetSpend: every dimension
// of dims in one snapshot and one scan of each source, where an alert used to read each
// dimension in a snapshot of its own.
func (s *Store) BudgetDrivers(ctx context.Context, scope report.Scope, start, end time.Time, dims []report.Dimension, n int) (map[report.Dimension][]report.Driver, error) {
	byKey, err := s.driversByKey(ctx, scope, start, end, dims)
	if err != nil {
		return nil, err
	}
	out := map[report.Dimension][]report.Driver{}
	for _, dim := range dims {
		out[dim] = report.TopDrivers(maps.Values(byKey[dim]), n)
	}
	return out, nil
}

// driversByKey is BudgetDrivers' reading: every key of each dimension of dims with its spend, in
// no order (sorting 100,000 users' exact decimals costs a third of reading them).
func (s *Store) driversByKey(ctx context.Context, scope report.Scope, start, end time.Time, dims []report.Dimension) (map[report.Dimension]map[string]*report.Driver, error) {
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = string(d)
	}
	byKey := map[report.Dimension]map[string]*report.Driver{}
	add := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		var dim, key string
		var c decimal.Decimal
		var requests, unpriced int64
		_, err = pgx.ForEachRow(rows, []any{&dim, &key, &c, &requests, &unpriced}, func() error {
			m := byKey[report.Dimension(dim)]
			if m == nil {
				m = map[string]*report.Driver{}
				byKey[report.Dimension(dim)] = m
			}
			d := m[key]
			if d == nil {
				d = &report.Driver{Key: key}
				m[key] = d
			}
			d.Cost, d.Requests, d.Unpriced = d.Cost.Add(c), d.Requests+requests, d.Unpriced+unpriced
			return nil
		})
		return err
	}
	// A current day with pending insert marks is read as BudgetSpend reads it: its aggregates
	// plus the rows of the marks, not all its events.
	err := s.readSpend(ctx, func(tx pgx.Tx, src *spendSources) error {
		pl, err := planSpend(ctx, tx, src, scope, start, end)
		if err != nil {
			return err
		}
		return readDrivers(ctx, tx, src, pl, scope, names, add)
	})
	if err != nil {
		return nil, fmt.Errorf("query budget drivers: %w", err)
	}
	return byKey, nil
}

// readDrivers reads the plan pl's sources for the dimensions dims into add: the aggregates of
// its current days, the events of its other ranges, and what the pending marks add.
func readDrivers(ctx context.Context, tx pgx.Tx, src *spendSources, pl spendPlan, scope report.Scope, dims []string, add func(pgx.Rows, error) error) error {
	aggs, err := driversGrouped(qDriversAggs, dims)
	if err != nil {
		return err
	}
	sums, err := driversGrouped(qDriversSums, dims)
	if err != nil {
		return err
	}
	if len(pl.days) > 0 {
		if scope.IsZero() {
			err = add(tx.Query(ctx, qDriversRollups, pl.tz, pl.days, dims))
		} else {
			err = add(tx.Query(ctx, aggs, append([]any{pl.tz, pl.days}, scopeArgs(scope)[:5]...)...))
		}
		if err != nil {
			return fmt.Errorf("from aggregates: %w", err)
		}
	}
	for _, r := range pl.ranges {
		args := append([]any{r[0], r[1]}, scopeArgs(scope)...)
		if err := add(tx.Query(ctx, qBudgetDrivers, append(args, dims)...)); err != nil {
			return fmt.Errorf("from events: %w", err)
		}
	}
	for _, r := range pl.pending {
		args := append([]any{r[0], r[1]}, scopeArgs(scope)...)
		if wholeHours(r) {
			if err := add(tx.Query(ctx, sums, append(args, src.unsummed)...)); err != nil {
				return fmt.Errorf("from pending sums: %w", err)
			}
		}
		rows, err := src.rowXacts(ctx, tx, r)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			continue
		}
		if err := add(tx.Query(ctx, qDriversPending, append(append(args, dims), pendingArgs(rows)...)...)); err != nil {
			return fmt.Errorf("from pending events: %w", err)
		}
	}
	return nil
}
