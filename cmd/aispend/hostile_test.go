package main

// Hostile bodies against the real collector binary: the worst body we can construct for each
// endpoint, from 32 clients at once, must keep the process's peak resident memory (VmHWM) under
// 200 MB. The assertion is on memory, not time.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

const hostileClients = 32

// protoField is one length-delimited protobuf field.
func protoField(num protowire.Number, inner []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, inner)
}

// otlpBomb is an ExportTraceServiceRequest of about size bytes: one span holding empty
// attributes (spans false), or empty spans (spans true). pdata allocates about 100 times the
// body for either.
func otlpBomb(size int, spans bool) []byte {
	var list []byte
	if spans {
		for len(list) < size {
			list = append(list, protoField(2, nil)...) // ScopeSpans.spans
		}
		return protoField(1, protoField(2, list))
	}
	for len(list) < size {
		list = append(list, protoField(9, nil)...) // Span.attributes
	}
	return protoField(1, protoField(2, protoField(2, list)))
}

// otlpDense is the largest export the collector decodes (just under 16 × max_body_bytes
// estimated, 250 bytes per attribute and value): one GenAI span with n small integer
// attributes besides its usage.
func otlpDense(n int, id byte) []byte {
	kv := func(key string, value []byte) []byte {
		b := protowire.AppendTag(nil, 1, protowire.BytesType)
		b = protowire.AppendString(b, key)
		return append(b, protoField(2, value)...)
	}
	intValue := protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 1)
	var span []byte
	span = append(span, protoField(1, bytes.Repeat([]byte{id}, 16))...)
	span = append(span, protoField(2, bytes.Repeat([]byte{id}, 8))...)
	end := uint64(time.Now().Add(-time.Hour).UnixNano())
	span = protowire.AppendFixed64(protowire.AppendTag(span, 7, protowire.Fixed64Type), end-1e9)
	span = protowire.AppendFixed64(protowire.AppendTag(span, 8, protowire.Fixed64Type), end)
	for _, a := range [][2]string{{"gen_ai.usage.input_tokens", ""}, {"gen_ai.usage.output_tokens", ""}} {
		span = append(span, protoField(9, kv(a[0], intValue))...)
	}
	span = append(span, protoField(9, kv("gen_ai.request.model", protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "claude-sonnet-4-5")))...)
	span = append(span, protoField(9, kv("aispend.service", protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "QA_CHAT")))...)
	for i := 0; i < n; i++ {
		span = append(span, protoField(9, kv("k", intValue))...)
	}
	return protoField(1, protoField(2, protoField(2, span)))
}

// otlpJSONBomb is an OTLP/JSON export of about size bytes: one span with empty attributes.
func otlpJSONBomb(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{}`)
	for b.Len() < size-16 {
		b.WriteString(`,{}`)
	}
	b.WriteString(`]}]}]}]}`)
	return b.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// maxEventsBody is 1,000 events of about 1 KB each: a body just under the 1 MiB limit.
func maxEventsBody(prefix string) []byte {
	filler := strings.Repeat("x", 840)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var b bytes.Buffer
	b.WriteString("[")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"event_id":"%s-%04d","occurred_at":%q,"service":"QA_CHAT","model":"claude-sonnet-4-5","input_tokens":500,"output_tokens":300,"success":false,"error":%q}`,
			prefix, i, at, filler)
	}
	b.WriteString("]")
	return b.Bytes()
}

type hostileReq struct {
	path, ctype, encoding string
	body                  func(client, round int) []byte
}

// fire sends rounds requests from each of hostileClients clients at once and counts the answers
// by status.
func fire(t *testing.T, addr string, rounds int, r hostileReq) map[int]int {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: hostileClients}}
	defer hc.CloseIdleConnections()
	for c := 0; c < hostileClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < rounds; round++ {
				req, _ := http.NewRequest("POST", "http://"+addr+r.path, bytes.NewReader(r.body(c, round)))
				req.Header.Set("Authorization", "Bearer tok")
				req.Header.Set("Content-Type", r.ctype)
				if r.encoding != "" {
					req.Header.Set("Content-Encoding", r.encoding)
				}
				status := 0 // a transport error
				if resp, err := hc.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return statuses
}

// slowBodies opens hostileClients connections that each declare a body of the size limit, send
// all of it but its last byte and then stall: the most a slow client can make the collector
// hold. Closing the returned function's result ends them.
func slowBodies(t *testing.T, addr, path, ctype string) (stop func()) {
	t.Helper()
	const limit = 1 << 20
	var conns []net.Conn
	for c := 0; c < hostileClients; c++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, ctype, limit)
		go conn.Write(bytes.Repeat([]byte(" "), limit-1))
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}
}

