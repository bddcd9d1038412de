// Package pgquery holds the SQL of the batch side (the batch job and the read API): daily
// aggregates, period statistics, budget spend, the alert and digest ledgers, the events of a
// report and retention; the runs table and the run locks are report/runlog's, the schema and
// the writing of events collect/pgstore's. Each query is its own file in sql/, with a header
// comment stating its parameters and result. It implements report.Store.
package pgquery

import (
	"context"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// q returns the text of sql/name.sql; a missing file is a programming error caught by tests.
func q(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic("pgquery: missing query " + name)
	}
	return string(b)
}

// visibleIn3 keeps, on Citus, the rows whose inserting transaction the coordinator's snapshot $3
// holds (each worker reads in a snapshot of its own, taken later): with the marks barrier
// before, exactly the rows inserted before that snapshot. An updated row is read as the worker
// sees it.
const visibleIn3 = "AND (ingest_xact IS NULL OR txid_visible_in_snapshot(ingest_xact, $3::txid_snapshot))"

var (
	qRefreshDelete      = q("refresh_delete")
	qRefreshInsert      = strings.NewReplacer("/*n*/", "1", "/*group*/", "", "/*visible*/", "").Replace(q("refresh_insert"))
	qRefreshInsertCitus = strings.NewReplacer("/*n*/", "count(*)", "/*group*/", "GROUP BY 1, 2, 3, 4, 5, 6, 7",
		"/*visible*/", "AND (ingest_xact IS NULL OR txid_visible_in_snapshot(ingest_xact, $4::txid_snapshot))").Replace(q("refresh_insert"))
	qMarksBarrier     = q("marks_barrier")
	qCurrentSnapshot  = q("current_snapshot")
	qBreakdownsDelete = q("breakdowns_delete")
	qBreakdownsDeltas = q("breakdowns_deltas")
	qBreakdownDays    = q("breakdown_days")
	qReportBreakdowns = q("report_breakdowns")
	qReportTotals     = q("report_totals")
	qReportLatency    = q("report_latency")
	qReportRange      = q("report_range")
	qDataBegin        = q("data_begin")
	qFirstEvent       = q("first_event")
	qUnpricedModels   = q("unpriced_models")
	qCacheReads       = q("cache_reads")
	qDroppedRanges    = q("dropped_ranges")
	qDroppedRecord    = q("dropped_record")
	qBudgetDrivers    = withRows(strings.Replace(stripComments(q("budget_drivers")), "/*scope*/", scopeAt(2), 1), -1)
	qDriversPending   = withRows(strings.Replace(stripComments(q("budget_drivers")), "/*scope*/", scopeAt(2), 1), 10)
	qDriversSums      = strings.Replace(stripComments(q("drivers_sums")), "/*scope*/", scopeAt(2), 1) // see driversGrouped
	qLedgerClaim      = q("ledger_claim")
	qLedgerPending    = q("ledger_pending")
	qLedgerLock       = q("ledger_lock")
	qLedgerSent       = q("ledger_sent")
	qLedgerFailed     = q("ledger_failed")
	qLedgerRange      = q("ledger_range")
	qLedgerStale      = q("ledger_stale")
	qEvents           = strings.Replace(q("events"), "/*visible*/", "", 1)
	qEventsCitus      = strings.Replace(q("events"), "/*visible*/", visibleIn3, 1)
	// The events of a scope (a chargeback owner's lines): events.sql with scope.sql's predicate,
	// its parameters after the range (and, on Citus, after the snapshot of visibleIn3).
	qScopedEvents         = strings.Replace(q("events"), "/*visible*/", "AND "+scopeAt(2), 1)
	qScopedEventsCitus    = strings.Replace(q("events"), "/*visible*/", visibleIn3+" AND "+scopeAt(3), 1)
	qDigestClaim          = q("digest_claim")
	qDigestLock           = q("digest_lock")
	qDigestSent           = q("digest_sent")
	qDigestFailed         = q("digest_failed")
	qDigestStatus         = q("digest_status")
	qSpendRollups         = q("spend_rollups")
	qSpendAggs            = strings.Replace(stripComments(q("spend_aggregates")), "/*scope*/", renumber(qAggregateScope, 2), 1)
	qDriversRollups       = q("drivers_rollups")
	qDriversAggs          = strings.Replace(stripComments(q("drivers_aggregates")), "/*scope*/", renumber(qAggregateScope, 2), 1) // see driversGrouped
	qSpendBatch           = withRows(stripComments(q("spend_batch")), -1)
	qSpendPending         = withRows(stripComments(q("spend_batch")), 2)
	qPendingRows          = strings.TrimSpace(stripComments(q("pending_rows")))
	qPendingSums          = stripComments(q("pending_sums"))
	qScope                = strings.TrimSpace(stripComments(q("scope")))
	qAggregateScope       = strings.TrimSpace(stripComments(q("aggregate_scope")))
	qEventsCSV            = strings.Replace(q("events_csv"), "/*visible*/", "", 1)
	qEventsCSVCitus       = strings.Replace(q("events_csv"), "/*visible*/", visibleIn3, 1)
	qConsumeChanges       = q("consume_changes")
	qAggregateZones       = q("aggregate_zones")
	qStaleDays            = q("stale_days")
	qApplyDeltas          = q("apply_deltas")
	qCurrentDays          = q("current_days")
	qMarkCurrent          = q("mark_current")
	qPendingHours         = q("pending_hours")
	qPendingXacts         = q("pending_xacts")
	qPendingInRange       = q("pending_in_range")
	qPendingAge           = q("pending_age")
	qSummarizeBRIN        = q("summarize_brin")
	aggregatesLock        = q("aggregates_xact_lock")
	aggregatesSessionLock = q("aggregates_lock")
	aggregatesUnlock      = q("aggregates_unlock")
	aggregatesTryLock     = q("aggregates_try_xact_lock")
	qSumsCompact          = q("sums_compact")
	qSumsUnmergedFirst    = q("sums_unmerged_first")
	qRefreshSettings      = q("refresh_settings")
	qRawReadSettings      = q("raw_read_settings")
	qMarkJoinSettings     = q("mark_join_settings")
	qMarkJoinReset        = q("mark_join_reset")
	qSummarizeSettings    = q("summarize_settings")
	qExportSnapshot       = q("export_snapshot")
	qEventsSettings       = q("events_settings")
)

// stripComments drops the comment lines of a query that is pasted into another.
func stripComments(sql string) string {
	var keep []string
	for _, l := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// groupedColumns are the dimensions a drivers query can group (the columns the aggregates keep).
var groupedColumns = map[string]bool{"service": true, "model": true, "provider": true, "org_id": true, "user_id": true}

// driversGrouped fills the grouping placeholders of drivers_aggregates.sql or drivers_sums.sql
// for dims: /*dim*/ names each row's dimension, /*key*/ is its value (the other columns of a
// grouping set are NULL) and /*sets*/ lists one set per dimension.
func driversGrouped(sql string, dims []string) (string, error) {
	if len(dims) == 0 {
		return "", errors.New("no dimension asked for")
	}
	var dim, sets strings.Builder
	dim.WriteString("CASE")
	for i, d := range dims {
		if !groupedColumns[d] {
			return "", fmt.Errorf("dimension %q is not kept by the aggregates", d)
		}
		if i > 0 {
			sets.WriteString(", ")
		}
		fmt.Fprintf(&sets, "(%s)", d)
		if i < len(dims)-1 {
			fmt.Fprintf(&dim, " WHEN GROUPING(%s) = 0 THEN '%s'", d, d)
		} else {
			fmt.Fprintf(&dim, " ELSE '%s' END", d)
		}
	}
	key := "coalesce(" + strings.Join(dims, ", ") + ")"
	if len(dims) == 1 {
		dim.Reset()
		fmt.Fprintf(&dim, "'%s'::text", dims[0])
		key = dims[0]
	}
	return strings.NewReplacer("/*dim*/", dim.String(), "/*key*/", key, "/*sets*/", sets.String()).Replace(sql), nil
}

// withRows replaces /*rows*/ in sql with nothing (base < 0: every event of the range) or with
// pending_rows.sql, its parameters numbered from base+1 (only the rows of pending insert marks).
func withRows(sql string, base int) string {
	rows := ""
	if base >= 0 {
		rows = renumber(qPendingRows, base)
	}
	return strings.Replace(sql, "/*rows*/", rows, 1)
}

// Store implements report.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	// LockTimeout bounds how long retention DDL waits for locks on events; default 5 s.
	LockTimeout time.Duration
	// Replica, when set, serves the event rows of a report's outputs (report.Report.Events)
	// whenever its snapshot holds exactly the report's events (snapshot.go).
	Replica *Store
	// Logger says when the replica could not serve them; default slog.Default().
	Logger *slog.Logger

	// TagKeys are the configured tag keys (reports.tag_keys): a report breaks spend down by
	// endpoint and by each of them (report.Report.Chargeback), and a refresh keeps their
	// breakdowns (daily_breakdowns) with the aggregates.
	TagKeys []string

	engineMu    sync.Mutex
	engineKnown bool
	distributed bool // events is a Citus distributed table (pgstore.Distributed)
}

