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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures a burst of 200 concurrent uploads of about 1 MiB each keeps the collector process
// under 200 MB of resident memory (its peak, from /proc), that every request is answered 200
// or 503 with Retry-After, and that the database holds exactly the events answered 200: every
// acknowledged event, none of a refused request.
func TestServeBurstOfLargeUploads(t *testing.T) {
	const uploads, perBody = 200, 1000
	dbURL := pgtest.URL(t)
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=tok", "AISPEND_CONFIG=/dev/null")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitHealthy(t, addr)

	// 1,000 events of about 1 KB each: a body just under the 1 MiB limit.
	filler := strings.Repeat("x", 840)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	bodies := make([][]byte, uploads)
	for u := range bodies {
		var b bytes.Buffer
		b.WriteString("[")
		for i := 0; i < perBody; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"event_id":"burst-%03d-%04d","occurred_at":%q,"service":"QA_CHAT","model":"claude-sonnet-4-5","input_tokens":500,"output_tokens":300,"success":false,"error":%q}`,
				u, i, at, filler)
		}
		b.WriteString("]")
		if b.Len() > 1<<20 || b.Len() < 1<<20-64<<10 {
			t.Fatalf("body of %d bytes, want just under 1 MiB", b.Len())
		}
		bodies[u] = b.Bytes()
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
		ok, busy int
		problems []string
	)
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: uploads}}
	for u := 0; u < uploads; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", bytes.NewReader(bodies[u]))
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("Content-Type", "application/json")
			<-start
			resp, err := client.Do(req)
			if err != nil {
				mu.Lock()
				problems = append(problems, err.Error())
				mu.Unlock()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var rep struct{ Accepted, Duplicates int }
			mu.Lock()
			defer mu.Unlock()
			switch {
			case resp.StatusCode == 200 && json.Unmarshal(b, &rep) == nil && rep.Accepted == perBody:
				ok++
				accepted += rep.Accepted
			case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
				busy++
			default:
				problems = append(problems, fmt.Sprintf("%d %s", resp.StatusCode, b))
			}
		}()
	}
	close(start)
	wg.Wait()
	rss := peakRSS(cmd.Process.Pid)
	t.Logf("%d uploads: %d answered 200, %d answered 503; collector peak RSS %d kB", uploads, ok, busy, rss)
	if len(problems) > 0 {
		t.Fatalf("%d uploads failed otherwise, e.g. %s\n%s", len(problems), problems[0], stderr.String())
	}
	if ok == 0 {
		t.Fatal("no upload was accepted")
	}
	if rss <= 0 || rss*1024 >= 200e6 {
		t.Fatalf("collector peak RSS %d kB, want under 200 MB", rss)
	}
	pool := pgtest.Connect(t, dbURL)
	var stored int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != accepted {
		t.Fatalf("%d events stored, %d acknowledged", stored, accepted)
	}
}
