package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/pgstore"
)

// BenchmarkScale is `make bench-scale`: it loads SCALE_EVENTS demo events (default 10,000,000
// over the 30 days up to 30 November 2026 22:00 in Seoul, the demo's configuration and budgets)
// into a private durable PostgreSQL in three parts, as they would arrive, and runs the batch
// commands of the real binary as of the moment each would run (AISPEND_NOW), printing each
// one's time and peak RSS beside a raw-SQL baseline measured in the same run on the same data.
// SCALE_SMALL_EVENTS (default 1,000,000) loads a second database the same way for the size
// comparison of the daily run. Last, clients send events through the collector binary over
// HTTP (SCALE_INGEST_CLIENTS, default 32, each a batch of SCALE_INGEST_BATCH, default 10, every
// SCALE_INGEST_EVERY_MS, default 500), and an uncached GET /v1/budgets and a cron budget check
// are timed after 1, 10 and 60 s of that. SCALE_TAG_KEYS sets reports.tag_keys. Run once:
// go test -run '^$' -bench Scale -benchtime 1x -timeout 90m ./cmd/aispend
func BenchmarkScale(b *testing.B) {
	ctx := context.Background()
	n := envInt("SCALE_EVENTS", 10_000_000)
	small := envInt("SCALE_SMALL_EVENTS", 1_000_000)
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		b.Fatal(err)
	}
	at := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, seoul)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	end := at("2026-11-30 22:00")
	create := scaleServer(b)
	fmt.Printf("\naispend scale benchmark — %d CPUs, %s; times are the median of 3 runs unless noted\n", runtimeCPUs(), benchEngine())
	big := newScaleDB(b, create, "scale_big", n, end, seoul)
	sm := newScaleDB(b, create, "scale_small", small, end, seoul)
	month := [2]time.Time{at("2026-11-01 00:00"), at("2026-12-01 00:00")}
	// Without the events export: no CSV and no Events sheet (at 1 million events a day holds
	// 33,000, which the workbook would otherwise list).
	noCSV := []string{"AISPEND_REPORTS_EVENTS_EXPORT=false", "AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS=0"}
	row := func(name string, r cmdResult, target string) {
		fmt.Printf("%-66s %10s %9dM   %s\n", name, r.d.Round(time.Millisecond), r.rssKB/1024, target)
	}
	header := func() {
		fmt.Printf("\n%-66s %10s %10s   %s\n", "step", "time", "peak RSS", "target (baseline measured in this run)")
	}

	// Part 1: the month up to 26 November; the first run aggregates all of it.
	for _, db := range []*scaleDB{big, sm} {
		db.load(b, time.Time{}, at("2026-11-26 00:00"))
		db.now = at("2026-11-26 01:00")
		db.run(b, 1, noCSV, "run", "--date", "2026-11-25")
		// Part 2: Thursday 26 November arrives; the nightly run the morning after aggregates it.
		db.load(b, at("2026-11-26 00:00"), at("2026-11-27 00:00"))
		db.now = at("2026-11-27 01:00")
	}
	header()
	row("nightly daily 2026-11-26 (Thursday; aggregates its day) (1 run)", big.run(b, 1, noCSV, "run", "--date", "2026-11-26"), "")
	daily := big.run(b, 3, noCSV, "run", "--date", "2026-11-26")
	row("daily 2026-11-26 again, nothing changed", daily, "≤ 2s")
	row("daily 2026-11-26 with the events export (1 run)", big.run(b, 1, nil, "run", "--date", "2026-11-26"), "≤ 10s")
	late := insertLate(b, big.pool, seoul, 1000, "2026-11-20", "2026-11-23", "2026-11-24")
	lateRun := big.run(b, 1, noCSV, "run", "--date", "2026-11-26")
	checkCounted(b, big.pool, late)
	row("daily 2026-11-26 after 1,000 late events for 3 earlier days (1 run)", lateRun, "≤ 2s; late events counted")
	sm.run(b, 1, noCSV, "run", "--date", "2026-11-26")
	smallDaily := sm.run(b, 3, noCSV, "run", "--date", "2026-11-26")
	row(fmt.Sprintf("daily 2026-11-26 again at %d events, nothing changed", small), smallDaily, "")
	fmt.Printf("%-66s %10.2f %10s   %s\n", fmt.Sprintf("  ratio of the two at %d / %d events", n, small), daily.d.Seconds()/smallDaily.d.Seconds(), "", "≤ 1.5")

	// Part 3: the rest of the month, to Monday 30 November 21:15; then the budget checks of the
	// last 45 minutes, each after the 5 minutes of events since the one before (as a scheduler
	// checking every 5 minutes sees them): each check, run or uncached GET reads the aggregates
	// and only those 5 minutes from the events.
	checksFrom := at("2026-11-30 21:15")
	big.load(b, at("2026-11-27 00:00"), checksFrom)
	big.now = checksFrom
	groupBy := timeSQL(b, big.pool, 3, `SELECT date_trunc('day', occurred_at AT TIME ZONE 'Asia/Seoul'), service, sum(cost)
		FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2`, month[0], month[1])
	sumCost := timeSQL(b, big.pool, 3, `SELECT sum(cost) FROM events WHERE occurred_at >= $1 AND occurred_at < $2`, month[0], month[1])
	fmt.Printf("%-66s %10s\n", "baseline: raw GROUP BY day, service over the month", groupBy.Round(time.Millisecond))
	fmt.Printf("%-66s %10s\n", "baseline: raw sum(cost) over the month", sumCost.Round(time.Millisecond))
	row("nightly daily 2026-11-29 at 21:15 (aggregates 27 Nov–30 Nov 21:15) (1 run)", big.run(b, 1, noCSV, "run", "--date", "2026-11-29"), "")
	slots := big.collect(b, checksFrom, end)
	var check, sched, get []cmdResult
	for i, t := 0, checksFrom; t.Before(end); i++ {
		next := t.Add(5 * time.Minute)
		big.insert(b, slots, t, next)
		big.now = next
		switch i % 3 {
		case 0:
			check = append(check, big.run(b, 1, nil, "run", "--alerts-only"))
		case 1:
			sched = append(sched, big.scheduledCheck(b, 1))
		default:
			get = append(get, big.budgetsGET(b, 1))
		}
		t = next
	}
	big.now = end
	tenth := fmt.Sprintf("≤ %s (0.1 × raw sum)", (sumCost / 10).Round(time.Millisecond))
	row("budget check 21:20–22:00, 5 minutes of events since the last one", median(check), tenth)
	row("  the same check as the scheduler runs it (in its process)", median(sched), tenth)
	row("uncached GET /v1/budgets, 5 minutes of events not yet aggregated", median(get), tenth)
	row("weekly 2026-W48 without the events export", big.run(b, 3, noCSV, "run", "--period", "weekly", "--date", "2026-11-23"), "")
	row("monthly 2026-11 (to date) without the events export (1st run: adds the last 5 minutes)", big.run(b, 1, noCSV, "run", "--period", "monthly", "--date", "2026-11-01"), "")
	monthly := big.run(b, 3, noCSV, "run", "--period", "monthly", "--date", "2026-11-01")
	row("monthly 2026-11 without the events export", monthly, fmt.Sprintf("≤ %s (0.5 × raw GROUP BY)", (groupBy/2).Round(time.Millisecond)))
	csvOnly := big.run(b, 1, []string{"AISPEND_REPORTS_FOCUS_EXPORT=false"}, "run", "--period", "monthly", "--date", "2026-11-01")
	row("monthly 2026-11 with the events CSV, without FOCUS (1 run)", csvOnly, "")
	withCSV := big.run(b, 1, nil, "run", "--period", "monthly", "--date", "2026-11-01")
	row("monthly 2026-11 with the events CSV and FOCUS (1 run)", withCSV, "")
	var rows int64
	if err := big.pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE occurred_at >= $1 AND occurred_at < $2", month[0], month[1]).Scan(&rows); err != nil {
		b.Fatal(err)
	}
	csvTime, focusTime := csvOnly.d-monthly.d, withCSV.d-csvOnly.d
	fmt.Printf("%-66s %10s %10s   %s\n", "  events CSV of the month", fmt.Sprintf("%.0f/s", float64(rows)/csvTime.Seconds()), "",
		fmt.Sprintf("≥ 200,000 rows/s (%d rows in %s)", rows, csvTime.Round(time.Millisecond)))
	fmt.Printf("%-66s %10s %10s   %s\n", "  FOCUS export of the month", fmt.Sprintf("%.0f/s", float64(rows)/focusTime.Seconds()), "",
		fmt.Sprintf("events grouped into FOCUS rows (%d events in %s)", rows, focusTime.Round(time.Millisecond)))
	tag := timeSQL(b, big.pool, 3, `SELECT sum(cost) FROM events WHERE occurred_at >= $1 AND occurred_at < $2 AND tags ->> 'team' = 'search'`, month[0], month[1])
	fmt.Printf("%-66s %10s\n", "a monthly budget scoped on a tag: one raw scan of the month", tag.Round(time.Millisecond))

	// Part 4: the monthly runs above consumed every change mark; now clients keep sending
	// through the collector binary over HTTP, each a small batch at a steady pace, so the
	// collector commits thousands of small transactions. After 1, 10 and 60 s of that ingest
	// (the clients pausing meanwhile), an uncached GET /v1/budgets and a cron check read the
	// aggregates plus the rows of every pending commit.
	clients, batch := envInt("SCALE_INGEST_CLIENTS", 32), envInt("SCALE_INGEST_BATCH", 10)
	every := time.Duration(envInt("SCALE_INGEST_EVERY_MS", 500)) * time.Millisecond
	load := big.newIngest(b, end, clients, batch, every)
	defer load.stop()
	fmt.Printf("\nclients sending through the collector: %d clients, a batch of %d events every %s each\n", clients, batch, every)
	header()
	for _, at := range []time.Duration{0, time.Second, 10 * time.Second, time.Minute} {
		load.run(b, at-load.ran)
		big.now = end.Add(at)
		var marks int
		if err := big.pool.QueryRow(ctx, "SELECT count(*) FROM event_changes").Scan(&marks); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("after %s of ingest: %d events pending in %d commits (%d change marks)\n", at, load.events(), load.commits(), marks)
		row("  uncached GET /v1/budgets", big.budgetsGET(b, 3), "≤ 100ms")
		row("  budget check (cron aispend run --alerts-only)", big.run(b, 3, nil, "run", "--alerts-only"), tenth)
	}
	holdForInspection(big)
}

