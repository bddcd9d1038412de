package report_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/channel"
	"github.com/aispend/aispend/report/pgquery"
)

// hookReceiver is a webhook receiver on loopback: it verifies each signature and keeps each body
// it accepted, with the time it came; answer (nil: 204) chooses the answer.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	bodies []map[string]any
	times  []time.Time
	calls  int
	answer func(call int, w http.ResponseWriter) bool // true: answered, do not accept
	delay  time.Duration
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if h.delay > 0 {
		time.Sleep(h.delay) // keep the delivery in flight while another run looks
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	h.times = append(h.times, time.Now())
	if err := channel.Verify(h.secret, r.Header.Get(channel.SignatureHeader), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if h.answer != nil && h.answer(h.calls, w) {
		return
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.bodies = append(h.bodies, b)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) accepted() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// noWait retries at once: the tests count attempts, not time.
var noWait = &channel.Poster{Attempts: 2, AttemptTimeout: 5 * time.Second,
	Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}

func webhook(name, url string, secret []byte, p *channel.Poster) *channel.Webhook {
	return &channel.Webhook{ChannelName: name, URL: url, Secret: secret, Poster: p}
}

// channelJob is the fixture's job with the delivery ledger and channels, budget b routed to all
// of them by default.
func (f *fixture) channelJob(b report.Budget, chans ...report.Notifier) *report.Job {
	b.Routes = report.Routes{Default: []string{report.EmailChannel}}
	j := f.job()
	j.Channels = map[string]report.Notifier{}
	for _, c := range chans {
		j.Channels[c.Name()] = c
		b.Routes.Default = append(b.Routes.Default, c.Name())
	}
	j.Budgets = []report.Budget{b}
	j.Deliveries = f.store
	j.Installation = "inst-test"
	return j
}

func (f *fixture) deliveries(t *testing.T) map[string]string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), "SELECT channel || '|' || action || '|' || threshold, status FROM channel_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, s string
		if err := rows.Scan(&k, &s); err != nil {
			t.Fatal(err)
		}
		out[k] = s
	}
	return out
}

