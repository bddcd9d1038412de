package pgquery_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/channel"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
)

// anomalyReceiver is a webhook receiver on loopback that verifies the signature and counts the
// deliveries of each id; while down it answers 503.
type anomalyReceiver struct {
	mu   sync.Mutex
	ids  map[string]int
	down atomic.Bool
	// slow is how long each delivery takes: two concurrent runs then send at the same time.
	slow atomic.Int64
	srv  *httptest.Server
}

const anomalySecret = "whsec-anomaly-test-secret"

func newAnomalyReceiver(t *testing.T) *anomalyReceiver {
	r := &anomalyReceiver{ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := channel.Verify([]byte(anomalySecret), req.Header.Get(channel.SignatureHeader), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		time.Sleep(time.Duration(r.slow.Load()))
		if r.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var b struct {
			ID, Type string
		}
		if json.Unmarshal(body, &b) != nil || b.Type != report.TypeAnomaly {
			http.Error(w, "not an anomaly", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.ids[b.ID]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *anomalyReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.ids {
		out[k] = v
	}
	return out
}

func anomalyAlertJob(t *testing.T, store *pgquery.Store, recv *anomalyReceiver, outbox string, now time.Time) *report.Job {
	t.Helper()
	sender, err := mail.NewOutbox(outbox, "aispend@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cfg := demoAnomalyConfig()
	cfg.Channels = []string{report.EmailChannel, "ops"}
	poster := &channel.Poster{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	j := anomalyJob(store, cfg)
	j.Anomalies, j.ComposeAnomaly, j.Sender = store, email.AnomalyEmail, sender
	j.From, j.Recipients, j.Installation = "aispend@example.com", []string{"oncall@example.com"}, "inst-anomaly"
	j.Channels = map[string]report.Notifier{"ops": &channel.Webhook{ChannelName: "ops", URL: recv.srv.URL, Secret: []byte(anomalySecret), Poster: poster}}
	j.Now = func() time.Time { return now }
	return j
}

// anomalyEmails are the anomaly emails in the outbox, by their X-Aispend-Alert key.
func anomalyEmails(t *testing.T, outbox string) map[string]int {
	t.Helper()
	out := map[string]int{}
	entries, _ := os.ReadDir(outbox)
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join(outbox, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, ok := strings.CutPrefix(line, "X-Aispend-Alert: anomaly "); ok {
				out[strings.TrimSpace(k)]++
			}
		}
	}
	return out
}

// An injected spike alerts once per anomaly and channel (email and webhook): a receiver down for
// a whole run gets it from the next, a re-run sends nothing again, and two concurrent runs
// deliver a new anomaly once between them.
func TestAnomalyAlertedOnce(t *testing.T) {
	ctx := context.Background()
	pool, store := loadAnomalyDemo(t)
	user, org := busiestUser(t, pool)
	recv := newAnomalyReceiver(t)
	outbox := filepath.Join(t.TempDir(), "outbox")
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, seoul)
	insertSpike(t, pool, user, org, at, 60, "50")
	now := at.Add(time.Hour + 5*time.Minute)
	run := func(j *report.Job, now time.Time) (*report.Result, error) {
		return j.Run(ctx, report.DefaultPeriod(report.Daily, now, seoul), report.RunOptions{Steps: report.StepAlerts})
	}

	// The webhook is down for the whole first run: the emails go, the webhook's stay pending.
	recv.down.Store(true)
	res, err := run(anomalyAlertJob(t, store, recv, outbox, now), now)
	if err == nil || res.AnomalyOutcome.Failed == 0 {
		t.Fatalf("run with the receiver down: %v, outcome %+v", err, res.AnomalyOutcome)
	}
	found := res.AnomalyOutcome.Found
	var userKey string
	for _, a := range res.Anomalies {
		if a.Scope == "user_id" && a.Value == user && a.Window.Kind == report.WindowHour {
			userKey = a.Key()
		}
	}
	if userKey == "" || res.AnomalyOutcome.Claimed != found {
		t.Fatalf("first run: %+v, anomalies %v: want the user's hour among them, each claimed", res.AnomalyOutcome, res.Anomalies)
	}
	recv.down.Store(false)
	for i := 0; i < 2; i++ {
		if res, err = run(anomalyAlertJob(t, store, recv, outbox, now), now); err != nil {
			t.Fatalf("run %d: %v", i+2, err)
		}
		if res.AnomalyOutcome.Claimed != 0 {
			t.Errorf("run %d claimed %d anomalies again", i+2, res.AnomalyOutcome.Claimed)
		}
	}
	hooks, mails := recv.counts(), anomalyEmails(t, outbox)
	if len(hooks) != found || len(mails) != found || mails[userKey] != 1 {
		t.Fatalf("%d anomalies: %d webhook ids, %d emails (%v)", found, len(hooks), len(mails), mails)
	}
	for k, n := range hooks {
		if n != 1 {
			t.Errorf("webhook %s delivered %d times", k, n)
		}
	}
	for k, n := range mails {
		if n != 1 {
			t.Errorf("email of %s sent %d times", k, n)
		}
	}

	// The same user's next hour: two runs at once deliver each new anomaly once between them.
	at2 := at.Add(time.Hour)
	insertSpike(t, pool, user, org, at2, 80, "50")
	now2 := at2.Add(time.Hour + 5*time.Minute)
	recv.slow.Store(int64(300 * time.Millisecond))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = run(anomalyAlertJob(t, store, recv, outbox, now2), now2)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	hooks2, mails2 := recv.counts(), anomalyEmails(t, outbox)
	if len(hooks2) <= len(hooks) || len(mails2) <= len(mails) || len(hooks2) != len(mails2) {
		t.Fatalf("after the concurrent runs: %d webhook ids, %d emails; before %d, %d", len(hooks2), len(mails2), len(hooks), len(mails))
	}
	for k, n := range hooks2 {
		if n != 1 {
			t.Errorf("webhook %s delivered %d times", k, n)
		}
	}
	for k, n := range mails2 {
		if n != 1 {
			t.Errorf("email of %s sent %d times", k, n)
		}
	}
	// The ledger lists them, the emails sent.
	list, err := store.Anomalies(ctx, at, at2.Add(time.Hour), seoul)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(mails2) {
		t.Errorf("ledger lists %d anomalies, %d were emailed", len(list), len(mails2))
	}
	for _, a := range list {
		if a.Status != report.StatusSent {
			t.Errorf("%s: email status %q", a.Key(), a.Status)
		}
	}
}