// holdForInspection keeps the cluster running, when SCALE_HOLD names a file, until that file
// is removed: the state after the last point can then be examined (EXPLAIN, pprof) by hand.
func holdForInspection(db *scaleDB) {
	hold := os.Getenv("SCALE_HOLD")
	if hold == "" {
		return
	}
	fmt.Printf("holding: DATABASE_URL=%s AISPEND_CONFIG=%s AISPEND_NOW=%s; remove %s to end\n", db.url, db.config, db.now.Format(time.RFC3339), hold)
	for {
		if _, err := os.Stat(hold); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

func envInt(name string, def int) int {
	if s := os.Getenv(name); s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			return v
		}
	}
	return def
}

// scaleDB is one loaded database with the demo configuration.
type scaleDB struct {
	name, url, config, out string
	now, end               time.Time
	loc                    *time.Location
	events                 int
	pool                   *pgxpool.Pool
	bin                    string
}

// scaleServer starts the benchmark's private server (PostgreSQL, or Citus with BENCH_CITUS=1),
// stopped when the benchmark ends, and returns how to create a database on it (its URL).
func scaleServer(b *testing.B) func(name string) (string, error) {
	ctx := context.Background()
	if benchCitus() {
		c, err := pglocal.StartCitus(ctx, pglocal.Options{}, 2)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Stop() })
		return func(name string) (string, error) { return c.CreateDatabase(ctx, name, "") }
	}
	cl, err := pglocal.Start(ctx, pglocal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Stop() })
	return func(name string) (string, error) {
		admin, err := pgx.Connect(ctx, cl.URL)
		if err != nil {
			return "", err
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return "", err
		}
		return pglocal.WithDatabase(cl.URL, name), nil // the same server, another database
	}
}

