package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// compileSchema compiles a JSON Schema file's bytes, formats asserted.
func compileSchema(t *testing.T, name string, b []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return s.Validate(inst)
}

// alertMessage is a CRITICAL threshold alert of a monthly budget with drivers, a forecast and a
// scope, as the batch job makes them.
func alertMessage(kind report.Kind) report.ChannelMessage {
	loc, _ := time.LoadLocation("Asia/Seoul")
	now := time.Date(2026, 12, 20, 14, 0, 0, 0, loc)
	p := report.PeriodContaining(report.Monthly, now, loc)
	b := report.Budget{Name: "monthly-total", Period: report.Monthly, Amount: decimal.NewFromInt(50000), Forecast: true,
		Scope: report.Scope{Service: "QA_CHAT"}}
	st := report.Evaluate(b, p, decimal.RequireFromString("48100.5"), now)
	br := report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: 95, Kind: report.Actual, Severity: report.Critical}
	typ := report.TypeThreshold
	switch kind {
	case report.Forecast:
		br = report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: report.ForecastThreshold, Kind: report.Forecast, Severity: report.Warning}
		typ = report.TypeForecast
	case report.BurnRate:
		// ₩1,899.5 left at ₩500 an hour (₩3,000 in 6 hours, slower than ₩1,000 in the last hour):
		// it runs out 3.799 hours after 14:00.
		st.Runway, st.HasRunway = report.Runway(st, report.Pace{Short: decimal.NewFromInt(1000), Long: decimal.NewFromInt(3000)})
		br = report.Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: report.BurnThreshold(report.Critical), Kind: report.BurnRate, Severity: report.Critical}
		typ = report.TypeBurnRate
	}
	k := report.DeliveryKey{Breach: br, Channel: "ops", Action: report.ActionTrigger}
	return report.ChannelMessage{
		Type: typ, Action: report.ActionTrigger, ID: report.DeliveryID("inst-1", k), DedupKey: report.DedupKey("inst-1", b.Name, p.Start),
		Installation: "inst-1",
		AlertInput: report.AlertInput{Status: st, Breach: br, Currency: "KRW", AsOf: now, Location: loc, Also: []int{50, 80},
			ReportURL: "https://reports.example.com/monthly/2026-12/", WorkbookURL: "https://reports.example.com/monthly/2026-12/aispend.xlsx",
			Drivers: map[report.Dimension][]report.Driver{
				report.ByService: {{Key: "QA_CHAT", Cost: decimal.NewFromInt(48000), Requests: 1200}},
				report.ByModel:   {{Key: "claude-opus-4-1", Cost: decimal.NewFromInt(40000), Requests: 900}, {Key: "<!channel>", Cost: decimal.NewFromInt(10), Requests: 3, Unpriced: 3}},
				report.ByUser:    {{Key: "u-17", Cost: decimal.NewFromInt(30000), Requests: 300}},
			}},
	}
}

// fastPoster retries without waiting; waits records the waits it was asked for.
func fastPoster(waits *[]time.Duration) *Poster {
	var mu sync.Mutex
	return &Poster{AttemptTimeout: 5 * time.Second, Sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	}}
}