// isDistributed tells whether events is distributed (pgstore.Distributed), asked once.
func (s *Store) isDistributed(ctx context.Context) (bool, error) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	if !s.engineKnown {
		d, err := pgstore.Distributed(ctx, s.pool)
		if err != nil {
			return false, err
		}
		s.distributed, s.engineKnown = d, true
	}
	return s.distributed, nil
}

// marksBarrier runs marks_barrier.sql in tx (Citus only): it waits until the rows of every
// transaction in tx's snapshot are visible on every worker, and returns that snapshot
// (txid_current_snapshot) for the reads that keep only the rows it holds.
func marksBarrier(ctx context.Context, tx pgx.Tx) (string, error) {
	var snap string
	if err := tx.QueryRow(ctx, qMarksBarrier).Scan(&snap, nil, nil); err != nil {
		return "", fmt.Errorf("wait for the writers of events still committing: %w", err)
	}
	return snap, nil
}

var _ report.Store = (*Store)(nil)

// New returns a Store on pool (a direct connection: retention uses session settings).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, LockTimeout: 5 * time.Second} }

// Report implements report.Store: it brings the aggregates of the days it reads up to date and
// reads the report from them, all in one REPEATABLE READ transaction.
func (s *Store) Report(ctx context.Context, req report.ReportRequest) (*report.Report, error) {
	plan, err := planReport(req)
	if err != nil {
		return nil, err
	}
	plan.tagKeys = s.TagKeys
	conn, unlock, err := s.lockAggregates(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.summarizeBRIN(ctx, conn, plan.from, plan.to); err != nil {
		return nil, err
	}
	// REPEATABLE READ: the rebuild, the totals and (through the exported snapshot) the events the
	// outputs list all see the events of one instant.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("begin report: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapID string
	if req.Events {
		if err := tx.QueryRow(ctx, qExportSnapshot).Scan(&snapID); err != nil {
			return nil, fmt.Errorf("export report snapshot: %w", err)
		}
	}
	rep, err := readPlanned(ctx, tx, plan, req)
	if err != nil {
		return nil, err
	}
	if !req.Events {
		return rep, commitReport(ctx, tx, req)
	}
	if rep.Events, err = s.holdSnapshot(ctx, tx, req, snapID); err != nil {
		return nil, err
	}
	return rep, nil
}

// reportPlan is what a report reads: the period, the days of its series and of the series'
// baseline, the comparison period, and the range of days to bring up to date first.
type reportPlan struct {
	p                      report.Period
	seriesStart, histStart time.Time
	cmp                    *report.Comparison
	from, to               time.Time // the days refreshed
	topN                   int
	tagKeys                []string
}

// planReport computes the ranges req reads.
func planReport(req report.ReportRequest) (reportPlan, error) {
	if req.TopN <= 0 {
		req.TopN = 10
	}
	if req.SeriesDays <= 0 {
		req.SeriesDays = report.SeriesDays
	}
	p := req.Period
	loc := p.Start.Location()
	days := p.Days()
	if len(days) == 0 {
		return reportPlan{}, fmt.Errorf("report %s: empty period", p)
	}
	ly, lm, ld := days[len(days)-1].Date()
	seriesStart := report.StartOfDay(ly, lm, ld-req.SeriesDays+1, loc)
	if p.Start.Before(seriesStart) {
		seriesStart = p.Start // a 31-day month shows all its days
	}
	// The 30 days before the series are the baseline of its spike days.
	sy, sm, sd := seriesStart.Date()
	plan := reportPlan{p: p, topN: req.TopN, seriesStart: seriesStart, histStart: report.StartOfDay(sy, sm, sd-report.SeriesDays, loc), cmp: comparison(p, req.AsOf)}
	plan.from, plan.to = plan.histStart, p.End
	if plan.cmp.Start.Before(plan.from) {
		plan.from = plan.cmp.Start
	}
	if !req.RefreshFrom.IsZero() && req.RefreshFrom.Before(plan.from) {
		plan.from = req.RefreshFrom
	}
	if req.RefreshTo.After(plan.to) {
		plan.to = req.RefreshTo
	}
	return plan, nil
}

// comparison is the period before p, over as many days as p has had at asOf while it is in
// progress.
func comparison(p report.Period, asOf time.Time) *report.Comparison {
	loc := p.Start.Location()
	prev := p.Previous()
	cmp := &report.Comparison{Start: prev.Start, End: prev.End}
	if !asOf.IsZero() && asOf.After(p.Start) && asOf.Before(p.End) {
		ay, am, ad := asOf.In(loc).Date()
		elapsed := len(report.Period{Kind: report.Daily, Start: p.Start, End: report.StartOfDay(ay, am, ad+1, loc)}.Days())
		py, pm, pd := prev.Start.Date()
		if end := report.StartOfDay(py, pm, pd+elapsed, loc); end.Before(prev.End) {
			cmp.End, cmp.Partial = end, true
		}
	}
	return cmp
}

// readPlanned brings the plan's days up to date in tx and reads the report, its comparison,
// cache savings and unpriced models.
func readPlanned(ctx context.Context, tx pgx.Tx, plan reportPlan, req report.ReportRequest) (*report.Report, error) {
	p, loc := plan.p, plan.p.Start.Location()
	refreshed, err := refresh(ctx, tx, loc, plan.from, plan.to, plan.tagKeys)
	if err != nil {
		return nil, err
	}
	rep, err := readReport(ctx, tx, p, plan.seriesStart, plan.histStart, plan.topN)
	if err != nil {
		return nil, err
	}
	if err := readChargeback(ctx, tx, rep, plan.tagKeys, plan.topN); err != nil {
		return nil, err
	}
	if plan.cmp.Totals, plan.cmp.ByKey, err = readRange(ctx, tx, loc.String(), plan.cmp.Start, plan.cmp.End); err != nil {
		return nil, err
	}
	if err := dataBegin(ctx, tx, loc, plan.cmp); err != nil {
		return nil, err
	}
	rep.Previous = plan.cmp
	if !req.AsOf.IsZero() && req.AsOf.Before(p.End) {
		rep.AsOf = req.AsOf
	}
	if req.CacheSaving != nil {
		if rep.CacheSavings, err = cacheSavings(ctx, tx, p, req.CacheSaving); err != nil {
			return nil, err
		}
	}
	if rep.Totals.Unpriced > 0 {
		if rep.UnpricedModels, err = unpricedModels(ctx, tx, p, rep); err != nil {
			return nil, err
		}
	}
	rep.RefreshedDays = refreshed
	return rep, nil
}

// commitReport commits the rebuilt aggregates, except on a dry run, whose deferred rollback
// undoes the rebuild.
func commitReport(ctx context.Context, tx pgx.Tx, req report.ReportRequest) error {
	if req.DryRun {
		return nil
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit daily aggregates: %w", err)
	}
	return nil
}

// holdSnapshot opens the events snapshot of the report's transaction tx (exported as snapID)
// in a transaction of its own, which outlives tx, then commits tx.
func (s *Store) holdSnapshot(ctx context.Context, tx pgx.Tx, req report.ReportRequest, snapID string) (*snapshot, error) {
	p := req.Period
	snap := &snapshot{tz: p.Start.Location().String(), from: p.Start, to: p.End, replica: s.Replica, log: s.logger()}
	var err error
	if snap.built, err = builtDays(ctx, tx, snap.tz, p.Start, p.End); err != nil {
		return nil, err
	}
	if snap.distributed, err = s.isDistributed(ctx); err != nil {
		return nil, err
	}
	// Imported before this transaction ends, the snapshot outlives it.
	if snap.conn, snap.tx, err = importSnapshot(ctx, s.pool, snapID); err != nil {
		return nil, err
	}
	if snap.distributed {
		// The rows of every transaction in the report's snapshot visible on the workers
		// before any is read (marks_barrier.sql).
		if _, err := marksBarrier(ctx, snap.tx); err != nil {
			snap.Close()
			return nil, err
		}
	}
	if err := commitReport(ctx, tx, req); err != nil {
		snap.Close()
		return nil, err
	}
	return snap, nil
}

// lockAggregates takes the aggregates lock for the session of a dedicated connection, before
// any transaction on it begins: a REPEATABLE READ transaction begun after it has a snapshot that
// sees what the refresh before committed, and every statement of it sees the same marks and
// events (a READ COMMITTED refresh could rebuild a day from rows whose marks it did not consume,
// and a later refresh would add them again). unlock releases the lock and the connection.
func (s *Store) lockAggregates(ctx context.Context) (conn *pgxpool.Conn, unlock func(), err error) {
	conn, err = s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("acquire connection for the aggregates: %w", err)
	}
	if _, err := conn.Exec(ctx, aggregatesSessionLock); err != nil {
		conn.Release()
		return nil, nil, fmt.Errorf("lock daily aggregates: %w", err)
	}
	return conn, func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), aggregatesUnlock); err != nil {
			// A connection that may still hold the lock must not go back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

// Refresh implements report.Store.
func (s *Store) Refresh(ctx context.Context, from, to time.Time, lag time.Duration) (bool, error) {
	if lag > 0 {
		due, err := s.refreshDue(ctx, from, to, lag)
		if err != nil || !due {
			return false, err
		}
	}
	conn, unlock, err := s.lockAggregates(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := s.summarizeBRIN(ctx, conn, from, to); err != nil {
		return false, err
	}
	return true, pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		_, err := refresh(ctx, tx, from.Location(), from, to, s.TagKeys)
		return err
	})
}

