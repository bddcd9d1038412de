package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ingestLoad is clients sending events to a running collector binary over HTTP as applications
// do: each client a small batch at a steady pace, so that the collector commits them in
// thousands of small transactions (a commit groups the requests that arrive together), not in a
// few large ones. The events occur at the load's own clock: from the instant given to newIngest,
// plus the time it has run so far.
type ingestLoad struct {
	addr     string
	cmd      *exec.Cmd
	client   *http.Client
	from     time.Time
	ran      time.Duration // how long the clients have sent so far
	clients  int
	batch    int
	every    time.Duration
	sent     []int // per client, the events acknowledged
	failures int
}

// ingestModels are the demo's models with their providers: every event is priced.
var ingestModels = [][2]string{{"claude-sonnet-4-5", "anthropic"}, {"claude-haiku-4-5", "anthropic"}, {"gpt-4o", "openai"}, {"gpt-4o-mini", "openai"}}

// newIngest starts the collector of db (`aispend serve`) for clients sending a batch of batch
// events every `every`; stop it with stop.
func (db *scaleDB) newIngest(b *testing.B, from time.Time, clients, batch int, every time.Duration) *ingestLoad {
	l := &ingestLoad{addr: freeAddr(b), from: from, clients: clients, batch: batch, every: every, sent: make([]int, clients)}
	l.cmd = exec.Command(db.bin, "serve")
	l.cmd.Env = db.env([]string{"AISPEND_LISTEN=" + l.addr, "AISPEND_INGEST_TOKENS=bench-token"})
	if err := l.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	waitHealthy(b, l.addr)
	l.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	return l
}

// run lets the clients send for d, then waits for their last requests.
func (l *ingestLoad) run(b *testing.B, d time.Duration) {
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	began, offset := time.Now(), l.ran
	var wg sync.WaitGroup
	var mu sync.Mutex
	for c := 0; c < l.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the clients over the interval, as independent applications are.
			tick := time.NewTicker(l.every)
			defer tick.Stop()
			select {
			case <-time.After(l.every * time.Duration(c) / time.Duration(l.clients)):
			case <-ctx.Done():
				return
			}
			for {
				at := l.from.Add(offset + time.Since(began))
				evs := make([]benchEvent, l.batch)
				for i := range evs {
					n := l.sent[c] + i
					m := ingestModels[(c+n)%len(ingestModels)]
					evs[i] = benchEvent{
						EventID: fmt.Sprintf("ingest-%d-%d", c, n), OccurredAt: at.UTC().Format(time.RFC3339Nano),
						Service: benchServices[(c+n)%len(benchServices)], Model: m[0], Provider: m[1],
						InputTokens: int64(800 + n%1000), OutputTokens: int64(150 + n%300), CacheRead: int64(n % 400),
						DurationMS: int64(300 + n%3000), UserID: fmt.Sprintf("user-%d", (c*97+n)%500),
						OrgID: fmt.Sprintf("org-%d", c%20), Endpoint: "/v1/chat",
					}
				}
				body, _ := json.Marshal(evs)
				req, _ := http.NewRequest("POST", "http://"+l.addr+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer bench-token")
				req.Header.Set("Content-Type", "application/json")
				resp, err := l.client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					mu.Lock()
					l.failures++
					mu.Unlock()
				} else {
					l.sent[c] += l.batch
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	l.ran += d
	if l.failures > 0 {
		b.Fatalf("ingest: %d requests failed", l.failures)
	}
}

// events is how many events the collector acknowledged.
func (l *ingestLoad) events() int {
	n := 0
	for _, s := range l.sent {
		n += s
	}
	return n
}

// commits is how many transactions the collector committed (its group-commit metric).
func (l *ingestLoad) commits() int {
	c, _, _ := commitStats(l.addr)
	return int(c)
}

func (l *ingestLoad) stop() {
	l.cmd.Process.Signal(syscall.SIGTERM)
	l.cmd.Wait()
}