// Ensures a webhook is a signed POST whose body the receiver verifies with Verify and whose body
// conforms to the published JSON Schema, for every message type the batch job sends.
func TestWebhookSignedAndConformsToSchema(t *testing.T) {
	schema := compileSchema(t, "webhook.v1.schema.json", WebhookSchema)
	secret := []byte("whsec-test")
	var got [][]byte
	var mu sync.Mutex
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(secret, r.Header.Get(SignatureHeader), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Aispend-Delivery") == "" {
			http.Error(w, "headers", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	wh := &Webhook{ChannelName: "ops", URL: recv.URL, Secret: secret, Poster: fastPoster(nil)}
	msgs := []report.ChannelMessage{alertMessage(report.Actual), alertMessage(report.Forecast), alertMessage(report.BurnRate),
		TestMessage(time.Now(), time.UTC, "USD", "inst-1", "")}
	for _, m := range msgs {
		if err := wh.Notify(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
	}
	if len(got) != len(msgs) {
		t.Fatalf("receiver got %d bodies, want %d", len(got), len(msgs))
	}
	for i, body := range got {
		if err := validate(t, schema, body); err != nil {
			t.Errorf("%s body does not conform to the schema: %v\n%s", msgs[i].Type, err, body)
		}
	}
	var b map[string]any
	_ = json.Unmarshal(got[0], &b)
	spend := b["spend"].(map[string]any)
	alert := b["alert"].(map[string]any)
	if b["type"] != "budget.threshold" || spend["spent"] != "48100.5" || spend["limit"] != "50000" || spend["percent"] != "96.20" ||
		alert["severity"] != "critical" || alert["threshold"] != 95.0 || b["budget"].(map[string]any)["currency"] != "KRW" {
		t.Errorf("body facts: %s", got[0])
	}
	if spend["runway_at"] != nil {
		t.Errorf("runway_at of a status without pace: %v", spend["runway_at"])
	}
	var burn map[string]any
	_ = json.Unmarshal(got[2], &burn)
	// 14:00 KST + 1899.5 × 21600 ÷ 3000 s (13,677 s, rounded up) = 17:47:57 KST = 08:47:57 UTC.
	if burn["type"] != "budget.burn_rate" || burn["spend"].(map[string]any)["runway_at"] != "2026-12-20T08:47:57Z" ||
		burn["alert"].(map[string]any)["kind"] != "burn_rate" || !strings.Contains(burn["summary"].(string), "runs out Sun 20 Dec 2026 17:47 KST") {
		t.Errorf("burn-rate body: %s", got[2])
	}
	// A wrong body is refused by the schema: the check is not vacuous.
	bad := bytes.Replace(got[0], []byte(`"percent":"96.20"`), []byte(`"percent":96.2`), 1)
	if err := validate(t, schema, bad); err == nil {
		t.Error("the schema accepts a numeric percent")
	}
}

// Ensures Verify accepts the signature Sign makes and rejects tampering, a wrong secret, a
// missing header and a replay older than 5 minutes, and accepts a second v1 (secret rotation).
func TestVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"version":1}`)
	now := time.Unix(1_800_000_000, 0)
	sig := Sign(secret, now, body)
	if err := Verify(secret, sig, body, now.Add(4*time.Minute)); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	cases := map[string]struct {
		header string
		body   []byte
		secret []byte
		at     time.Time
		want   error
	}{
		"tampered body": {sig, []byte(`{"version":2}`), secret, now, ErrBadSignature},
		"wrong secret":  {sig, body, []byte("other"), now, ErrBadSignature},
		"replay":        {sig, body, secret, now.Add(5*time.Minute + time.Second), ErrTooOld},
		"future":        {sig, body, secret, now.Add(-6 * time.Minute), ErrTooOld},
		"no header":     {"", body, secret, now, ErrNoSignature},
		"no v1":         {"t=1800000000", body, secret, now, ErrNoSignature},
		"garbage":       {"t=abc,v1=zz", body, secret, now, ErrNoSignature},
	}
	for name, c := range cases {
		if err := Verify(c.secret, c.header, c.body, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	rotated := Sign([]byte("old"), now, body) + ",v1=" + strings.SplitN(sig, "v1=", 2)[1]
	if err := Verify(secret, rotated, body, now); err != nil {
		t.Errorf("a second v1 of the current secret refused: %v", err)
	}
}

// Ensures the poster retries 5xx and network errors with growing, jittered waits, honours a
// 429's Retry-After, gives up at once on other 4xx, and leaves a Retry-After longer than a run
// waits to the next run.
func TestPosterRetries(t *testing.T) {
	var n atomic.Int32
	answers := []int{500, 502, 200}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(answers[min(int(n.Add(1))-1, len(answers)-1)])
	}))
	defer recv.Close()
	var waits []time.Duration
	p := fastPoster(&waits)
	p.BaseBackoff, p.MaxBackoff = time.Second, 8*time.Second
	if err := p.Post(context.Background(), recv.URL, []byte("{}"), nil); err != nil {
		t.Fatalf("500, 502, 200: %v", err)
	}
	if n.Load() != 3 || len(waits) != 2 {
		t.Fatalf("attempts %d, waits %v; want 3 attempts and 2 waits", n.Load(), waits)
	}
	if waits[0] <= 0 || waits[0] > time.Second || waits[1] <= 0 || waits[1] > 2*time.Second {
		t.Errorf("waits %v: want jittered up to 1s then up to 2s", waits)
	}

	// 429 with Retry-After: 7 → the next attempt waits exactly 7 s.
	n.Store(0)
	waits = nil
	answers = []int{429, 200}
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(202)
	})
	if err := p.Post(context.Background(), recv.URL, []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Errorf("waits %v after Retry-After: 7, want [7s]", waits)
	}

	// Retry-After beyond MaxRetryAfter: no wait, an error naming it, one attempt.
	n.Store(0)
	waits = nil
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	})
	err := p.Post(context.Background(), recv.URL, []byte("{}"), nil)
	if err == nil || !strings.Contains(err.Error(), "next run") || n.Load() != 1 || len(waits) != 0 {
		t.Errorf("Retry-After 3600: err %v, attempts %d, waits %v", err, n.Load(), waits)
	}

	// 400: refused, not retried.
	n.Store(0)
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "bad payload", 400)
	})
	err = p.Post(context.Background(), recv.URL, []byte("{}"), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(err.Error(), "bad payload") || n.Load() != 1 {
		t.Errorf("400: err %v after %d attempts", err, n.Load())
	}

	// Nobody listening: every attempt made, the error names the host only.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	waits = nil
	err = p.Post(context.Background(), "http://"+addr+"/secret-path-token", []byte("{}"), nil)
	if err == nil || len(waits) != DefaultAttempts-1 || strings.Contains(err.Error(), "secret-path-token") {
		t.Errorf("receiver down: err %v, waits %v", err, waits)
	}
}

// Ensures a receiver that answers slowly or without end cannot hold a delivery longer than the
// attempt's time-out, and that no more than a bounded part of a huge answer is read.
func TestPosterBoundedAnswer(t *testing.T) {
	const total = 256 << 20
	var written atomic.Int64
	done := make(chan struct{})
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.WriteHeader(500)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	p := fastPoster(nil)
	p.Attempts = 1
	p.AttemptTimeout = time.Minute
	err := p.Post(context.Background(), huge.URL, []byte("{}"), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 500 || len(se.Body) > 300 {
		t.Fatalf("huge 500 answer: %v", err)
	}
	<-done
	if w := written.Load(); w >= total {
		t.Errorf("the whole %d-byte answer was read", w)
	}

	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-stop // never finishes its body
	}))
	defer slow.Close()
	p.AttemptTimeout = 300 * time.Millisecond
	p.Attempts = 2
	// The answer is 200, so a cut-short body still counts as delivered; what matters is that
	// Post returns.
	if err := p.Post(context.Background(), slow.URL, []byte("{}"), nil); err != nil {
		t.Fatalf("slow 200: %v", err)
	}
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	defer hang.Close()
	defer close(stop) // before the servers close: they wait for their handlers
	err = p.Post(context.Background(), hang.URL, []byte("{}"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("receiver that never answers: %v, want a time-out", err)
	}
}

// pagerDutySchema is the request body of PagerDuty's Events API v2 (testdata/, made from
// PagerDuty's published OpenAPI document).
func pagerDutySchema(t *testing.T) *jsonschema.Schema {
	b, err := os.ReadFile(filepath.Join("testdata", "pagerduty-events-v2.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return compileSchema(t, "pagerduty-events-v2.schema.json", b)
}

// Ensures PagerDuty gets a documented Events API v2 trigger for a CRITICAL alert and a resolve
// with the same dedup key, and takes CRITICAL alerts only.
func TestPagerDutyEvents(t *testing.T) {
	schema := pagerDutySchema(t)
	var got [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v2/enqueue" {
			http.NotFound(w, r)
			return
		}
		if err := validate(t, schema, body); err != nil {
			t.Errorf("not an Events API v2 event: %v\n%s", err, body)
			w.WriteHeader(400)
			return
		}
		got = append(got, body)
		w.WriteHeader(202)
		_, _ = w.Write([]byte(`{"status":"success","message":"Event processed"}`))
	}))
	defer recv.Close()
	pd := &PagerDuty{ChannelName: "oncall", URL: recv.URL + "/v2/enqueue", RoutingKey: "R0UTINGKEY0123456789012345678901", Poster: fastPoster(nil)}
	if pd.Accepts(report.Warning) || !pd.Accepts(report.Critical) || !pd.Resolves() {
		t.Error("PagerDuty must take CRITICAL alerts only, and resolve")
	}
	m := alertMessage(report.Actual)
	if err := pd.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Action = report.ActionResolve
	if err := pd.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	var trig, res map[string]any
	_ = json.Unmarshal(got[0], &trig)
	_ = json.Unmarshal(got[1], &res)
	payload := trig["payload"].(map[string]any)
	if trig["event_action"] != "trigger" || payload["severity"] != "critical" || !strings.Contains(payload["summary"].(string), "monthly-total") ||
		trig["dedup_key"] != m.DedupKey || trig["routing_key"] != pd.RoutingKey {
		t.Errorf("trigger: %s", got[0])
	}
	if res["event_action"] != "resolve" || res["dedup_key"] != m.DedupKey || res["payload"] != nil {
		t.Errorf("resolve: %s", got[1])
	}
	// A CRITICAL burn rate triggers the period's incident too, with when the budget runs out.
	burn := alertMessage(report.BurnRate)
	if err := pd.Notify(context.Background(), burn); err != nil {
		t.Fatal(err)
	}
	var bt map[string]any
	_ = json.Unmarshal(got[2], &bt)
	bp := bt["payload"].(map[string]any)
	if bt["dedup_key"] != m.DedupKey || bp["class"] != "budget.burn_rate" || bp["custom_details"].(map[string]any)["runs_out_at"] != "2026-12-20T08:47:57Z" {
		t.Errorf("burn-rate trigger: %s", got[2])
	}
	// The schema refuses what PagerDuty refuses: the check is not vacuous.
	if err := validate(t, schema, []byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"x","source":"y","severity":"fatal"}}`)); err == nil {
		t.Error("the PagerDuty schema accepts severity fatal")
	}
}

