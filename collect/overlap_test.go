package collect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures concurrent requests that carry overlapping events in different orders (client retries
// racing their originals) are all answered 200, never 503 for a deadlock between two group
// commits (on Citus, after retrying the 503s of a full queue, as a client does), and that every event is stored once and counted once: accepted in exactly one answer,
// a duplicate in every other.
func TestOverlappingRequestsConcurrently(t *testing.T) {
	f := newFixture(t, collect.Config{})
	srv := httptest.NewServer(f.h)
	defer srv.Close()

	type key struct{ id, at string }
	var keys []key
	for i := 0; i < 500; i++ {
		for _, at := range []string{"2026-10-15T11:00:00Z", "2026-10-15T11:00:00.000001Z"} {
			keys = append(keys, key{fmt.Sprintf("ov-%03d", i), at}) // same id, two instants: two events
		}
	}
	const clients, rounds, batch = 16, 10, 400
	var (
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		accepted, duplicates int
		sent                 = map[key]bool{}
		failures             []string
		retried              int // 503s retried (Citus only)
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 9))
			for r := 0; r < rounds; r++ {
				// A random window of keys in a random order: requests overlap, in different orders.
				start := rng.IntN(len(keys) - batch)
				chunk := append([]key(nil), keys[start:start+batch]...)
				rng.Shuffle(len(chunk), func(i, j int) { chunk[i], chunk[j] = chunk[j], chunk[i] })
				var body []string
				for _, k := range chunk {
					body = append(body, fmt.Sprintf(`{"event_id":%q,"occurred_at":%q,"service":"QA_CHAT","model":"claude-sonnet-4-5","input_tokens":10,"output_tokens":5}`, k.id, k.at))
				}
				var (
					resp *http.Response
					b    bytes.Buffer
				)
				for try := 0; ; try++ {
					req, _ := http.NewRequest("POST", srv.URL+"/v1/events", strings.NewReader("["+strings.Join(body, ",")+"]"))
					req.Header.Set("Authorization", "Bearer secret-1")
					req.Header.Set("Content-Type", "application/json")
					var err error
					resp, err = http.DefaultClient.Do(req)
					if err != nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
						return
					}
					b.Reset()
					b.ReadFrom(resp.Body)
					resp.Body.Close()
					// On Citus every overlapping batch takes the INSERT … ON CONFLICT path through
					// the coordinator and may wait for a distributed deadlock to be detected: on a
					// loaded machine a request may find the queue full for its 2 s and be answered
					// 503 with Retry-After, nothing stored, which a client retries. On PostgreSQL
					// any 503 fails the test.
					if !pgtest.Citus() || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || try == 10 {
						break
					}
					mu.Lock()
					retried++
					mu.Unlock()
					time.Sleep(time.Second) // as Retry-After asks
				}
				var rep struct{ Accepted, Duplicates int }
				mu.Lock()
				if resp.StatusCode != 200 || json.Unmarshal(b.Bytes(), &rep) != nil {
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, b.String()))
				} else {
					accepted += rep.Accepted
					duplicates += rep.Duplicates
					for _, k := range chunk {
						sent[k] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests answered 503 and retried", retried)
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, e.g. %s", len(failures), clients*rounds, failures[0])
	}
	if accepted != len(sent) || accepted+duplicates != clients*rounds*batch {
		t.Fatalf("accepted %d, duplicates %d; want %d accepted (distinct events sent) and %d in all",
			accepted, duplicates, len(sent), clients*rounds*batch)
	}
	var stored, distinct int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT (event_id, occurred_at)) FROM events").Scan(&stored, &distinct); err != nil {
		t.Fatal(err)
	}
	if stored != len(sent) || distinct != len(sent) {
		t.Fatalf("stored %d rows (%d distinct), want %d", stored, distinct, len(sent))
	}
}
