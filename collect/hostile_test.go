package collect_test

// Slow and oversized bodies, encodings, connections and answers outside the routes, over a real
// net/http server (deadlines and connection resets need a connection).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect"
)

// serve runs h on a real server whose listener is collect.Listen's.
func serve(t *testing.T, h http.Handler, maxConns int, unauthIdle time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnContext: collect.ConnContext, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(collect.Listen(ln, maxConns, unauthIdle))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// rawRequest writes a request's head on a new connection.
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func postEvents(t *testing.T, addr, id string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", strings.NewReader(ev(id)))
	req.Header.Set("Authorization", "Bearer secret-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Ensures clients sending their bodies slowly (a declared length never reached, a chunked body
// that never ends) hold no admission slot: with more of them than slots, other clients'
// events and traces are stored, and each slow client is answered 408 at its body deadline.
func TestSlowBodiesHoldNoSlot(t *testing.T) {
	f := newFixture(t, collect.Config{MaxInFlight: 2, BodyTimeout: 2 * time.Second})
	addr := serve(t, f.h, 100, time.Minute)
	var slow []net.Conn
	for i := 0; i < 8; i++ {
		head := "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-1\r\nContent-Type: application/json\r\n"
		if i%2 == 0 {
			head += "Content-Length: 100000\r\n\r\n{"
		} else {
			head += "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
		}
		slow = append(slow, rawRequest(t, addr, head))
	}
	time.Sleep(200 * time.Millisecond) // the slow requests are in their handlers
	for i := 0; i < 4; i++ {
		if code := postEvents(t, addr, fmt.Sprintf("fast-%d", i)); code != 200 {
			t.Fatalf("event request beside slow bodies answered %d, want 200", code)
		}
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/traces", bytes.NewReader(genAIExport(t, 9)))
	req.Header.Set("Authorization", "Bearer secret-1")
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("trace export beside slow bodies answered %d, want 200", resp.StatusCode)
	}
	for i, c := range slow {
		resp, body := readAnswer(t, c)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "body not received within 2s") {
			t.Errorf("slow client %d: %d %s, want 408", i, resp.StatusCode, body)
		}
	}
	if n := f.rows(t); n != 5 {
		t.Fatalf("%d events stored, want 5", n)
	}
}

// genAIExport is a protobuf export of one GenAI span.
func genAIExport(t *testing.T, id byte) []byte {
	return protoBody(t, exportRequest(t, map[string]any{"service.name": "QA_CHAT"}, testSpan{trace: id, id: id,
		start: now.Add(-time.Minute), end: now.Add(-time.Minute + time.Second),
		attrs: map[string]any{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5, "gen_ai.request.model": "claude-sonnet-4-5"}}))
}

// Ensures a body over the limit, sent in full by a client that reads its answer only after
// sending, gets the 413 rather than a connection reset, with a declared length and chunked.
func TestOversizedBodyAnsweredNotReset(t *testing.T) {
	f := newFixture(t, collect.Config{MaxBodyBytes: 64 << 10})
	addr := serve(t, f.h, 100, time.Minute)
	const size = 6 << 20 // more than the socket buffers hold
	payload := bytes.Repeat([]byte(" "), size)
	for _, chunked := range []bool{false, true} {
		head := "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-1\r\nContent-Type: application/json\r\n"
		var body []byte
		if chunked {
			head += "Transfer-Encoding: chunked\r\n\r\n"
			body = append(fmt.Appendf(nil, "%x\r\n", size), payload...)
			body = append(body, "\r\n0\r\n\r\n"...)
		} else {
			head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
			body = payload
		}
		c := rawRequest(t, addr, head)
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(body); err != nil {
			t.Fatalf("chunked %v: sending the body: %v", chunked, err)
		}
		resp, answer := readAnswer(t, c)
		if resp.StatusCode != 413 || !strings.Contains(answer, `"error":"body larger than 65536 bytes"`) {
			t.Fatalf("chunked %v: %d %s, want 413", chunked, resp.StatusCode, answer)
		}
	}
}

// Ensures /v1/events decodes a gzip body, refuses a gzip bomb past the limit once
// decompressed, and refuses an encoding it does not support with 415.
func TestEventsContentEncoding(t *testing.T) {
	f := newFixture(t, collect.Config{MaxBodyBytes: 4096})
	post := func(encoding string, body []byte) reply {
		r := httptest.NewRequest("POST", "/v1/events", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer secret-1")
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Content-Encoding", encoding)
		return do(t, f.h, r)
	}
	if rep := post("gzip", gzipped([]byte(ev("gz-1")))); rep.Status != 200 || rep.Accepted != 1 {
		t.Fatalf("gzip body: %d %q", rep.Status, rep.Error)
	}
	if rep := post("gzip", gzipped(make([]byte, 1<<20))); rep.Status != 413 || !strings.Contains(rep.Error, "after decompression") {
		t.Fatalf("gzip bomb: %d %q, want 413", rep.Status, rep.Error)
	}
	if rep := post("br", []byte(ev("br-1"))); rep.Status != 415 || !strings.Contains(rep.Error, `Content-Encoding "br" is not supported`) {
		t.Fatalf("br: %d %q, want 415", rep.Status, rep.Error)
	}
	if rep := post("gzip", []byte(ev("plain-1"))); rep.Status != 400 || !strings.Contains(rep.Error, "gzip but the body is not") {
		t.Fatalf("plain body declared gzip: %d %q, want 400", rep.Status, rep.Error)
	}
	if n := f.rows(t); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

// Ensures a read or admin token on /v1/traces is answered 403 like on /v1/events.
func TestTracesOtherTokenKinds(t *testing.T) {
	f := newFixture(t, collect.Config{ReadTokens: []string{"reader"}, AdminTokens: []string{"admin"}})
	for _, tok := range []string{"reader", "admin"} {
		w := postTraces(f.h, traceReq{ctype: "application/json", auth: "Bearer " + tok, body: []byte(`{}`)})
		if w.Code != 403 {
			t.Errorf("%s token: %d, want 403", tok, w.Code)
		}
		if st := rpcStatus(t, w, "application/json"); !strings.Contains(st.Message, "ingest token") {
			t.Errorf("%s token: message %q", tok, st.Message)
		}
	}
}

// Ensures answers outside the routes (no such path, a method not allowed) have the JSON error
// shape, with Allow on a 405.
func TestNotRoutedJSON(t *testing.T) {
	f := newFixture(t, collect.Config{})
	for _, tc := range []struct {
		method, path string
		status       int
		has          string
	}{
		{"GET", "/v1/nothing", 404, "no endpoint /v1/nothing"},
		{"GET", "/v1/events", 405, "method GET not allowed on /v1/events"},
		{"DELETE", "/v1/traces", 405, "allowed: POST"},
	} {
		rep := do(t, f.h, httptest.NewRequest(tc.method, tc.path, nil))
		if rep.Status != tc.status || !strings.Contains(rep.Error, tc.has) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, rep.Status, rep.Error, tc.status, tc.has)
		}
		if tc.status == 405 && rep.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
}

// Ensures the listener holds at most maxConns connections, and closes a connection on which no
// request authenticated once it has been idle for the short limit, while an authenticated
// connection stays open.
func TestConnectionLimits(t *testing.T) {
	f := newFixture(t, collect.Config{})
	// The idle limit must outlast the requests up to the check of the fourth connection (a
	// commit on a busy machine can take a second): the idle connections must still be open then.
	addr := serve(t, f.h, 3, 5*time.Second)

	get := func(c net.Conn, path string) {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		if resp, body := readAnswer(t, c); resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	idle := rawRequest(t, addr, "")
	get(idle, "/healthz")
	authed := rawRequest(t, addr, "")
	body := ev("conn-1")
	fmt.Fprintf(authed, "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	if resp, b := readAnswer(t, authed); resp.StatusCode != 200 {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	third := rawRequest(t, addr, "")
	get(third, "/healthz")
	// A fourth connection waits for a free one: the three are held.
	fourth := rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	fourth.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := fourth.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatal("a fourth connection was served while three were open")
	}
	// The unauthenticated ones are closed by the server (EOF, not our deadline).
	for _, c := range []net.Conn{idle, third} {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("unauthenticated idle connection: %v, want EOF (closed by the server)", err)
		}
	}
	if resp, b := readAnswer(t, fourth); resp.StatusCode != 200 {
		t.Fatalf("fourth connection once one was free: %d %s", resp.StatusCode, b)
	}
	// The authenticated connection is still open: another request on it is answered.
	fmt.Fprintf(authed, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, b := readAnswer(t, authed); resp.StatusCode != 200 {
		t.Fatalf("authenticated connection after the idle limit: %d %s", resp.StatusCode, b)
	}
}