// refreshDue tells whether Refresh with lag has work to do (see report.Store): a day of
// [from, to) whose events are stored is not current, a change mark without a transaction is
// pending, or the oldest pending mark is older than lag. It takes no lock: a refresh that starts
// meanwhile only makes the answer more cautious than needed.
func (s *Store) refreshDue(ctx context.Context, from, to time.Time, lag time.Duration) (bool, error) {
	var old, stale bool
	if err := s.pool.QueryRow(ctx, qPendingAge, fmt.Sprintf("%d microseconds", lag.Microseconds())).Scan(&old, &stale); err != nil {
		return false, fmt.Errorf("read pending changes: %w", err)
	}
	if old || stale {
		return true, nil
	}
	loc := from.Location()
	current, err := currentDays(ctx, s.pool, loc.String(), from, to)
	if err != nil {
		return false, err
	}
	avail, err := availability(ctx, s.pool)
	if err != nil {
		return false, err
	}
	for d := from; d.Before(to); d = nextDay(d, loc) {
		if next := nextDay(d, loc); !current[dateOf(d)] && avail.complete(d, next) {
			return true, nil
		}
	}
	return false, nil
}

// summarizeBRIN runs summarize_brin.sql for the partitions that overlap [from, to), in a
// transaction of its own under a short lock_timeout: summarizing waits for a VACUUM of the
// partition (autovacuum gives way after deadlock_timeout). It only makes the rebuild read fewer
// blocks, so a lock timeout or a role that does not own the index is logged and skipped.
func (s *Store) summarizeBRIN(ctx context.Context, conn *pgxpool.Conn, from, to time.Time) error {
	parts, err := pgstore.ListPartitions(ctx, conn)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range parts {
		if p.Start.Before(to) && p.End.After(from) && !p.DetachPending {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qSummarizeSettings); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, qSummarizeBRIN, names)
		return err
	})
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && (pe.Code == "55P03" || pe.Code == "42501") {
		s.logger().Info("BRIN ranges not summarized before the rebuild; it reads more blocks", "error", pe.Message)
		return nil
	}
	if err != nil {
		return fmt.Errorf("summarize BRIN ranges: %w", err)
	}
	return nil
}

// logger is s.Logger, or the default logger.
func (s *Store) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// dateOf is the calendar date of t in its own location, as a UTC midnight for a date parameter.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// afterConsume runs in every refresh right after it consumed the change marks: a hook for tests
// of writers that commit while a refresh runs.
var afterConsume = func() {}

// nextDay is the first instant of the calendar day after the one t is in (in loc).
func nextDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return report.StartOfDay(y, m, d+1, loc)
}

// refresh brings the aggregates of the days in [from, to) (in loc) up to date inside tx and
// returns the days it rebuilt. It first consumes the change marks the event triggers left
// (consume_changes.sql), then rebuilds each day of the range that is not current and whose
// events are all still stored: no part of the day lies in a partition that retention dropped
// (recorded in dropped_partitions) or is detaching. A month without a partition holds no events
// (the collector creates a partition before it stores into a month), so it does not stop a
// rebuild. Days are rebuilt a contiguous run at a time, so each statement reads one time range.
// A rebuilt day gets its chargeback breakdowns by endpoint and tagKeys rebuilt with it; a
// current day whose breakdowns were built with other keys gets only those rebuilt (one scan of
// its events), and is not listed among the rebuilt days.
func refresh(ctx context.Context, tx pgx.Tx, loc *time.Location, from, to time.Time, tagKeys []string) ([]time.Time, error) {
	rb, err := prepareRefresh(ctx, tx, loc, from, to, tagKeys)
	if err != nil {
		return nil, err
	}
	whole, partial := &dayRun{whole: true}, &dayRun{}
	for d := from; d.Before(to); {
		next := nextDay(d, loc)
		var add *dayRun
		switch {
		case !rb.avail.complete(d, next):
		case !rb.current[dateOf(d)]:
			add = whole
		case !rb.withKeys[dateOf(d)]:
			add = partial
		}
		// Runs stay contiguous: a day ends every run it does not join.
		for _, r := range []*dayRun{whole, partial} {
			if r != add {
				if err := rb.flush(ctx, r); err != nil {
					return nil, err
				}
			}
		}
		if add != nil {
			add.days, add.end = append(add.days, d), next
			if len(add.days) == maxRebuildDays {
				if err := rb.flush(ctx, add); err != nil {
					return nil, err
				}
			}
		}
		d = next
	}
	if err := rb.flush(ctx, whole); err != nil {
		return nil, err
	}
	if err := rb.flush(ctx, partial); err != nil {
		return nil, err
	}
	return rb.rebuilt, nil
}

// dayRun is a run of contiguous days to rebuild: whole (aggregates and breakdowns) or only their
// breakdowns.
type dayRun struct {
	days  []time.Time
	end   time.Time // the end of days[len-1]
	whole bool
}

// rebuilder is what a refresh knows once the marks are consumed: which days can and need be
// rebuilt, and the statements that rebuild them on this engine.
type rebuilder struct {
	tx                      pgx.Tx
	tz                      string
	keys                    []string // the tag keys of the breakdowns, never nil
	avail                   *partitionSet
	current, withKeys       map[time.Time]bool
	refreshInsert, insertBD string
	snapshot                []any // on Citus the coordinator's snapshot, after the range
	rebuilt                 []time.Time
}

// prepareRefresh takes the refresh lock, consumes the change marks and reads what refresh needs
// to know about the days of [from, to).
func prepareRefresh(ctx context.Context, tx pgx.Tx, loc *time.Location, from, to time.Time, tagKeys []string) (*rebuilder, error) {
	// One refresh at a time: two concurrent delete + insert of the same day would collide, and
	// a run must see the marks and aggregates of the one before it.
	if _, err := tx.Exec(ctx, aggregatesLock); err != nil {
		return nil, fmt.Errorf("lock daily aggregates: %w", err)
	}
	if _, err := tx.Exec(ctx, qRefreshSettings); err != nil {
		return nil, fmt.Errorf("set work_mem: %w", err)
	}
	if err := consumeChanges(ctx, tx); err != nil {
		return nil, err
	}
	afterConsume()
	rb := &rebuilder{tx: tx, tz: loc.String(), keys: append([]string{}, tagKeys...), refreshInsert: qRefreshInsert}
	var err error
	if rb.avail, err = availability(ctx, tx); err != nil {
		return nil, err
	}
	if rb.current, err = currentDays(ctx, tx, rb.tz, from, to); err != nil {
		return nil, err
	}
	if rb.withKeys, err = breakdownDays(ctx, tx, rb.tz, from, to, rb.keys); err != nil {
		return nil, err
	}
	distributed, err := pgstore.Distributed(ctx, tx)
	if err != nil {
		return nil, err
	}
	if distributed {
		snap, err := marksBarrier(ctx, tx)
		if err != nil {
			return nil, err
		}
		rb.refreshInsert, rb.snapshot = qRefreshInsertCitus, []any{snap}
	}
	rb.insertBD = breakdownsInsert(len(rb.keys), distributed)
	return rb, nil
}