func newScaleDB(b *testing.B, create func(name string) (string, error), name string, events int, end time.Time, loc *time.Location) *scaleDB {
	ctx := context.Background()
	u, err := create(name)
	if err != nil {
		b.Fatal(err)
	}
	db := &scaleDB{name: name, url: u, bin: binary(b), events: events, end: end, loc: loc}
	if db.pool, err = pgxpool.New(ctx, db.url); err != nil {
		b.Fatal(err)
	}
	if err := pgstore.Migrate(ctx, db.pool, 400); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	db.config, db.out = filepath.Join(dir, "aispend.yaml"), filepath.Join(dir, "out")
	if err := writeConfig(db.config, demoConfig(events)); err != nil {
		b.Fatal(err)
	}
	return db
}

// generator is the demo's event generator for the database's size.
func (db *scaleDB) generator(b *testing.B) *demodata.Generator {
	cfg, err := loadConfig(db.config, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	prices, err := cfg.priceTable()
	if err != nil {
		b.Fatal(err)
	}
	gen, err := demodata.New(demodata.Options{Seed: 1, Events: db.events, End: db.end, Location: db.loc, Prices: prices})
	if err != nil {
		b.Fatal(err)
	}
	return gen
}

// load stores the demo events of [from, to) (zero: unbounded) as the collector would.
func (db *scaleDB) load(b *testing.B, from, to time.Time) {
	ctx := context.Background()
	gen := db.generator(b)
	st := pgstore.New(db.pool, pgstore.Options{})
	began := time.Now()
	f := &windowInserter{dst: st, from: from, to: to}
	_, err := demodata.Load(ctx, gen, f, 0, nil)
	st.Close()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("loaded %d events into %s in %s\n", f.n, db.name, time.Since(began).Round(time.Second))
}

// collect returns the demo events of [from, to), in the order the generator makes them.
func (db *scaleDB) collect(b *testing.B, from, to time.Time) []collect.Row {
	gen := db.generator(b)
	keep := &rowCollector{}
	if _, err := demodata.Load(context.Background(), gen, &windowInserter{dst: keep, from: from, to: to}, 0, nil); err != nil {
		b.Fatal(err)
	}
	return keep.rows
}

// insert stores the rows of [from, to) as the collector would, without the VACUUM that load
// runs: the newest blocks are as a running collector leaves them.
func (db *scaleDB) insert(b *testing.B, rows []collect.Row, from, to time.Time) {
	var in []collect.Row
	for _, r := range rows {
		if !r.OccurredAt.Before(from) && r.OccurredAt.Before(to) {
			in = append(in, r)
		}
	}
	st := pgstore.New(db.pool, pgstore.Options{})
	defer st.Close()
	if _, _, err := st.Insert(context.Background(), in); err != nil {
		b.Fatal(err)
	}
}

// rowCollector keeps the rows it is given.
type rowCollector struct{ rows []collect.Row }

func (c *rowCollector) Insert(_ context.Context, rows []collect.Row) (int, int, error) {
	c.rows = append(c.rows, rows...)
	return len(rows), 0, nil
}

// median is the median time and the highest peak RSS of single runs.
func median(rs []cmdResult) cmdResult {
	ds := make([]time.Duration, len(rs))
	var rss int64
	for i, r := range rs {
		ds[i], rss = r.d, max(rss, r.rssKB)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return cmdResult{d: ds[len(ds)/2], rssKB: rss}
}

// windowInserter stores only the rows of [from, to).
type windowInserter struct {
	dst      demodata.Inserter
	from, to time.Time
	n        int
}

func (w *windowInserter) Insert(ctx context.Context, rows []collect.Row) (int, int, error) {
	keep := rows[:0:0]
	for _, r := range rows {
		if (w.from.IsZero() || !r.OccurredAt.Before(w.from)) && (w.to.IsZero() || r.OccurredAt.Before(w.to)) {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		return 0, 0, nil
	}
	w.n += len(keep)
	return w.dst.Insert(ctx, keep)
}

type cmdResult struct {
	d     time.Duration
	rssKB int64
}

func (db *scaleDB) env(extra []string) []string {
	return append(append(os.Environ(), "DATABASE_URL="+db.url, "AISPEND_CONFIG="+db.config, "AISPEND_OUTPUT="+db.out,
		"AISPEND_NOW="+db.now.Format(time.RFC3339), "AISPEND_SMTP_HOST=", "AISPEND_REPORTS_TAG_KEYS="+scaleTagKeys()), extra...)
}

// scaleTagKeys is SCALE_TAG_KEYS: the reports.tag_keys of every run (comma-separated; the demo's
// events carry env, feature and region); default none, the endpoint breakdown only.
func scaleTagKeys() string { return os.Getenv("SCALE_TAG_KEYS") }

// run runs the binary `times` times and returns the median time and the highest peak RSS.
func (db *scaleDB) run(b *testing.B, times int, extraEnv []string, args ...string) cmdResult {
	var ds []time.Duration
	var rss int64
	for i := 0; i < times; i++ {
		cmd := exec.Command(db.bin, args...)
		cmd.Env = db.env(extraEnv)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		began := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stop := watchRSS(cmd.Process.Pid)
		err := cmd.Wait()
		d := time.Since(began)
		if err != nil {
			b.Fatalf("aispend %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
		}
		ds = append(ds, d)
		rss = max(rss, stop())
		if os.Getenv("SCALE_VERBOSE") != "" { // what each run did, to tell a slow run's cause
			fmt.Printf("    %s %s: %s\n%s", strings.Join(args, " "), d.Round(time.Millisecond), "", out.Bytes())
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return cmdResult{d: ds[len(ds)/2], rssKB: rss}
}

// budgetsGET starts the collector `times` times and times its first GET /v1/budgets, which no
// cache has answered yet.
func (db *scaleDB) budgetsGET(b *testing.B, times int) cmdResult {
	var ds []time.Duration
	var rss int64
	for i := 0; i < times; i++ {
		addr := freeAddr(b)
		cmd := exec.Command(db.bin, "serve")
		cmd.Env = db.env([]string{"AISPEND_LISTEN=" + addr, "AISPEND_INGEST_TOKENS=bench-token"})
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		waitHealthy(b, addr)
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/budgets", nil)
		req.Header.Set("Authorization", "Bearer bench-token")
		began := time.Now()
		resp, err := http.DefaultClient.Do(req)
		d := time.Since(began)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET /v1/budgets: %s", resp.Status)
		}
		ds = append(ds, d)
		rss = max(rss, int64(peakRSS(cmd.Process.Pid)))
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return cmdResult{d: ds[len(ds)/2], rssKB: rss}
}

// watchRSS polls the peak RSS (VmHWM, KB) of a running process until stop is called. (The
// rusage of a child started by Go counts the parent's memory it shared before exec.)
func watchRSS(pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := int64(peakRSS(pid)); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); return peak.Load() }
}

// scheduledCheck times the scheduler's budget_check job in this process, as `aispend schedule`
// runs it on each tick: without the start of a process, the configuration and the migrations
// that a cron `aispend run --alerts-only` pays each time. Peak RSS is not measured (0).
func (db *scaleDB) scheduledCheck(b *testing.B, times int) cmdResult {
	env := map[string]string{"DATABASE_URL": db.url, "AISPEND_OUTPUT": db.out, "AISPEND_NOW": db.now.Format(time.RFC3339),
		"AISPEND_REPORTS_TAG_KEYS": scaleTagKeys()}
	cfg, err := loadConfig(db.config, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	job := jobFuncs(cfg, db.pool, slog.New(slog.DiscardHandler))["budget-check"]
	var ds []time.Duration
	for i := 0; i < times; i++ {
		began := time.Now()
		if err := job(context.Background()); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(began))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return cmdResult{d: ds[len(ds)/2]}
}

func timeSQL(b *testing.B, pool *pgxpool.Pool, times int, sql string, args ...any) time.Duration {
	var ds []time.Duration
	for i := 0; i < times; i++ {
		began := time.Now()
		rows, err := pool.Query(context.Background(), sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(began))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// insertLate stores n priced events spread over the given days (noon to 14:00 in loc) as the
// collector would, and returns those days.
func insertLate(b *testing.B, pool *pgxpool.Pool, loc *time.Location, n int, days ...string) []time.Time {
	var rows []collect.Row
	var out []time.Time
	for _, s := range days {
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, d)
	}
	for i := 0; i < n; i++ {
		d := out[i%len(out)]
		rows = append(rows, collect.Row{
			EventID: fmt.Sprintf("late-%d", i), OccurredAt: d.Add(12*time.Hour + time.Duration(i)*time.Second),
			Service: "LATE_BATCH", Model: "claude-sonnet-4-5", Provider: "anthropic", InputTokens: 1000, OutputTokens: 200,
			Cost: decimal.NewNullDecimal(decimal.RequireFromString("12.3456")), CostSource: "local", Success: true,
			DurationMS: 900,
		})
	}
	st := pgstore.New(pool, pgstore.Options{})
	defer st.Close()
	if _, _, err := st.Insert(context.Background(), rows); err != nil {
		b.Fatal(err)
	}
	return out
}

// checkCounted fails unless the aggregates of each day equal the raw events of that day.
func checkCounted(b *testing.B, pool *pgxpool.Pool, days []time.Time) {
	for _, d := range days {
		var agg, raw string
		err := pool.QueryRow(context.Background(), `SELECT
			(SELECT cost::text FROM daily_rollups WHERE tz = 'Asia/Seoul' AND day = $3::date AND dim = 'total'),
			(SELECT sum(cost)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2)`,
			d, d.AddDate(0, 0, 1), d.Format(time.DateOnly)).Scan(&agg, &raw)
		if err != nil {
			b.Fatal(err)
		}
		if agg != raw {
			b.Fatalf("%s: aggregates %s, events %s: late events not counted", d.Format(time.DateOnly), agg, raw)
		}
	}
}
