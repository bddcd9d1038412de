package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/pgstore"
)

// BenchmarkIngest is `make bench`: it starts the collector binary on a private, durable
// PostgreSQL (fsync on), drives it over loopback HTTP and prints events/s, request latency and
// the collector's peak RSS for (a) batches of 100 events, (b) one event per request from 64
// concurrent clients and (c) the load of (a), twice as long, on a collector enforcing a budget per
// user (POST /v1/decide's state advanced by every commit and read back in the background). In
// the same run it COPYs the rows of (a) into a fresh copy of the table and prints the ratios. Run once: go test -run '^$' -bench Ingest -benchtime 1x ./cmd/aispend
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	dbURL, pool := benchDatabase(b)
	n := 200_000
	if s := os.Getenv("BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	bin := binary(b)
	// Events are priced as in production: KRW reporting, the four models of the load at list prices.
	benchConfig = filepath.Join(b.TempDir(), "aispend.yaml")
	if err := os.WriteFile(benchConfig, []byte(benchConfigYAML), 0o600); err != nil {
		b.Fatal(err)
	}

	fmt.Printf("\naispend ingest benchmark — %d CPUs, %s, loopback HTTP, load generator on the same machine\n\n", runtimeCPUs(), benchEngine())
	fmt.Printf("%-34s %12s %10s %10s %12s\n", "scenario", "events/s", "p50", "p99", "peak RSS")

	events := genEvents(n, "a")
	a := drive(b, bin, dbURL, events, 100, 16, nil)
	a.print("(a) batches of 100, 16 clients")

	copyRate, pgxRate := copyBaseline(b, ctx, pool, events)
	fmt.Printf("%-34s %12.0f\n", "    COPY of the same rows", copyRate)
	fmt.Printf("%-34s %12.0f\n", "    same with pgx.CopyFrom", pgxRate)
	// The ratio is taken against the faster of the two, so that it never flatters the collector.
	copyRate = max(copyRate, pgxRate)
	fmt.Printf("%-34s %12.2f\n", "    ratio (a) / COPY", a.rate/copyRate)

	single := genEvents(n/4, "b")
	bres := drive(b, bin, dbURL, single, 1, 64, nil)
	bres.print("(b) 1 event/request, 64 clients")

	// (a) again on a collector that enforces a budget per user: every commit also advances the
	// spend its decisions are answered from (Decider.Committed), and it reads that spend in the
	// background.
	if err := os.WriteFile(benchConfig, []byte(benchConfigYAML+benchPerUserYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	// The load starts once the collector has read the spend it decides from: that first read
	// happens once per start, and here it reads every event of (a) and (b), which no batch run
	// has aggregated yet; it is timed apart. Twice the events of (a), so that the reads of what
	// was committed since (every decide.refresh, 2 s) happen during the load more than once.
	var firstRead time.Duration
	enforced := drive(b, bin, dbURL, genEvents(2*n, "c"), 100, 16, func(addr string) { firstRead = waitDecideRead(b, addr) })
	enforced.print("(c) 2 × (a), enforcing per user")
	fmt.Printf("%-34s %12s\n", "    first read of the spend", firstRead.Round(time.Millisecond))
	fmt.Printf("%-34s %12.2f\n", "    ratio (c) / COPY", enforced.rate/copyRate)
	fmt.Printf("%-34s %12.2f\n", "    ratio (c) / (a)", enforced.rate/a.rate)
	fmt.Println()

	b.ReportMetric(a.rate, "a_events/s")
	b.ReportMetric(a.rate/copyRate, "a/copy")
	b.ReportMetric(bres.rate, "b_events/s")
	b.ReportMetric(float64(bres.p99.Microseconds())/1000, "b_p99_ms")
	b.ReportMetric(enforced.rate, "c_events/s")
}

// benchDatabase starts a private, durable PostgreSQL with the schema, both stopped when the
// benchmark ends, and returns its URL and a pool on it. With BENCH_CITUS=1 the database is on a
// private Citus coordinator and two workers instead (events distributed by migration 18), for
// the figures of both engines in the README.
func benchDatabase(b *testing.B) (string, *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	var url string
	if benchCitus() {
		var settings []string
		if v := os.Getenv("BENCH_CITUS_SETTINGS"); v != "" {
			settings = strings.Split(v, ";")
		}
		c, err := pglocal.StartCitus(ctx, pglocal.Options{Settings: settings}, 2)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Stop() })
		if url, err = c.CreateDatabase(ctx, "aispend_bench", ""); err != nil {
			b.Fatal(err)
		}
	} else {
		cl, err := pglocal.Start(ctx, pglocal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Stop() })
		url = cl.URL
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool, 90); err != nil {
		b.Fatal(err)
	}
	return url, pool
}