// flush rebuilds the days of run, if any, and empties it.
func (rb *rebuilder) flush(ctx context.Context, run *dayRun) error {
	if len(run.days) == 0 {
		return nil
	}
	tx, tz := rb.tx, rb.tz
	dates := make([]time.Time, len(run.days))
	for i, d := range run.days {
		dates[i] = dateOf(d)
	}
	if run.whole {
		if _, err := tx.Exec(ctx, qRefreshDelete, tz, dates); err != nil {
			return fmt.Errorf("delete daily aggregates: %w", err)
		}
		if _, err := tx.Exec(ctx, rb.refreshInsert, append([]any{tz, run.days[0], run.end}, rb.snapshot...)...); err != nil {
			return fmt.Errorf("rebuild daily aggregates: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, qBreakdownsDelete, tz, dates); err != nil {
		return fmt.Errorf("delete chargeback breakdowns: %w", err)
	}
	if _, err := tx.Exec(ctx, rb.insertBD, append([]any{tz, run.days[0], run.end, rb.keys, dates}, rb.snapshot...)...); err != nil {
		return fmt.Errorf("rebuild chargeback breakdowns: %w", err)
	}
	if run.whole {
		if _, err := tx.Exec(ctx, qMarkCurrent, tz, dates); err != nil {
			return fmt.Errorf("record rebuilt days: %w", err)
		}
		rb.rebuilt = append(rb.rebuilt, run.days...)
	}
	run.days = nil
	return nil
}

// breakdownsInsert is breakdowns_insert.sql for n tag keys, on plain PostgreSQL or on Citus
// (distributed): the keys' values are read as one array per event.
func breakdownsInsert(n int, distributed bool) string {
	return tagGrouped(q("breakdowns_insert"), n, 4, distributed, 6)
}

// tagGrouped fills the placeholders of a query that groups the events by the values of n tag
// keys (breakdowns_insert.sql, anomaly_hours_insert.sql): /*tags*/ becomes the array of the
// values of the keys in parameter keys (text[]), one element per key, and /*visible*/ on Citus
// keeps the rows of the snapshot in parameter snap (visibleIn3's rule).
func tagGrouped(query string, n, keys int, distributed bool, snap int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("tags ->> ($%d::text[])[%d]", keys, i+1)
	}
	tags := "'{}'::text[]"
	if n > 0 {
		tags = "ARRAY[" + strings.Join(vals, ", ") + "]"
	}
	visible := ""
	if distributed {
		visible = fmt.Sprintf("AND (ingest_xact IS NULL OR txid_visible_in_snapshot(ingest_xact, $%d::txid_snapshot))", snap)
	}
	return strings.NewReplacer("/*tags*/", tags, "/*visible*/", visible).Replace(query)
}

// breakdownDays reads breakdown_days.sql: the days of [from, to) whose breakdowns were built with
// keys, as dateOf values.
func breakdownDays(ctx context.Context, q querier, tz string, from, to time.Time, keys []string) (map[time.Time]bool, error) {
	out, err := daySet(q.Query(ctx, qBreakdownDays, tz, dateOf(from), dateOf(to), keys))
	if err != nil {
		return nil, fmt.Errorf("list days of the chargeback breakdowns: %w", err)
	}
	return out, nil
}

// daySet reads a query's dates into a set of dateOf values.
func daySet(rows pgx.Rows, err error) (map[time.Time]bool, error) {
	if err != nil {
		return nil, err
	}
	out := map[time.Time]bool{}
	var d time.Time
	_, err = pgx.ForEachRow(rows, []any{&d}, func() error {
		out[dateOf(d)] = true
		return nil
	})
	return out, err
}

// consumeChanges takes every visible change mark (consume_changes.sql) and applies it to the
// aggregates of every time zone: a mark of an insert adds the rows it stands for to the days
// already built (apply_deltas.sql), and any other mark makes its days stale (stale_days.sql), to
// be rebuilt from the events when a report needs them. Run under the aggregates lock.
func consumeChanges(ctx context.Context, tx pgx.Tx) error {
	staleHours, inserts, err := readChanges(ctx, tx)
	if err != nil || len(staleHours) == 0 && len(inserts) == 0 {
		return err
	}
	if err := staleHourly(ctx, tx, staleHours, inserts); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, qAggregateZones)
	if err != nil {
		return fmt.Errorf("list aggregate time zones: %w", err)
	}
	zones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list aggregate time zones: %w", err)
	}
	for _, tz := range zones {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("aggregates of time zone %q: %w", tz, err)
		}
		stale, d := splitInserts(staleHours, inserts, loc)
		if len(stale) > 0 {
			if _, err := tx.Exec(ctx, qStaleDays, tz, stale); err != nil {
				return fmt.Errorf("mark changed days stale in %s: %w", tz, err)
			}
		}
		if len(d.hours) > 0 {
			err := joiningMarks(ctx, tx, func() error {
				if _, err := tx.Exec(ctx, qApplyDeltas, tz, d.hours, d.xacts, d.lo, d.hi); err != nil {
					return err
				}
				// The chargeback breakdowns of the same days take the same rows.
				_, err := tx.Exec(ctx, qBreakdownsDeltas, tz, d.hours, d.xacts, d.lo, d.hi)
				return err
			})
			if err != nil {
				return fmt.Errorf("add new events to the aggregates in %s: %w", tz, err)
			}
		}
	}
	return nil
}

// insertMark is one consumed insert mark: the hour and transaction of new events, and how many.
type insertMark struct {
	hour time.Time
	xact int64
	rows int64
}