// Ensures a webhook receiver that is down for a whole run leaves the delivery pending (the email
// still goes), and the next run, with the receiver up, delivers it once; a third run nothing.
func TestChannelDownThenUp(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	// A port nobody listens on during the first run.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	recv := &hookReceiver{secret: []byte("whsec")}
	job := f.channelJob(daily("d", "100"), webhook("ops", "http://"+addr+"/hook", recv.secret, noWait))
	p := report.PeriodContaining(report.Daily, day1, seoul)
	ctx := context.Background()

	res, err := job.Run(ctx, p, report.RunOptions{})
	if err == nil || res.Channels.Failed != 1 || res.Channels.Sent != 0 || res.Alerts.Sent != 1 {
		t.Fatalf("run 1: err %v, channels %+v, emails sent %d; want the delivery failed and the email sent", err, res.Channels, res.Alerts.Sent)
	}
	if s := res.Summary("KRW"); !strings.Contains(s, "channel messages 0 sent 1 failed") || !strings.Contains(s, "FAILED: channels") {
		t.Errorf("summary %q", s)
	}
	if d := f.deliveries(t); d["ops|trigger|50"] != report.StatusPending {
		t.Fatalf("run 1 ledger: %v; want ops pending", d)
	}
	var attempts int
	var lastErr string
	if err := f.pool.QueryRow(ctx, "SELECT attempts, last_error FROM channel_deliveries").Scan(&attempts, &lastErr); err != nil || attempts != 1 || lastErr == "" {
		t.Fatalf("attempts %d, last error %q (%v)", attempts, lastErr, err)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(recv)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	for run := 2; run <= 3; run++ {
		res, err = job.Run(ctx, p, report.RunOptions{})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := len(recv.accepted()); got != 1 {
			t.Fatalf("run %d: receiver accepted %d deliveries; want 1", run, got)
		}
	}
	b := recv.accepted()[0]
	if b["type"] != "budget.threshold" || b["alert"].(map[string]any)["threshold"] != 50.0 {
		t.Errorf("body %v", b)
	}
	if d := f.deliveries(t); d["ops|trigger|50"] != report.StatusSent {
		t.Errorf("ledger %v", d)
	}
	if n := len(f.delivered(t)); n != 1 {
		t.Errorf("%d emails; want 1", n)
	}
}

// Ensures concurrent runs deliver each alert once per channel: with 50, 80 and 95 % crossed,
// each channel gets one message (95 %, naming the others) however many runs race.
func TestConcurrentRunsDeliverOncePerChannel(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "99"})
	ops := &hookReceiver{secret: []byte("ops-secret"), delay: 200 * time.Millisecond}
	audit := &hookReceiver{secret: []byte("audit-secret"), delay: 200 * time.Millisecond}
	opsSrv, auditSrv := httptest.NewServer(ops), httptest.NewServer(audit)
	defer opsSrv.Close()
	defer auditSrv.Close()
	p := report.PeriodContaining(report.Daily, day1, seoul)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pool, err := pgxpool.New(context.Background(), f.url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		job := f.channelJob(daily("d", "100"), webhook("ops", opsSrv.URL, ops.secret, noWait), webhook("audit", auditSrv.URL, audit.secret, noWait))
		job.Store, job.Deliveries = pgquery.New(pool), pgquery.New(pool)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = job.Run(context.Background(), p, report.RunOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, r := range map[string]*hookReceiver{"ops": ops, "audit": audit} {
		got := r.accepted()
		if len(got) != 1 || r.calls != 1 {
			t.Fatalf("%s: %d deliveries in %d calls; want 1", name, len(got), r.calls)
		}
		a := got[0]["alert"].(map[string]any)
		if a["threshold"] != 95.0 || len(a["also"].([]any)) != 2 {
			t.Errorf("%s: alert %v; want 95 %% naming 80 and 50", name, a)
		}
	}
	d := f.deliveries(t)
	if len(d) != 6 {
		t.Fatalf("ledger %v; want 3 thresholds × 2 channels", d)
	}
	for k, s := range d {
		if s != report.StatusSent {
			t.Errorf("%s: %s", k, s)
		}
	}
}

// Ensures a 429 with Retry-After is honoured: the next attempt comes no sooner than asked, and the
// delivery succeeds in the same run.
func TestChannelRetryAfter(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	recv := &hookReceiver{secret: []byte("s"), answer: func(call int, w http.ResponseWriter) bool {
		if call == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	job := f.channelJob(daily("d", "100"), webhook("ops", srv.URL, recv.secret, &channel.Poster{Attempts: 3}))
	res, err := job.Run(context.Background(), report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{})
	if err != nil || res.Channels.Sent != 1 {
		t.Fatalf("err %v, channels %+v", err, res.Channels)
	}
	if recv.calls != 2 || len(recv.accepted()) != 1 {
		t.Fatalf("%d calls, %d accepted; want 2 and 1", recv.calls, len(recv.accepted()))
	}
	if gap := recv.times[1].Sub(recv.times[0]); gap < time.Second {
		t.Errorf("second attempt %s after the 429; Retry-After asked for 1s", gap)
	}
}

// Ensures a delivery of a period that ended longer ago than the grace is recorded as stale and
// never sent, as the email is.
func TestChannelBackfillIsStale(t *testing.T) {
	f := setup(t)
	p := report.PeriodContaining(report.Daily, day1, seoul)
	f.now = p.End.Add(7 * 24 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	recv := &hookReceiver{secret: []byte("s")}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	job := f.channelJob(daily("d", "100"), webhook("ops", srv.URL, recv.secret, noWait))
	if _, err := job.Run(context.Background(), p, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if recv.calls != 0 {
		t.Errorf("%d deliveries of a backfill", recv.calls)
	}
	if d := f.deliveries(t); d["ops|trigger|50"] != report.StatusStale {
		t.Errorf("ledger %v; want stale", d)
	}
}

// pdReceiver is a PagerDuty-shaped receiver: it keeps each event.
type pdReceiver struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *pdReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev map[string]any
	if err := json.NewDecoder(req.Body).Decode(&ev); err != nil || ev["routing_key"] != "rk-test" {
		http.Error(w, `{"status":"invalid event"}`, 400)
		return
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	w.WriteHeader(202)
	_, _ = w.Write([]byte(`{"status":"success","message":"Event processed"}`))
}

// Ensures PagerDuty is paged for CRITICAL only, once per budget period, and that the incident is
// resolved, with the same dedup key, by the first run after the period reset.
func TestPagerDutyTriggerThenResolve(t *testing.T) {
	f := setup(t)
	p := report.PeriodContaining(report.Daily, day1, seoul)
	f.now = day1.Add(20 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "85"})
	pd := &pdReceiver{}
	srv := httptest.NewServer(pd)
	defer srv.Close()
	job := f.channelJob(daily("d", "100"), &channel.PagerDuty{ChannelName: "oncall", URL: srv.URL, RoutingKey: "rk-test", Poster: noWait})
	ctx := context.Background()
	if _, err := job.Run(ctx, p, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(pd.events) != 0 {
		t.Fatalf("paged for a WARNING: %v", pd.events)
	}
	insert(t, f.pool, ev{at: day1.Add(2 * time.Hour), cost: "11"}) // 96 %
	for range 2 {
		if _, err := job.Run(ctx, p, report.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(pd.events) != 1 || pd.events[0]["event_action"] != "trigger" {
		t.Fatalf("events %v; want one trigger", pd.events)
	}
	dedup := pd.events[0]["dedup_key"]
	if dedup != report.DedupKey("inst-test", "d", day1) {
		t.Errorf("dedup key %v", dedup)
	}
	// The day ends; the next day's run resolves the incident, once.
	f.now = p.End.Add(time.Hour)
	next := p.Next()
	for range 2 {
		if _, err := job.Run(ctx, next, report.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(pd.events) != 2 || pd.events[1]["event_action"] != "resolve" || pd.events[1]["dedup_key"] != dedup {
		t.Fatalf("events %v; want the trigger then one resolve of the same key", pd.events)
	}
}

// Ensures a budget's routes decide the email too: thresholds routed to channels only send no
// email (and are recorded as alerted), and the email of the others names only them.
func TestRoutesWithoutEmail(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "99"})
	recv := &hookReceiver{secret: []byte("s")}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	job := f.channelJob(daily("d", "100"), webhook("ops", srv.URL, recv.secret, noWait))
	// 95 % goes to ops only; 50 and 80 % by email only.
	job.Budgets[0].Routes = report.Routes{Default: []string{report.EmailChannel}, ByThreshold: map[int][]string{95: {"ops"}}}
	p := report.PeriodContaining(report.Daily, day1, seoul)
	for range 2 {
		if _, err := job.Run(context.Background(), p, report.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if subj := f.mail.subjects(); len(subj) != 1 || !strings.Contains(subj[0], "WARNING") {
		t.Fatalf("emails %v; want one WARNING (80 %%)", subj)
	}
	if got := recv.accepted(); len(got) != 1 || got[0]["alert"].(map[string]any)["threshold"] != 95.0 {
		t.Fatalf("ops got %v; want the 95 %% alert", got)
	}
	for _, e := range f.ledger(t) {
		if e.Status != report.StatusSent {
			t.Errorf("ledger %s: %s", e.Key(), e.Status)
		}
	}
}