// Ensures the Slack message holds the alert's facts, with mrkdwn escaped so that a driver's name
// cannot notify a channel, and that the incoming webhook's URL (its secret) is in no error.
func TestSlackMessage(t *testing.T) {
	var got []byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		if r.URL.Path == "/services/T000/B000/XXXXSECRET" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.Error(w, "invalid_token", 403)
	}))
	defer recv.Close()
	s := &Slack{ChannelName: "finance-slack", URL: recv.URL + "/services/T000/B000/XXXXSECRET", Poster: fastPoster(nil)}
	if err := s.Notify(context.Background(), alertMessage(report.Actual)); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(got), `\u0026`, "&") // Go's JSON escapes & as \u0026
	for _, want := range []string{"CRITICAL", "monthly-total", "monthly 2026-12", "96.2 %", "₩48,101", "₩50,000", "claude-opus-4-1", "u-17",
		"https://reports.example.com/monthly/2026-12/", "&lt;!channel&gt;", `"type":"header"`, "Top users"} {
		if !strings.Contains(text, want) {
			t.Errorf("Slack message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "<!channel>") {
		t.Error("a driver's name reaches Slack unescaped")
	}
	s.URL = recv.URL + "/services/T000/B000/WRONGSECRET"
	err := s.Notify(context.Background(), alertMessage(report.Actual))
	if err == nil || strings.Contains(err.Error(), "WRONGSECRET") || !strings.Contains(err.Error(), "403") {
		t.Errorf("error %v: want the 403, without the URL's secret path", err)
	}
}