// readChanges consumes the change marks (consume_changes.sql): the hours changed otherwise
// than by inserts, and the insert marks.
func readChanges(ctx context.Context, tx pgx.Tx) (staleHours []time.Time, inserts []insertMark, err error) {
	rows, err := tx.Query(ctx, qConsumeChanges)
	if err != nil {
		return nil, nil, fmt.Errorf("consume event changes: %w", err)
	}
	var m insertMark
	var xact *int64
	_, err = pgx.ForEachRow(rows, []any{&m.hour, &xact, &m.rows}, func() error {
		if xact == nil {
			staleHours = append(staleHours, m.hour)
			return nil
		}
		m.xact = *xact
		inserts = append(inserts, m)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("consume event changes: %w", err)
	}
	return staleHours, inserts, nil
}

// deltas are the insert marks whose rows apply_deltas.sql adds to the built days, with the
// bounds of their transactions.
type deltas struct {
	hours  []time.Time
	xacts  []int64
	lo, hi int64
}

// splitInserts sorts the insert marks for the aggregates of loc: a day that would get
// maxDeltaRows new rows or more is rebuilt instead (its hours join staleHours), as adding costs
// about three times as much per row as rebuilding (every touched histogram is merged); the
// other marks are added as deltas.
func splitInserts(staleHours []time.Time, inserts []insertMark, loc *time.Location) ([]time.Time, deltas) {
	added := map[time.Time]int64{}
	for _, m := range inserts {
		added[dateOf(m.hour.In(loc))] += m.rows
	}
	stale := append([]time.Time(nil), staleHours...)
	seen := map[time.Time]bool{} // each hour once: thousands of commits share an hour
	var d deltas
	for _, m := range inserts {
		if added[dateOf(m.hour.In(loc))] >= maxDeltaRows || added[dateOf(m.hour.Add(time.Hour-time.Microsecond).In(loc))] >= maxDeltaRows {
			if !seen[m.hour] {
				stale, seen[m.hour] = append(stale, m.hour), true
			}
			continue
		}
		if len(d.xacts) == 0 || m.xact < d.lo {
			d.lo = m.xact
		}
		d.hi = max(d.hi, m.xact)
		d.hours, d.xacts = append(d.hours, m.hour), append(d.xacts, m.xact)
	}
	return stale, d
}

// joiningMarks runs fn, whose statements join event rows to change marks, with the settings
// that make those matches hash joins (mark_join_settings.sql).
func joiningMarks(ctx context.Context, tx pgx.Tx, fn func() error) error {
	if _, err := tx.Exec(ctx, qMarkJoinSettings); err != nil {
		return fmt.Errorf("tune the match of change marks: %w", err)
	}
	if err := fn(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, qMarkJoinReset); err != nil {
		return fmt.Errorf("tune the match of change marks: %w", err)
	}
	return nil
}

// maxDeltaRows is how many new rows a day takes as a delta; from this many on it is rebuilt. On
// the 10-million-event demo adding a whole day of 350,000 rows took 11.5 s against 3–4 s for its
// rebuild, and 5 minutes (about 1,200 rows) 0.3 s against the same 3–4 s.
const maxDeltaRows = 50_000

// maxRebuildDays bounds the days one rebuild statement covers, so that its hash aggregations
// stay within work_mem: a weekday of the demo needs about 150 MB, and three days in one
// statement spilled to disk and took twice as long per day.
const maxRebuildDays = 1

// currentDays reads current_days.sql: the days of [from, to) whose aggregates are current, as
// dateOf values.
func currentDays(ctx context.Context, q querier, tz string, from, to time.Time) (map[time.Time]bool, error) {
	out, err := daySet(q.Query(ctx, qCurrentDays, tz, dateOf(from), dateOf(to)))
	if err != nil {
		return nil, fmt.Errorf("list current days: %w", err)
	}
	return out, nil
}

// partitionSet tells which time ranges no longer have all their raw events.
type partitionSet struct {
	gone [][2]time.Time // dropped by retention, or being detached
}

func availability(ctx context.Context, tx querier) (*partitionSet, error) {
	ps := &partitionSet{}
	parts, err := pgstore.ListPartitions(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.DetachPending {
			ps.gone = append(ps.gone, [2]time.Time{p.Start, p.End})
		}
	}
	rows, err := tx.Query(ctx, qDroppedRanges)
	if err != nil {
		return nil, fmt.Errorf("list dropped partitions: %w", err)
	}
	var a, b time.Time
	_, err = pgx.ForEachRow(rows, []any{&a, &b}, func() error {
		ps.gone = append(ps.gone, [2]time.Time{a, b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list dropped partitions: %w", err)
	}
	return ps, nil
}

func (ps *partitionSet) complete(from, to time.Time) bool {
	for _, r := range ps.gone {
		if from.Before(r[1]) && to.After(r[0]) {
			return false
		}
	}
	return true
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readReport computes a period's report from the daily rollups: report_totals gives every total
// in one statement, then report_latency the histograms of the rows shown and of every user and
// org; each dimension shows its top topN and an "(other)" row.
func readReport(ctx context.Context, tx pgx.Tx, p report.Period, seriesStart, histStart time.Time, topN int) (*report.Report, error) {
	tz := p.Start.Location().String()
	groups, byDay, err := readTotals(ctx, tx, tz, histStart, p)
	if err != nil {
		return nil, err
	}
	rep := &report.Report{Period: p, Breakdowns: map[report.Dimension][]report.Row{}}
	for _, t := range groups["total"] {
		rep.Totals.Add(t.Totals)
	}
	// The rows shown: each dimension's top N (report.CompareRows).
	shown := map[report.Dimension][]report.Row{}
	var rest = map[report.Dimension][]report.Row{}
	dims, keys := []string{"total"}, []string{""}
	for _, d := range report.Dimensions {
		g := groups[string(d)]
		slices.SortFunc(g, report.CompareRows)
		n := min(topN, len(g))
		shown[d], rest[d] = g[:n], g[n:]
		for _, row := range g[:n] {
			dims, keys = append(dims, string(d)), append(keys, row.Key)
		}
	}
	// Every user and org, for the workbook's chargeback sheets (rep.All).
	hists, err := latency(ctx, tx, tz, p, dims, keys, []string{string(report.ByUser), string(report.ByOrg)})
	if err != nil {
		return nil, err
	}
	rep.Totals.Latency = hists["total\x00"]
	for _, d := range report.Dimensions {
		breakdown(rep, d, shown[d], rest[d], hists)
	}
	loc := p.Start.Location()
	for d := histStart; d.Before(seriesStart); d = nextDay(d, loc) {
		rep.History = append(rep.History, report.Day{Date: d, Totals: byDay[d.Format(time.DateOnly)]})
	}
	for d := seriesStart; d.Before(p.End); d = nextDay(d, loc) {
		rep.Series = append(rep.Series, report.Day{Date: d, Totals: byDay[d.Format(time.DateOnly)]})
	}
	return rep, nil
}

// readChargeback sets rep's chargeback breakdowns (report_breakdowns.sql): by endpoint and by
// each of tagKeys, each its top topN and "(other)" in rep.Breakdowns and every row in rep.All.
// What a dimension's rows lack against the period's total (days whose breakdowns were never
// built: their events were gone before the key was configured) is added to its row of events
// without a value, so that every breakdown sums exactly to the total.
func readChargeback(ctx context.Context, tx pgx.Tx, rep *report.Report, tagKeys []string, topN int) error {
	rep.Chargeback = report.ChargebackDimensions(tagKeys)
	names := make([]string, len(rep.Chargeback))
	for i, d := range rep.Chargeback {
		names[i] = string(d)
	}
	p := rep.Period
	rows, err := tx.Query(ctx, qReportBreakdowns, p.Start.Location().String(), dateOf(p.Start), dateOf(p.End), names)
	if err != nil {
		return fmt.Errorf("query chargeback breakdowns: %w", err)
	}
	groups := map[report.Dimension][]report.Row{}
	var (
		dim string
		r   report.Row
	)
	_, err = pgx.ForEachRow(rows, []any{&dim, &r.Key, &r.Requests, &r.Failures, &r.CacheHits, &r.Unpriced,
		&r.InputTokens, &r.OutputTokens, &r.CacheReadTokens, &r.CacheWriteTokens, &r.ReasoningTokens,
		&r.Cost, &r.LatencyCount, &r.LatencySumMS}, func() error {
		groups[report.Dimension(dim)] = append(groups[report.Dimension(dim)], r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("query chargeback breakdowns: %w", err)
	}
	if rep.All == nil {
		rep.All = map[report.Dimension][]report.Row{}
	}
	for _, d := range rep.Chargeback {
		g := fillNone(groups[d], rep.Totals)
		slices.SortFunc(g, report.CompareRows)
		n := min(topN, len(g))
		out := append([]report.Row(nil), g[:n]...)
		if rest := g[n:]; len(rest) > 0 {
			other := report.Row{Other: true, Members: len(rest)}
			for _, row := range rest {
				other.Add(row.Totals)
			}
			out = append(out, other)
		}
		rep.Breakdowns[d], rep.All[d] = out, g
	}
	return nil
}

// fillNone adds to the row without a value (key "") what rows lack against total, creating it
// if needed.
func fillNone(rows []report.Row, total report.Totals) []report.Row {
	var sum report.Totals
	for _, r := range rows {
		sum.Add(r.Totals)
	}
	gap := total.Less(sum)
	if gap.Requests == 0 && gap.Cost.IsZero() {
		return rows
	}
	for i := range rows {
		if rows[i].Key == "" {
			rows[i].Add(gap)
			return rows
		}
	}
	return append(rows, report.Row{Totals: gap})
}

// readTotals runs report_totals.sql: the rows of every dimension of period p by dimension, and
// the totals with their latency of every day from histStart to p's end by date.
func readTotals(ctx context.Context, tx pgx.Tx, tz string, histStart time.Time, p report.Period) (map[string][]report.Row, map[string]report.Totals, error) {
	rows, err := tx.Query(ctx, qReportTotals, tz, dateOf(histStart), dateOf(p.Start), dateOf(p.End))
	if err != nil {
		return nil, nil, fmt.Errorf("query report totals: %w", err)
	}
	groups := map[string][]report.Row{}
	byDay := map[string]report.Totals{}
	var (
		dim, key string
		r        report.Row
		buckets  []int32
		counts   []int64
	)
	_, err = pgx.ForEachRow(rows, []any{&dim, &key, &r.Requests, &r.Failures, &r.CacheHits, &r.Unpriced,
		&r.InputTokens, &r.OutputTokens, &r.CacheReadTokens, &r.CacheWriteTokens, &r.ReasoningTokens,
		&r.Cost, &r.LatencyCount, &r.LatencySumMS, &buckets, &counts}, func() error {
		row := r
		row.Key = key
		if dim == "day" {
			h, err := dense(buckets, counts)
			if err != nil {
				return err
			}
			row.Latency = h
			byDay[key] = row.Totals
			return nil
		}
		groups[dim] = append(groups[dim], row)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("query report totals: %w", err)
	}
	return groups, byDay, nil
}

// breakdown sets rep's rows of dimension d: the shown ones with their latency (hists), then
// one "(other)" row summing the rest; for users and orgs also every row (rep.All).
func breakdown(rep *report.Report, d report.Dimension, shown, rest []report.Row, hists map[string]report.Histogram) {
	out := make([]report.Row, 0, len(shown)+1)
	// Histograms are additive: the "other" row's is the total's minus the top N's.
	otherHist := append(report.Histogram(nil), rep.Totals.Latency...)
	for _, row := range shown {
		row.Latency = hists[string(d)+"\x00"+row.Key]
		otherHist = subtract(otherHist, row.Latency)
		out = append(out, row)
	}
	if len(rest) > 0 {
		other := report.Row{Other: true, Members: len(rest)}
		for _, row := range rest {
			other.Add(row.Totals)
		}
		other.Latency = trim(otherHist)
		out = append(out, other)
	}
	rep.Breakdowns[d] = out
	// Finance charges back per user and org: the workbook lists every one of them.
	if d != report.ByUser && d != report.ByOrg {
		return
	}
	all := append(append([]report.Row(nil), out[:len(shown)]...), rest...)
	for i := range all {
		all[i].Latency = hists[string(d)+"\x00"+all[i].Key]
	}
	if rep.All == nil {
		rep.All = map[report.Dimension][]report.Row{}
	}
	rep.All[d] = all
}

// readRange runs report_range.sql: the totals over the days of [from, to), and per dimension
// and value.
func readRange(ctx context.Context, tx pgx.Tx, tz string, from, to time.Time) (report.Totals, map[report.Dimension]map[string]report.Totals, error) {
	rows, err := tx.Query(ctx, qReportRange, tz, dateOf(from), dateOf(to))
	if err != nil {
		return report.Totals{}, nil, fmt.Errorf("query previous period: %w", err)
	}
	var (
		dim, key string
		r        report.Totals
		total    report.Totals
	)
	byKey := map[report.Dimension]map[string]report.Totals{}
	_, err = pgx.ForEachRow(rows, []any{&dim, &key, &r.Requests, &r.Failures, &r.CacheHits, &r.Unpriced,
		&r.InputTokens, &r.OutputTokens, &r.CacheReadTokens, &r.CacheWriteTokens, &r.ReasoningTokens,
		&r.Cost, &r.LatencyCount, &r.LatencySumMS}, func() error {
		t := r
		if dim == "total" {
			total.Add(t)
			return nil
		}
		d := report.Dimension(dim)
		if byKey[d] == nil {
			byKey[d] = map[string]report.Totals{}
		}
		byKey[d][key] = t
		return nil
	})
	if err != nil {
		return report.Totals{}, nil, fmt.Errorf("query previous period: %w", err)
	}
	return total, byKey, nil
}

// dataBegin marks on cmp where the data begin when that is after its start (a young
// installation), or that there are none: what the report's changes can be measured against
// (report.VersusOf).
func dataBegin(ctx context.Context, tx pgx.Tx, loc *time.Location, cmp *report.Comparison) error {
	begin, err := firstEvent(ctx, tx, loc, cmp.Start)
	if err != nil {
		return err
	}
	if begin.IsZero() {
		cmp.NoData = true
		return nil
	}
	if begin.After(cmp.Start) {
		cmp.DataBegin = begin
	}
	return nil
}

// firstEvent is where the data of time zone loc begin: the first event of the first day with
// events in the rollups, or that day's start once retention dropped its events; zero when there
// are no data at all. Its callers compare it only with instants at or after from, so when that
// first day ends by from, the day's start answers them alike: finding the first event reads the
// whole day through the BRIN index (300 ms of every daily run at 100 million events a month).
func firstEvent(ctx context.Context, tx pgx.Tx, loc *time.Location, from time.Time) (time.Time, error) {
	var first pgtype.Timestamptz
	var d pgtype.Date
	if err := tx.QueryRow(ctx, qDataBegin, loc.String()).Scan(&d); err != nil {
		return time.Time{}, fmt.Errorf("query where the data begin: %w", err)
	}
	if !d.Valid {
		return time.Time{}, nil
	}
	begin := report.StartOfDay(d.Time.Year(), d.Time.Month(), d.Time.Day(), loc)
	if !nextDay(begin, loc).After(from) {
		return begin, nil
	}
	if err := tx.QueryRow(ctx, qFirstEvent, begin, nextDay(begin, loc)).Scan(&first); err != nil {
		return time.Time{}, fmt.Errorf("query the first event: %w", err)
	}
	if first.Valid {
		begin = first.Time
	}
	return begin, nil
}

// unpricedModels names the models of the period's unpriced events with their token counts,
// read from the events; a model whose events retention dropped is named from the aggregates,
// with its event count and no token counts.
func unpricedModels(ctx context.Context, tx pgx.Tx, p report.Period, rep *report.Report) ([]report.UnpricedModel, error) {
	rows, err := tx.Query(ctx, qUnpricedModels, p.Start, p.End)
	if err != nil {
		return nil, fmt.Errorf("query unpriced models: %w", err)
	}
	var m report.UnpricedModel
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (report.UnpricedModel, error) {
		err := row.Scan(&m.Model, &m.Provider, &m.Events, &m.InputTokens, &m.OutputTokens)
		m.TokensKnown = true
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("query unpriced models: %w", err)
	}
	var found int64
	for _, u := range out {
		found += u.Events
	}
	if found < rep.Totals.Unpriced {
		seen := map[string]bool{}
		for _, u := range out {
			seen[u.Model] = true
		}
		for _, r := range rep.Breakdowns[report.ByModel] {
			if !r.Other && r.Unpriced > 0 && !seen[r.Key] {
				out = append(out, report.UnpricedModel{Model: r.Key, Events: r.Unpriced})
			}
		}
	}
	return out, nil
}

// latency runs report_latency.sql over the period's days for the (dim, key) pairs and every key
// of the dimensions every, and merges each key's days; the result is keyed by dim + "\x00" + key.
func latency(ctx context.Context, tx pgx.Tx, tz string, p report.Period, dims, keys, every []string) (map[string]report.Histogram, error) {
	rows, err := tx.Query(ctx, qReportLatency, tz, dateOf(p.Start), dateOf(p.End), dims, keys, every)
	if err != nil {
		return nil, fmt.Errorf("query report latency: %w", err)
	}
	defer rows.Close()
	if fds := rows.FieldDescriptions(); len(fds) != 4 || fds[2].Format != pgx.BinaryFormatCode || fds[3].Format != pgx.BinaryFormatCode {
		return nil, errors.New("query report latency: the histograms did not come in binary form")
	}
	// Keyed by pointer so that looking up a key read into buf allocates nothing.
	byKey := map[string]*report.Histogram{}
	var buf []byte
	for rows.Next() {
		v := rows.RawValues()
		buf = append(append(append(buf[:0], v[0]...), 0), v[1]...)
		h := byKey[string(buf)]
		if h == nil {
			h = new(report.Histogram)
			byKey[string(buf)] = h
		}
		if *h, err = addHistogram(*h, v[2], v[3]); err != nil {
			return nil, fmt.Errorf("query report latency %s %q: %w", v[0], v[1], err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query report latency: %w", err)
	}
	out := make(map[string]report.Histogram, len(byKey))
	for k, h := range byKey {
		out[k] = *h
	}
	return out, nil
}

// subtract removes o's counts from h (o ⊆ h).
func subtract(h, o report.Histogram) report.Histogram {
	for i, n := range o {
		if i < len(h) {
			h[i] -= n
		}
	}
	return h
}

// trim drops the empty top buckets, so that a histogram equals the one built by adding.
func trim(h report.Histogram) report.Histogram {
	for len(h) > 0 && h[len(h)-1] == 0 {
		h = h[:len(h)-1]
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

// dense turns the sparse histogram of grouped.sql into a report.Histogram.
func dense(buckets []int32, counts []int64) (report.Histogram, error) {
	if len(buckets) != len(counts) {
		return nil, fmt.Errorf("latency histogram: %d buckets, %d counts", len(buckets), len(counts))
	}
	if len(buckets) == 0 {
		return nil, nil
	}
	top := buckets[len(buckets)-1]
	if top < 0 || top > report.MaxHistogramBucket {
		return nil, fmt.Errorf("latency histogram: bucket %d out of range", top)
	}
	h := make(report.Histogram, top+1)
	for i, b := range buckets {
		if b < 0 {
			return nil, fmt.Errorf("latency histogram: bucket %d out of range", b)
		}
		h[b] += counts[i]
	}
	return h, nil
}

func scopeArgs(sc report.Scope) []any {
	return []any{sc.Service, sc.Model, sc.Provider, sc.OrgID, sc.UserID, sc.TagKey, sc.TagValue}
}

// ClaimAlert implements report.Store.
func (s *Store) ClaimAlert(ctx context.Context, e report.LedgerEntry) (bool, error) {
	status := e.Status
	if status == "" {
		status = report.StatusPending
	}
	var projected *string
	if e.Projected.Valid {
		p := e.Projected.Decimal.String()
		projected = &p
	}
	rows, err := s.pool.Query(ctx, qLedgerClaim, e.Budget, e.PeriodStart, e.Threshold, string(e.Kind),
		string(e.PeriodKind), e.PeriodEnd, string(e.Severity), e.Spent.String(), e.Amount.String(), projected, e.MessageID, status)
	if err != nil {
		return false, fmt.Errorf("claim alert %s: %w", e.Key(), err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("claim alert %s: %w", e.Key(), err)
	}
	return n == 1, nil
}

func scanLedger(rows pgx.Rows) ([]report.LedgerEntry, error) {
	var out []report.LedgerEntry
	for rows.Next() {
		var e report.LedgerEntry
		var kind, pkind, sev string
		if err := rows.Scan(&e.Budget, &e.PeriodStart, &e.Threshold, &kind, &pkind, &e.PeriodEnd, &sev,
			&e.Spent, &e.Amount, &e.Projected, &e.Status, &e.Attempts, &e.LastError, &e.MessageID,
			&e.CreatedAt, &e.LastAttemptAt, &e.SentAt); err != nil {
			rows.Close()
			return nil, err
		}
		e.Kind, e.PeriodKind, e.Severity = report.Kind(kind), report.PeriodKind(pkind), report.Severity(sev)
		out = append(out, e)
	}
	return out, rows.Err()
}

// StaleAlert implements report.Store.
func (s *Store) StaleAlert(ctx context.Context, b report.Breach) (bool, error) {
	tag, err := s.pool.Exec(ctx, qLedgerStale, b.Budget, b.PeriodStart, b.Threshold, string(b.Kind))
	if err != nil {
		return false, fmt.Errorf("record stale alert %s: %w", b.Key(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// PendingAlerts implements report.Store.
func (s *Store) PendingAlerts(ctx context.Context) ([]report.LedgerEntry, error) {
	return s.ledger(ctx, "list pending alerts", qLedgerPending)
}

// Alerts implements report.Store.
func (s *Store) Alerts(ctx context.Context, from, to time.Time) ([]report.LedgerEntry, error) {
	return s.ledger(ctx, "list alerts", qLedgerRange, from, to)
}

// ledger reads the ledger rows of query q (scanLedger); what names the read in its errors.
func (s *Store) ledger(ctx context.Context, what, q string, args ...any) ([]report.LedgerEntry, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := scanLedger(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// SendAlert implements report.Store (sendLocked): a resend after a crash carries the same
// Message-ID.
func (s *Store) SendAlert(ctx context.Context, b report.Breach, send func(context.Context, report.LedgerEntry) error) (bool, error) {
	var entry report.LedgerEntry
	return s.sendLocked(ctx, "alert "+b.Key(), []any{b.Budget, b.PeriodStart, b.Threshold, string(b.Kind)},
		qLedgerLock, qLedgerSent, qLedgerFailed,
		func(rows pgx.Rows) (bool, error) {
			entries, err := scanLedger(rows)
			if err != nil || len(entries) == 0 {
				return false, err
			}
			entry = entries[0]
			return true, nil
		},
		func(ctx context.Context) error { return send(ctx, entry) })
}

// sendOutcome is how a ledger row records the outcome of its send: the statement of a failure
// (its arguments, then the error message) and of a success.
type sendOutcome struct {
	what                 string // "alert …", "digest …", for errors
	failed, sent         string
	failedArgs, sentArgs []any
}

// recordSend records the outcome of a send in tx, which holds the row's lock, and commits. It
// records even when ctx was cancelled during the send; the error message is cut to 2,000 bytes.
// It reports whether the email went out.
func recordSend(ctx context.Context, tx pgx.Tx, sendErr error, o sendOutcome) (bool, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if sendErr != nil {
		msg := sendErr.Error()
		if len(msg) > 2000 {
			msg = msg[:2000]
		}
		args := append(append([]any(nil), o.failedArgs...), msg)
		if _, err := tx.Exec(rctx, o.failed, args...); err != nil {
			return false, errors.Join(sendErr, fmt.Errorf("record failed %s: %w", o.what, err))
		}
		if err := tx.Commit(rctx); err != nil {
			return false, errors.Join(sendErr, fmt.Errorf("record failed %s: %w", o.what, err))
		}
		return false, sendErr
	}
	if _, err := tx.Exec(rctx, o.sent, o.sentArgs...); err != nil {
		return true, fmt.Errorf("mark %s sent: %w", o.what, err)
	}
	if err := tx.Commit(rctx); err != nil {
		return true, fmt.Errorf("mark %s sent: %w", o.what, err)
	}
	return true, nil
}

// DropPartitionsBefore implements report.Store. For each monthly partition of events that ends
// at or before cutoff: rebuild the aggregates of its days and record the drop (one transaction),
// then have pgstore detach and drop it (pgstore.DropPartition, under LockTimeout). Rows are
// never DELETEd.
func (s *Store) DropPartitionsBefore(ctx context.Context, cutoff time.Time, loc *time.Location, dryRun bool) ([]string, error) {
	parts, err := pgstore.ListPartitions(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	var old []pgstore.Partition
	for _, p := range parts {
		if !p.End.After(cutoff) {
			old = append(old, p)
		}
	}
	// PostgreSQL allows one pending detach per table: finish an interrupted one first.
	sort.Slice(old, func(i, j int) bool {
		if old[i].DetachPending != old[j].DetachPending {
			return old[i].DetachPending
		}
		return old[i].Start.Before(old[j].Start)
	})
	var names []string
	for _, p := range old {
		names = append(names, p.Name)
	}
	if dryRun || len(old) == 0 {
		return names, nil
	}
	var dropped []string
	for _, p := range old {
		if err := s.dropPartition(ctx, p, loc); err != nil {
			return dropped, err
		}
		dropped = append(dropped, p.Name)
	}
	return dropped, nil
}

// dropPartition refreshes the aggregates of p's days and records the drop, then drops p.
func (s *Store) dropPartition(ctx context.Context, p pgstore.Partition, loc *time.Location) error {
	conn, unlock, err := s.lockAggregates(ctx)
	if err != nil {
		return err
	}
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		// Rebuild the days that touch the partition, in the report time zone. A partition
		// already detaching can no longer be read through events: its days keep the
		// aggregates built before (by reports, or by the run whose detach was interrupted).
		if !p.DetachPending {
			first := report.PeriodContaining(report.Daily, p.Start, loc).Start
			last := report.PeriodContaining(report.Daily, p.End.Add(-time.Nanosecond), loc).End
			if _, err := refresh(ctx, tx, loc, first, last, s.TagKeys); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, qDroppedRecord, p.Name, p.Start, p.End); err != nil {
			return fmt.Errorf("record dropped partition %s: %w", p.Name, err)
		}
		return nil
	})
	unlock()
	if err != nil {
		return fmt.Errorf("prepare drop of %s: %w", p.Name, err)
	}
	return pgstore.DropPartition(ctx, s.pool, p, s.LockTimeout)
}

// eventsChunk is how much of a period Events and RawEvents sort at once: a day, which
// PostgreSQL sorts in work_mem (events_settings.sql) up to several hundred thousand events and
// beyond that on disk. Shorter chunks do not read less: a day's events are spread over the day's
// pages (and late ones over later pages), so the BRIN scan of any part of a day reads most of it.
const eventsChunk = 24 * time.Hour

// Events calls emit for every event of [from, to), oldest first (ties by event id), reading the
// rows one at a time as PostgreSQL sends them: memory stays flat however many events the period
// holds. The period is read in chunks of eventsChunk, each sorted on its own (one sort of a
// month of events spills gigabytes to disk), all in one REPEATABLE READ snapshot, so the events
// are those of one instant. It stops at the first error of emit and returns it unwrapped.
func (s *Store) Events(ctx context.Context, from, to time.Time, emit func(report.Event) error) error {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return err
	}
	return unwrapEmit(s.readSnapshot(ctx, func(tx pgx.Tx) error { return readEvents(ctx, tx, distributed, from, to, emit) }))
}

// readEvents is Events in tx, which on Citus (distributed) has passed the marks barrier.
func readEvents(ctx context.Context, tx pgx.Tx, distributed bool, from, to time.Time, emit func(report.Event) error) error {
	return readEventsOf(ctx, tx, distributed, qEvents, qEventsCitus, nil, from, to, emit)
}

// readEventsOf lists the events of [from, to) by query plain (citus on Citus), whose parameters
// after the range (and the snapshot on Citus) are extra, in chunks of eventsChunk.
func readEventsOf(ctx context.Context, tx pgx.Tx, distributed bool, plain, citus string, extra []any, from, to time.Time, emit func(report.Event) error) error {
	query, args, err := eventsQuery(ctx, tx, distributed, plain, citus)
	if err != nil {
		return err
	}
	args = append(args, extra...)
	if err := eventsSettings(ctx, tx); err != nil {
		return err
	}
	for a := from; a.Before(to); a = a.Add(eventsChunk) {
		b := a.Add(eventsChunk)
		if b.After(to) {
			b = to
		}
		if err := eventsOf(ctx, tx, query, append([]any{a, b}, args...), emit); err != nil {
			return err
		}
	}
	return nil
}

// eventsQuery returns the query that lists events in tx (plain, or on Citus the one that keeps
// the rows of tx's snapshot on the coordinator, visibleIn3) and its arguments after the range.
func eventsQuery(ctx context.Context, tx pgx.Tx, distributed bool, plain, citus string) (string, []any, error) {
	if !distributed {
		return plain, nil, nil
	}
	var snap string
	if err := tx.QueryRow(ctx, qCurrentSnapshot).Scan(&snap); err != nil {
		return "", nil, fmt.Errorf("read the snapshot of the events: %w", err)
	}
	return citus, []any{snap}, nil
}

// eventsSettings tunes tx for listing a period's events in chunks (events_settings.sql,
// raw_read_settings.sql).
func eventsSettings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, qEventsSettings); err != nil {
		return fmt.Errorf("set events session: %w", err)
	}
	return rawReadSettings(ctx, tx)
}

// unwrapEmit returns an error of the caller's emit as it was.
func unwrapEmit(err error) error {
	if ee := (emitError{}); errors.As(err, &ee) {
		return ee.err
	}
	return err
}

// RawEvents calls emit for every event of [from, to) as PostgreSQL prints its values
// (events_csv.sql), oldest first, in chunks of eventsChunk, all in one REPEATABLE READ snapshot:
// the events CSV of a large period. emit's event holds the connection's buffers: it is valid
// only until emit returns. Leaving the printing of times and the CSV to Go halves what the
// database spends per event (the busier of the run's two cores: BenchmarkEventsCSV's figures in
// the README). It stops at the first error of emit and returns it unwrapped.
func (s *Store) RawEvents(ctx context.Context, from, to time.Time, emit func(*report.RawEvent) error) error {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return err
	}
	return unwrapEmit(s.readSnapshot(ctx, func(tx pgx.Tx) error { return readRawEvents(ctx, tx, distributed, from, to, emit) }))
}

// rawFormats reads events_csv's time in binary (an integer, formatted in Go in any zone) and
// every other column as the text PostgreSQL prints.
var rawFormats = func() pgx.QueryResultFormats {
	f := make(pgx.QueryResultFormats, 20)
	for i := range f {
		f[i] = pgx.TextFormatCode
	}
	f[0] = pgx.BinaryFormatCode
	return f
}()

// readRawEvents is RawEvents in tx, which on Citus (distributed) has passed the marks barrier.
func readRawEvents(ctx context.Context, tx pgx.Tx, distributed bool, from, to time.Time, emit func(*report.RawEvent) error) error {
	query, args, err := eventsQuery(ctx, tx, distributed, qEventsCSV, qEventsCSVCitus)
	if err != nil {
		return err
	}
	if err := eventsSettings(ctx, tx); err != nil {
		return err
	}
	var e report.RawEvent
	for a := from; a.Before(to); a = a.Add(eventsChunk) {
		b := a.Add(eventsChunk)
		if b.After(to) {
			b = to
		}
		rows, err := tx.Query(ctx, query, append([]any{rawFormats, a, b}, args...)...)
		if err != nil {
			return fmt.Errorf("query events csv: %w", err)
		}
		for rows.Next() {
			v := rows.RawValues()
			if len(v) != len(rawFormats) || len(v[0]) != 8 {
				rows.Close()
				return fmt.Errorf("read events csv: unexpected row of %d columns", len(v))
			}
			// timestamptz in binary: microseconds since 2000-01-01 UTC (occurred_at is never
			// ±infinity: the collector stores real instants).
			e.OccurredAt = pgEpoch.Add(time.Duration(int64(binary.BigEndian.Uint64(v[0]))) * time.Microsecond)
			e.EventID, e.Service, e.Model, e.Provider = v[1], v[2], v[3], v[4]
			e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens = v[5], v[6], v[7], v[8], v[9]
			e.Cost, e.CostSource, e.DurationMS, e.Success, e.Error = v[10], v[11], v[12], isTrue(v[13]), v[14]
			e.CacheHit, e.UserID, e.OrgID, e.Endpoint, e.Tags = isTrue(v[15]), v[16], v[17], v[18], v[19]
			if err := emit(&e); err != nil {
				rows.Close()
				return emitError{err}
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read events csv: %w", err)
		}
	}
	return nil
}

// pgEpoch is where PostgreSQL's binary timestamps count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// isTrue is a boolean in PostgreSQL's text format ("t" or "f").
func isTrue(v []byte) bool { return len(v) == 1 && v[0] == 't' }

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// emitError carries an error of the caller's emit out of the transaction, to be returned
// unwrapped.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }

func eventsOf(ctx context.Context, tx pgx.Tx, query string, args []any, emit func(report.Event) error) error {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var (
		e        report.Event
		duration *int64
	)
	dest := []any{&e.OccurredAt, &e.EventID, &e.Service, &e.Model, &e.Provider, &e.InputTokens, &e.OutputTokens,
		&e.CacheReadTokens, &e.CacheWriteTokens, &e.ReasoningTokens, &e.Cost, &e.CostSource, &duration, &e.Success,
		&e.Error, &e.CacheHit, &e.UserID, &e.OrgID, &e.Endpoint, &e.Tags}
	for rows.Next() {
		duration = nil
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		ev := e
		if duration != nil {
			d := *duration
			ev.DurationMS = &d
		}
		if err := emit(ev); err != nil {
			return emitError{err}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}

// SendDigest sends the digest of a period (kind and label) at most once: it records the digest,
// locks its row, and calls send while holding the lock unless the digest was already sent
// (force sends it again) or another run holds the row. It records the outcome: sent, with the
// message id and recipients, or the error. It returns false and no error when nothing was sent
// because of the record; a send error is returned wrapped.
func (s *Store) SendDigest(ctx context.Context, kind, period, messageID string, recipients []string, force bool, send func(context.Context) error) (bool, error) {
	key := kind + " " + period
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin digest %s: %w", key, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, qDigestClaim, kind, period, messageID); err != nil {
		return false, fmt.Errorf("record digest %s: %w", key, err)
	}
	var status string
	switch err := tx.QueryRow(ctx, qDigestLock, kind, period).Scan(&status); {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil // another run is sending it
	case err != nil:
		return false, fmt.Errorf("lock digest %s: %w", key, err)
	}
	if status == report.StatusSent && !force {
		return false, nil
	}
	return recordSend(ctx, tx, send(ctx), sendOutcome{what: "digest " + key,
		failed: qDigestFailed, failedArgs: []any{kind, period}, sent: qDigestSent, sentArgs: []any{kind, period, messageID, recipients}})
}

// DigestSent reports whether the digest of a period was sent.
func (s *Store) DigestSent(ctx context.Context, kind, period string) (bool, error) {
	var status string
	switch err := s.pool.QueryRow(ctx, qDigestStatus, kind, period).Scan(&status); {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("query digest %s %s: %w", kind, period, err)
	}
	return status == report.StatusSent, nil
}

// cacheSavings prices the period's cache reads (cache_reads.sql, by price level) with cs: models
// without a price save nothing that can be stated.
func cacheSavings(ctx context.Context, tx pgx.Tx, p report.Period, cs *report.CacheSaving) (decimal.NullDecimal, error) {
	loc := p.Start.Location()
	tiers := append([]int64{}, cs.Tiers...) // never NULL: cardinality(NULL) is NULL
	rows, err := tx.Query(ctx, qCacheReads, loc.String(), dateOf(p.Start), dateOf(p.End), tiers, p.Start, p.End)
	if err != nil {
		return decimal.NullDecimal{}, fmt.Errorf("query cache reads: %w", err)
	}
	var (
		day             time.Time
		model, provider string
		input, tokens   int64
	)
	sum := decimal.Zero
	_, err = pgx.ForEachRow(rows, []any{&day, &model, &provider, &input, &tokens}, func() error {
		y, m, d := day.Date()
		if s, ok := cs.Saved(model, provider, report.StartOfDay(y, m, d, loc), input, tokens); ok {
			sum = sum.Add(s)
		}
		return nil
	})
	if err != nil {
		return decimal.NullDecimal{}, fmt.Errorf("query cache reads: %w", err)
	}
	return decimal.NewNullDecimal(sum), nil
}