// benchCitus tells whether the benchmarks run on Citus (BENCH_CITUS=1), and benchEngine names
// the engine for their output.
func benchCitus() bool { return os.Getenv("BENCH_CITUS") == "1" }

func benchEngine() string {
	if benchCitus() {
		return "Citus 13 (a coordinator and two workers on this machine, fsync on)"
	}
	return "PostgreSQL with fsync on"
}

func runtimeCPUs() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

type benchEvent struct {
	EventID      string `json:"event_id"`
	OccurredAt   string `json:"occurred_at"`
	Service      string `json:"service"`
	Model        string `json:"model"`
	Provider     string `json:"provider"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CacheRead    int64  `json:"cache_read_tokens"`
	DurationMS   int64  `json:"duration_ms"`
	UserID       string `json:"user_id"`
	OrgID        string `json:"org_id"`
	Endpoint     string `json:"endpoint"`
}

var benchConfig string

const benchConfigYAML = `currency: KRW
timezone: Asia/Seoul
fx: {USD: 1300}
prices:
  - {model: claude-sonnet-4-5, provider: anthropic, from: 2025-09-29, input: 3, cache_read: 0.30, cache_write: 3.75, output: 15}
  - {model: claude-haiku-4-5, provider: anthropic, from: 2025-10-01, input: 1, cache_read: 0.10, cache_write: 1.25, output: 5}
  - {model: gpt-4o, from: 2024-10-02, input: 2.50, cache_read: 1.25, output: 10}
  - {model: gpt-4o-mini, from: 2024-07-18, input: 0.15, cache_read: 0.075, output: 0.60}
`

// benchPerUserYAML is the budget of the benchmarks that decide: a monthly envelope per user,
// enforced, degrading gpt-4o at 80 %.
const benchPerUserYAML = `budgets:
  - name: per-user
    period: monthly
    amount: 1000
    per: user_id
    enforce: {degrade_at: 80, degrade_to: {gpt-4o: gpt-4o-mini}, deny_at: 100}
`

var benchModels = []string{"claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini"}
var benchServices = []string{"MATCH_EXPLANATION", "QA_CHAT", "DOC_SUMMARY", "AGENT_TASKS"}

func genEvents(n int, prefix string) []benchEvent {
	base := time.Now().UTC().Add(-time.Hour)
	out := make([]benchEvent, n)
	for i := range out {
		out[i] = benchEvent{
			EventID:    fmt.Sprintf("%s-0193b5c2-7d4e-7c1a-9f00-%012d", prefix, i),
			OccurredAt: base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			Service:    benchServices[i%4], Model: benchModels[i%4], Provider: "anthropic",
			InputTokens: int64(500 + i%1000), OutputTokens: int64(100 + i%300), CacheRead: int64(i % 400),
			DurationMS: int64(200 + i%3000), UserID: fmt.Sprintf("user-%d", i%5000), OrgID: fmt.Sprintf("org-%d", i%40),
			Endpoint: "/v1/chat",
		}
	}
	return out
}

type driveResult struct {
	rate                   float64
	p50, p99               time.Duration
	rssKB                  int
	commits                float64
	commitRows, commitSecs float64
}

func (r driveResult) print(name string) {
	fmt.Printf("%-34s %12.0f %10s %10s %9.1f MB   %6.0f commits, %5.0f rows and %5.1f ms each\n", name, r.rate,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), float64(r.rssKB)/1024,
		r.commits, r.commitRows/r.commits, 1000*r.commitSecs/r.commits)
}

// commitStats reads the collector's group-commit metrics: commits, rows and seconds in all.
func commitStats(addr string) (commits, rows, secs float64) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "aispend_commit_rows_count":
			commits = v
		case "aispend_commit_rows_sum":
			rows = v
		case "aispend_commit_seconds_sum":
			secs = v
		}
	}
	return
}

// drive starts a fresh collector process, waits for ready (if not nil) to return, sends the events in requests of batch events from
// the given number of concurrent clients, and stops it.
func drive(b *testing.B, bin, dbURL string, events []benchEvent, batch, clients int, ready func(addr string)) driveResult {
	b.Helper()
	addr := freeAddr(b)
	cmd := exec.Command(bin, "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=bench", "AISPEND_CONFIG="+benchConfig)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	waitHealthy(b, addr)
	if ready != nil {
		ready(addr)
	}

	var bodies [][]byte
	for i := 0; i < len(events); i += batch {
		j := min(i+batch, len(events))
		var v any = events[i:j]
		if batch == 1 {
			v = events[i]
		}
		body, _ := json.Marshal(v)
		bodies = append(bodies, body)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	lat := make([]time.Duration, len(bodies))
	next := make(chan int, len(bodies))
	for i := range bodies {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer bench")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Do(func() { b.Errorf("request: %v", err) })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := driveResult{rate: float64(len(events)) / elapsed.Seconds(), rssKB: peakRSS(cmd.Process.Pid)}
	res.commits, res.commitRows, res.commitSecs = commitStats(addr)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.p50, res.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return res
}

func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}

// copyBaseline validates and prices the same events as the collector does, then COPYs them
// into a fresh copy of the events table (same partitions and indexes) in one stream: once with
// the collector's binary encoder, once with pgx's generic CopyFrom.
func copyBaseline(b *testing.B, ctx context.Context, pool *pgxpool.Pool, events []benchEvent) (ours, generic float64) {
	b.Helper()
	cfg, err := loadConfig(benchConfig, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	prices, err := cfg.priceTable()
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]collect.Row, len(events))
	for i, e := range events {
		raw, _ := json.Marshal(e)
		var ev collect.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		row, ps := ev.Validate(i, collect.Rules{Now: time.Now(), FutureSkew: 5 * time.Minute, Prices: prices})
		if ps != nil {
			b.Fatalf("%+v", ps)
		}
		if !row.Cost.Valid {
			b.Fatalf("event %s not priced: the benchmark measures priced events", row.EventID)
		}
		rows[i] = row
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE events_copy (LIKE events INCLUDING ALL) PARTITION BY RANGE (occurred_at)`); err != nil {
		b.Fatal(err)
	}
	var parts []string
	r, err := pool.Query(ctx, `SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass`)
	if err != nil {
		b.Fatal(err)
	}
	parts, err = pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for i, bound := range parts {
		if _, err := pool.Exec(ctx, fmt.Sprintf("CREATE TABLE events_copy_%d PARTITION OF events_copy %s", i, bound)); err != nil {
			b.Fatal(err)
		}
	}
	if benchCitus() { // distributed as events is, so that the baseline is the same engine's COPY
		if _, err := pool.Exec(ctx, `SELECT create_distributed_table('events_copy', 'event_id', colocate_with => 'events')`); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	if err := pgstore.CopyInto(ctx, pool, "events_copy", rows); err != nil {
		b.Fatal(err)
	}
	ours = float64(len(rows)) / time.Since(start).Seconds()

	// The same rows again, through pgx's generic CopyFrom, into a second fresh copy.
	if _, err := pool.Exec(ctx, `TRUNCATE events_copy`); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"events_copy"}, benchColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.EventID, r.OccurredAt, r.Service, r.Model, r.Provider, r.InputTokens, r.OutputTokens,
			r.CacheReadTokens, r.CacheWriteTokens, r.ReasoningTokens, r.Cost, r.CostSource, r.SentCost, nullText(r.SentCurrency),
			nullText(r.PriceVersion), r.FXRate, nullInt(r.DurationMS), r.Success, nullText(r.Error), r.CacheHit,
			nullText(r.UserID), nullText(r.OrgID), nullText(r.Endpoint), nullJSON(r.Tags)}, nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	return ours, float64(len(rows)) / time.Since(start).Seconds()
}

var benchColumns = []string{
	"event_id", "occurred_at", "service", "model", "provider",
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
	"cost", "cost_source", "sent_cost", "sent_currency", "price_version", "fx_rate",
	"duration_ms", "success", "error", "cache_hit", "user_id", "org_id", "endpoint", "tags",
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(v int64) any {
	if v < 0 {
		return nil
	}
	return v
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