// Ensures the collector's peak resident memory stays under 200 MB while 32 clients send the
// worst body we can construct for each endpoint: OTLP attribute and span bombs (protobuf, gzip,
// JSON), gzip bombs, /v1/events bodies of the maximum size, and slow bodies that stall just
// before their end while the other clients send maximum bodies.
func TestServeMemoryUnderHostileBodies(t *testing.T) {
	const limitKB = 200e6 / 1024.0
	bomb, spanBomb := otlpBomb(1040000, false), otlpBomb(1040000, true)
	bombGz := gzipBytes(bomb)
	jsonBomb := otlpJSONBomb(1040000)
	zeros := gzipBytes(make([]byte, 256<<20)) // a gzip bomb: 256 MiB of zeros in about 250 KB
	events := func(c, round int) []byte { return maxEventsBody(fmt.Sprintf("hostile-%02d-%d", c, round)) }
	same := func(b []byte) func(int, int) []byte { return func(int, int) []byte { return b } }

	scenarios := []struct {
		name   string
		reqs   []hostileReq
		rounds int
		slow   string // a path to hold slow bodies on while the requests run
	}{
		{name: "otlp attribute bomb", rounds: 3, reqs: []hostileReq{{"/v1/traces", "application/x-protobuf", "", same(bomb)}}},
		{name: "otlp attribute bomb gzip", rounds: 3, reqs: []hostileReq{{"/v1/traces", "application/x-protobuf", "gzip", same(bombGz)}}},
		{name: "otlp span bomb", rounds: 3, reqs: []hostileReq{{"/v1/traces", "application/x-protobuf", "", same(spanBomb)}}},
		{name: "otlp largest decodable export", rounds: 3, reqs: []hostileReq{{"/v1/traces", "application/x-protobuf", "",
			func(c, round int) []byte { return otlpDense(28000, byte(1+c+hostileClients*round)) }}}},
		{name: "otlp json attribute bomb", rounds: 3, reqs: []hostileReq{{"/v1/traces", "application/json", "", same(jsonBomb)}}},
		{name: "gzip bombs", rounds: 2, reqs: []hostileReq{
			{"/v1/traces", "application/x-protobuf", "gzip", same(zeros)},
			{"/v1/events", "application/json", "gzip", same(zeros)},
		}},
		{name: "events of the maximum size", rounds: 3, reqs: []hostileReq{{"/v1/events", "application/json", "", events}}},
		{name: "slow bodies and maximum events", rounds: 3, slow: "/v1/events",
			reqs: []hostileReq{{"/v1/events", "application/json", "", events}}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			addr, pid := startCollectorPID(t, pgtest.URL(t))
			if sc.slow != "" {
				stop := slowBodies(t, addr, sc.slow, "application/json")
				defer stop()
				time.Sleep(500 * time.Millisecond) // let the slow bodies arrive
			}
			for _, r := range sc.reqs {
				st := fire(t, addr, sc.rounds, r)
				t.Logf("%s %s: answers %v", r.path, r.encoding, st)
				if st[0] > 0 || st[500] > 0 {
					t.Errorf("%s: %d transport errors, %d answers 500", r.path, st[0], st[500])
				}
			}
			rss := peakRSS(pid)
			t.Logf("%s: collector peak RSS %d kB", sc.name, rss)
			if rss <= 0 || float64(rss) >= limitKB {
				t.Errorf("%s: collector peak RSS %d kB, want under 200 MB", sc.name, rss)
			}
		})
	}
}

// Ensures the HTTP server's own log lines (accept errors at the file limit) are in the
// configured format: with --log-format json every line of the collector's log is JSON.
func TestServeAcceptErrorsLoggedAsJSON(t *testing.T) {
	dbURL := pgtest.URL(t)
	addr := freeAddr(t)
	// A file limit below the connection limit, so that accept fails with "too many open files".
	cmd := exec.Command("sh", "-c", `ulimit -n 40 && exec "$0" serve --log-format json`, binary(t))
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=tok", "AISPEND_CONFIG=/dev/null")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	waitHealthy(t, addr)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 60; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			conns = append(conns, c)
		}
	}
	testkit.Eventually(t, 30*time.Second, "an accept error in the log", func() bool { return strings.Contains(stderr.String(), "too many open files") })
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line not JSON: %s", line)
		}
	}
}
