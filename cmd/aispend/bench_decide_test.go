package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// BenchmarkDecide is `make bench-decide`: 100,000 users (BENCH_ENTITIES) with spend this month
// in an enforced per-user envelope, two collector processes on a private durable PostgreSQL,
// and, while one of them ingests scenario (a) of `make bench` (batches of 100 from 16 clients),
// 64 clients asking POST /v1/decide over loopback for random users as fast as they can; then,
// ingest stopped, the same clients at a fixed 20,000 a second. It prints decisions/s, p50 and
// p99 of each, each collector's peak RSS, and the time from an event's commit (its 200) to a
// decision that counts it, on the collector that committed it and on the other one.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	dbURL, pool := benchDatabase(b)
	entities := 100_000
	if s := os.Getenv("BENCH_ENTITIES"); s != "" {
		entities, _ = strconv.Atoi(s)
	}
	// Every user has spent something this month, none near the envelope.
	store := pgstore.New(pool, pgstore.Options{})
	now := time.Now()
	var rows []collect.Row
	for i := 0; i < entities; i++ {
		r := eventtest.Row(fmt.Sprintf("seed-%d", i), now.Add(-time.Duration(i%3600)*time.Second))
		r.UserID = fmt.Sprintf("user-%d", i)
		eventtest.Price(&r, "12.5")
		rows = append(rows, r)
		if len(rows) == 5000 || i == entities-1 {
			if _, _, err := store.Insert(ctx, rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	store.Close()
	heap := deciderHeap(b, pool, entities)
	cfg := filepath.Join(b.TempDir(), "aispend.yaml")
	if err := os.WriteFile(cfg, []byte(benchConfigYAML+benchPerUserYAML+"decide: {refresh: 2s, max_staleness: 30s}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := binary(b)
	a, aPID := startBenchCollector(b, bin, dbURL, cfg)
	c2, bPID := startBenchCollector(b, bin, dbURL, cfg)
	for _, addr := range []string{a, c2} {
		waitDecideRead(b, addr)
	}

	fmt.Printf("\naispend decide benchmark — %d CPUs, %d users in an enforced per-user envelope, two collectors, loopback HTTP\n\n", runtimeCPUs(), entities)
	// Ingest scenario (a) on collector a while the decisions run.
	stopIngest := make(chan struct{})
	var ingested atomic.Int64
	var ingestWG sync.WaitGroup
	events := genEvents(800_000, "decide-bench")
	var next atomic.Int64
	for c := 0; c < 16; c++ {
		ingestWG.Add(1)
		go func() {
			defer ingestWG.Done()
			client := &http.Client{Timeout: 60 * time.Second}
			for {
				select {
				case <-stopIngest:
					return
				default:
				}
				i := int(next.Add(100)) - 100
				if i+100 > len(events) {
					return
				}
				body, _ := json.Marshal(events[i : i+100])
				if postOK(client, a, "/v1/events", body) {
					ingested.Add(100)
				}
			}
		}()
	}

	hc := &http.Client{Timeout: 10 * time.Second}
	ingestStart := time.Now()
	// As fast as 64 clients go, one request after the other on each connection: the most
	// decisions the collector gives while ingesting. Each request waits for the one before it,
	// so the latency of this load is the 64 clients' queue (Little's law: 64 / rate on average),
	// not the collector's answer at a given rate.
	most := decideLoad(b, a, entities, 0)
	close(stopIngest)
	ingestWG.Wait()
	ingestRate := float64(ingested.Load()) / time.Since(ingestStart).Seconds()
	// The load generator lets go of the ingest load's events (hundreds of MB) and collects them
	// now: its own collections share the two cores, and one marking them would land in the
	// paced load below.
	events = nil
	runtime.GC()
	// The collectors then finish what ingest left them: each merges the pending sums of its
	// last seconds (200–400 ms of the database at once) and reads the spend committed since its
	// last read (60–140 ms). Started at once, the paced load below had those in its first two
	// seconds: ingest's tail, which the load above already measures.
	time.Sleep(ingestSettle)
	// Then, ingest stopped, the same 64 clients at a fixed 20,000 decisions a second, the
	// target rate, each request sent when it is due whether or not the one before it has been
	// answered and timed from when it was due (as wrk2 measures): a stall delays and counts every
	// request behind it, where the closed loop above waits it out. While ingesting at once, the
	// collector does not keep up with 20,000 a second on these two cores (the loop above), and a
	// fixed rate above what it gives only measures the queue growing.
	paced := decideLoad(b, a, entities, 20_000)
	most.print("decisions, 64 clients, while ingesting")
	paced.print("decisions at 20,000/s, not ingesting")
	fmt.Printf("%-44s %10.0f events/s\n", "ingest (a) on the same collector meanwhile", ingestRate)
	fmt.Printf("%-44s %10.1f MB / %.1f MB\n", "peak RSS, deciding+ingesting / other", float64(peakRSS(aPID))/1024, float64(peakRSS(bPID))/1024)
	fmt.Printf("%-44s %10.1f MB\n", fmt.Sprintf("heap of the spend of %d entities", entities), heap.stateMB)
	fmt.Printf("%-44s %10.0f bytes, %.1f objects\n", "heap per estimate held (no event_id yet)", heap.holdBytes, heap.holdObjects)
	fmt.Printf("%-44s %10.1f MB allocated, %v\n", "a whole read of their spend (Refresh, alone)", heap.wholeMB, heap.whole.Round(time.Millisecond))
	fmt.Printf("%-44s %10.2f MB allocated, %v\n", "a read since, nothing new (Refresh, alone)", heap.sinceMB, heap.since.Round(10*time.Microsecond))

	// Commit to decision: a fresh user's event over the envelope, then ask until deny.
	var same, other []time.Duration
	for i := 0; i < 5; i++ {
		user := fmt.Sprintf("probe-%d", i)
		body := fmt.Appendf(nil, `{"event_id":"probe-%d","occurred_at":%q,"service":"QA_CHAT","model":"gpt-4o","provider":"openai","input_tokens":1,"output_tokens":1,"cost":"5000","user_id":%q}`,
			i, time.Now().UTC().Format(time.RFC3339Nano), user)
		if !postOK(hc, a, "/v1/events", body) {
			b.Fatal("probe event refused")
		}
		committed := time.Now()
		for _, s := range []struct {
			addr string
			into *[]time.Duration
		}{{a, &same}, {c2, &other}} {
			deadline := committed.Add(time.Minute)
			for askDecide(b, hc, s.addr, user).Decision != "deny" {
				if time.Now().After(deadline) {
					b.Fatal("the event was never counted")
				}
				time.Sleep(time.Millisecond)
			}
			*s.into = append(*s.into, time.Since(committed))
		}
	}
	sortDur := func(d []time.Duration) []time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d
	}
	same, other = sortDur(same), sortDur(other)
	fmt.Printf("%-44s median %v   max %v\n", "commit → decision, same collector", same[len(same)/2].Round(10*time.Microsecond), same[len(same)-1].Round(10*time.Microsecond))
	fmt.Printf("%-44s median %v   max %v   (decide.refresh 2s)\n\n", "commit → decision, other collector", other[len(other)/2].Round(time.Millisecond), other[len(other)-1].Round(time.Millisecond))
	b.ReportMetric(most.rate, "decisions/s")
	b.ReportMetric(float64(most.p99.Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(paced.p99.Microseconds())/1000, "p99_ms_at_20k/s")
}

// decideRun is what one load of decisions measured.
type decideRun struct {
	rate     float64 // decisions answered per second
	p50, p99 time.Duration
	failures int64
}

func (r decideRun) print(label string) {
	fmt.Printf("%-44s %10.0f /s   p50 %v   p99 %v   (%d failed)\n", label, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.failures)
}

// decideLoad asks the collector at addr 320,000 decisions from 64 clients, each on a raw
// keep-alive connection, for random users among entities. With rate 0 each client sends its
// next request when the last is answered. With a rate, request i of client c is due at
// (i*64 + c) / rate after the start, is sent then or, when the client is behind, at once, and
// its latency counts from when it was due: a slow answer makes the requests behind it late,
// and that lateness is measured, not hidden (the coordinated omission of a closed loop).
func decideLoad(b *testing.B, addr string, entities int, rate float64) decideRun {
	const clients, perClient = 64, 5000
	lat := make([]time.Duration, clients*perClient)
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A raw keep-alive connection per client, as wrk-like load generators use: Go's
			// http.Client would spend as much of this machine's two cores as the collector does.
			conn, err := newLoopClient(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			var body []byte
			for i := 0; i < perClient; i++ {
				body = fmt.Appendf(body[:0], `{"user_id":"user-%d","service":"QA_CHAT","model":"gpt-4o","input_tokens":800,"max_output_tokens":400}`, r.IntN(entities))
				t0 := time.Now()
				if rate > 0 {
					due := start.Add(time.Duration(float64(i*clients+c) / rate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
					t0 = due
				}
				if code, err := conn.post("/v1/decide", body); err != nil || code != 200 {
					failures.Add(1)
				}
				lat[c*perClient+i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return decideRun{rate: float64(len(lat)) / elapsed.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], failures: failures.Load()}
}

func startBenchCollector(b *testing.B, bin, dbURL, cfg string) (string, int) {
	b.Helper()
	addr := freeAddr(b)
	cmd := exec.Command(bin, "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=bench", "AISPEND_CONFIG="+cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	waitHealthy(b, addr)
	return addr, cmd.Process.Pid
}

// postOK posts body to the collector at addr and tells whether it answered 200.
func postOK(c *http.Client, addr, path string, body []byte) bool {
	req, _ := http.NewRequest("POST", "http://"+addr+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// askDecide asks the collector at addr about user.
// ingestSettle is the pause between the load while ingesting and the paced load.
const ingestSettle = 5 * time.Second

// waitDecideRead waits until the deciding collector on addr has read the spend once (its
// answers carry as_of), and returns how long that took from the call.
func waitDecideRead(b *testing.B, addr string) time.Duration {
	b.Helper()
	start := time.Now()
	for askDecide(b, http.DefaultClient, addr, "user-1").AsOf == nil {
		if time.Since(start) > 2*time.Minute {
			b.Fatal("the collector never read the spend")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func askDecide(b *testing.B, c *http.Client, addr, user string) collect.DecideAnswer {
	b.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/decide", bytes.NewReader(fmt.Appendf(nil, `{"user_id":%q,"model":"gpt-4o"}`, user)))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ans collect.DecideAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		b.Fatal(err)
	}
	return ans
}

// loopClient is one HTTP/1.1 keep-alive connection that posts with a bearer token and reads
// each answer's status and body; the load generator of BenchmarkDecide.
type loopClient struct {
	net.Conn
	addr string
	rd   *bufio.Reader
	req  []byte
}

func newLoopClient(addr string) (*loopClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &loopClient{Conn: c, addr: addr, rd: bufio.NewReader(c)}, nil
}

// post sends body to path and returns the answer's status code once its body is read. It
// allocates nothing and parses only what it needs: the load generator shares the machine's two
// cores with the collectors and PostgreSQL, so what it spends is taken from them.
func (c *loopClient) post(path string, body []byte) (int, error) {
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nAuthorization: Bearer bench\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.Write(c.req); err != nil {
		return 0, err
	}
	status, err := c.rd.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("status line %q", status)
	}
	code, err := strconv.Atoi(string(status[9:12]))
	if err != nil {
		return 0, fmt.Errorf("status line %q: %w", status, err)
	}
	length := -1
	for {
		line, err := c.rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, fmt.Errorf("content length %q: %w", v, err)
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("answer without Content-Length")
	}
	_, err = c.rd.Discard(length)
	return code, err
}

// deciderMemory is what deciderHeap measured.
type deciderMemory struct {
	stateMB, holdBytes, holdObjects float64
	wholeMB, sinceMB                float64 // allocated by a whole read, and by a read since
	whole, since                    time.Duration
}

// deciderHeap is the heap a Decider holds once it has read the spend of the entities of the
// benchmark's envelope from the database (the live heap after a collection, before and after);
// what its first read (whole) and a read since allocate and how long they take, alone on the
// machine; and then the heap
// each estimate it holds takes, over as many allowed decisions as the benchmark makes (their
// events never arrive: each is held for estimate_ttl).
func deciderHeap(b *testing.B, pool *pgxpool.Pool, entities int) deciderMemory {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := collect.NewDecider(collect.DecideConfig{
		Budgets: []report.Budget{{Name: "per-user", Period: report.Monthly, Amount: decimal.NewFromInt(1000),
			Per: report.Per{Field: report.PerUserID}, Enforce: &report.Enforce{DenyAt: 100}}},
		Source: pgquery.New(pool), Location: time.UTC, MaxStaleness: time.Hour, EstimateTTL: time.Minute,
	})
	// A whole read (the first), then a read of what was committed since (nothing here: the
	// cost of asking), each timed and its allocations counted.
	read := func() (mb float64, took time.Duration) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		began := time.Now()
		if err := d.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		took = time.Since(began)
		runtime.ReadMemStats(&m1)
		return float64(m1.TotalAlloc-m0.TotalAlloc) / (1 << 20), took
	}
	m := deciderMemory{}
	m.wholeMB, m.whole = read()
	runtime.GC()
	runtime.ReadMemStats(&after)
	m.sinceMB, m.since = read()
	if n := d.Decide(collect.DecideRequest{UserID: "user-1"}).Budgets; len(n) != 1 || n[0].Spent != "12.5" {
		b.Fatalf("the decider did not read the spend: %+v", n)
	}
	const holds = 320_000
	for i := range holds {
		est := decimal.New(int64(1200+i%100), -5) // an amount of its own, as tokens priced make
		if a := d.Decide(collect.DecideRequest{UserID: fmt.Sprintf("user-%d", i%entities), EstimatedCost: &est}); a.Decision != collect.Allow {
			b.Fatalf("decision %d: %+v", i, a)
		}
	}
	var held runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&held)
	runtime.KeepAlive(d)
	m.stateMB = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	m.holdBytes = float64(int64(held.HeapAlloc)-int64(after.HeapAlloc)) / holds
	m.holdObjects = float64(int64(held.HeapObjects)-int64(after.HeapObjects)) / holds
	return m
}
