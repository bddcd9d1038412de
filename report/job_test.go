package report_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

var seoul = mustLoc("Asia/Seoul")

// ev is one test event.
type ev struct {
	at      time.Time
	service string
	user    string
	cost    string // "" = unpriced
	ms      int64
	tags    string // JSON object or ""
}

func insert(t *testing.T, pool *pgxpool.Pool, evs ...ev) {
	t.Helper()
	var rows []collect.Row
	for _, e := range evs {
		r := eventtest.Row(eventtest.ID(t), e.at)
		r.Service, r.UserID = cmp.Or(e.service, r.Service), e.user
		eventtest.Price(&r, e.cost)
		if e.ms > 0 {
			r.DurationMS = e.ms
		}
		if e.tags != "" {
			r.Tags = []byte(e.tags)
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
}

// recorder sends through the real SMTP transport to a Mailpit and keeps a copy of every email
// the server accepted, for checks on content; counts are checked against Mailpit itself.
type recorder struct {
	inner report.Sender
	mu    sync.Mutex
	msgs  []*report.Email
	delay time.Duration
}

func (r *recorder) Send(ctx context.Context, e *report.Email) error {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if err := r.inner.Send(ctx, e); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, e)
	return nil
}

func (r *recorder) subjects() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Subject)
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

type fixture struct {
	url   string
	pool  *pgxpool.Pool
	store *pgquery.Store
	smtp  *mailtest.Server
	mail  *recorder
	now   time.Time
}

func setup(t *testing.T) *fixture {
	t.Helper()
	url := pgtest.URL(t)
	pool := pgtest.Connect(t, url)
	srv := mailtest.Start(t)
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{url: url, pool: pool, store: pgquery.New(pool), smtp: srv, mail: &recorder{inner: sender}}
}

// delivered is the Message-IDs Mailpit received, oldest first, after checking that they are
// exactly the emails the transport reported as accepted.
func (f *fixture) delivered(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, m := range f.smtp.Messages(t) {
		ids = append(ids, "<"+m.MessageID+">")
	}
	if len(ids) != f.mail.count() {
		t.Fatalf("Mailpit has %d messages; the transport accepted %d", len(ids), f.mail.count())
	}
	return ids
}

func (f *fixture) job(budgets ...report.Budget) *report.Job {
	return &report.Job{
		Store: f.store, ComposeAlert: email.AlertEmail, Sender: f.mail, Budgets: budgets, Location: seoul, Currency: "KRW",
		From: "aispend@example.com", Recipients: []string{"finance@example.com"},
		MessageIDDomain: "example.com",
		Now:             func() time.Time { return f.now },
	}
}

func daily(name, amount string) report.Budget {
	return report.Budget{Name: name, Period: report.Daily, Amount: testkit.Dec(amount)}
}

func (f *fixture) ledger(t *testing.T) []report.LedgerEntry {
	t.Helper()
	es, err := f.store.Alerts(context.Background(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

var day1 = time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)

// Ensures thresholds crossed one run at a time each alert once, and re-runs add nothing.
func TestThresholdsOneByOne(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.now = day1.Add(20 * time.Hour)
	job := f.job(daily("daily-total", "1000"))
	p := report.PeriodContaining(report.Daily, day1, seoul)
	steps := []struct {
		add      string
		wantSent int
		wantSev  string
	}{
		{"499.99", 0, ""},
		{"0.01", 1, "INFO"},     // exactly 50 %
		{"200", 0, ""},          // 70 %
		{"100", 1, "WARNING"},   // exactly 80 %
		{"149.99", 0, ""},       // 94.999 %
		{"0.01", 1, "CRITICAL"}, // exactly 95 %
		{"1000", 0, ""},         // over: nothing new
	}
	for i, s := range steps {
		insert(t, f.pool, ev{at: day1.Add(time.Duration(i) * time.Hour), cost: s.add})
		before := f.mail.count()
		res, err := job.Run(ctx, p, report.RunOptions{})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.mail.count() - before; got != s.wantSent || res.Alerts.Sent != s.wantSent {
			t.Fatalf("step %d (+%s): %d emails (result %d); want %d", i, s.add, got, res.Alerts.Sent, s.wantSent)
		}
		if s.wantSent == 1 {
			subj := f.mail.subjects()[before]
			if !strings.Contains(subj, s.wantSev) {
				t.Errorf("step %d: subject %q; want %s", i, subj, s.wantSev)
			}
		}
		// A re-run right away never sends again.
		if _, err := job.Run(ctx, p, report.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if f.mail.count() != before+s.wantSent {
			t.Fatalf("step %d: re-run sent again", i)
		}
	}
	if n := len(f.delivered(t)); n != 3 {
		t.Fatalf("Mailpit received %d; want 3", n)
	}
	crit := f.mail.msgs[2]
	if !strings.Contains(string(crit.HTML), "What to do now") || !strings.Contains(string(crit.Text), "What to do now") {
		t.Error("CRITICAL alert without action items")
	}
	if strings.Contains(string(f.mail.msgs[0].HTML), "What to do now") {
		t.Error("INFO alert with action items")
	}
}

// Ensures a spend that crosses every threshold in one run sends one email, for the highest
// threshold, whose subject states the actual percent and which names the others; the ledger
// records every threshold as alerted, so a later run sends none of them.
func TestThresholdsAllAtOnce(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "990"})
	b := daily("daily-total", "1000")
	job := f.job(b)
	p := report.PeriodContaining(report.Daily, day1, seoul)
	res, err := job.Run(context.Background(), p, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 1 || res.Alerts.Covered != 2 || f.mail.count() != 1 {
		t.Fatalf("sent %d, covered %d (%d emails); want 1 and 2", res.Alerts.Sent, res.Alerts.Covered, f.mail.count())
	}
	m := f.mail.msgs[0]
	want := report.Breach{Budget: b.Name, PeriodStart: day1, Threshold: 95, Kind: report.Actual}.MessageID("", "example.com")
	if got := m.Headers.Get("Message-ID"); got != want {
		t.Errorf("Message-ID %s; want the 95 %% key's %s", got, want)
	}
	if got, want := m.Subject, "[aispend CRITICAL] daily-total at 99.0 % of ₩1,000 (daily 2026-10-01)"; got != want {
		t.Errorf("subject %q; want %q", got, want)
	}
	for _, part := range []string{string(m.Text), string(m.HTML)} {
		if !strings.Contains(part, "Also crossed in this period: 80 %, 50 %") {
			t.Errorf("the email does not name the other thresholds:\n%s", part)
		}
	}
	if ids := f.delivered(t); len(ids) != 1 || ids[0] != want {
		t.Errorf("Mailpit received %v; want only %s", ids, want)
	}
	ledger := f.ledger(t)
	if len(ledger) != 3 {
		t.Fatalf("ledger has %d entries; want 3", len(ledger))
	}
	for _, e := range ledger {
		if e.Status != report.StatusSent || e.SentAt == nil {
			t.Errorf("ledger %s: status %s", e.Key(), e.Status)
		}
	}
	if _, err := job.Run(context.Background(), p, report.RunOptions{}); err != nil || f.mail.count() != 1 {
		t.Fatalf("re-run: err %v, emails %d; want still 1", err, f.mail.count())
	}
}

// Ensures a run that stopped after the highest threshold's email, before recording the lower
// thresholds it named, leaves no second email to the next run.
func TestCoveredThresholdsAfterCrash(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "990"})
	b := daily("daily-total", "1000")
	ctx := context.Background()
	p := report.PeriodContaining(report.Daily, day1, seoul)
	st, err := report.BudgetStatusFor(ctx, f.job(b).Store, b, p, f.now)
	if err != nil {
		t.Fatal(err)
	}
	store := f.job(b).Store
	for _, br := range st.Breaches {
		if _, err := store.ClaimAlert(ctx, report.NewLedgerEntry(st, br, "", "example.com")); err != nil {
			t.Fatal(err)
		}
	}
	// The 95 % email went out; the process died before marking 50 and 80.
	top := st.Breaches[len(st.Breaches)-1]
	if ok, err := store.SendAlert(ctx, top, func(context.Context, report.LedgerEntry) error { return nil }); !ok || err != nil {
		t.Fatalf("mark 95 %% sent: %v %v", ok, err)
	}
	res, err := f.job(b).Run(ctx, p, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.mail.count() != 0 || res.Alerts.Covered != 2 {
		t.Fatalf("emails %v, covered %d; want none and 2", f.mail.subjects(), res.Alerts.Covered)
	}
	for _, e := range f.ledger(t) {
		if e.Status != report.StatusSent {
			t.Errorf("ledger %s: %s", e.Key(), e.Status)
		}
	}
}

// Ensures exactly 80.00 % of the amount is a WARNING, computed exactly (no float rounding).
func TestExactly80Percent(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	// 0.1 + 0.2 + ... in floats is not exact; in decimals it is.
	for _, c := range []string{"0.1", "0.2", "0.3", "79.4"} {
		insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: c})
	}
	res, err := f.job(daily("d", "100")).Run(context.Background(), report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 1 || res.Alerts.Covered != 1 {
		t.Fatalf("sent %d covered %d; want 1 email (80 %%) naming 50 %%", res.Alerts.Sent, res.Alerts.Covered)
	}
	st := res.Report.Budgets[0]
	if st.State != report.StateWarning || st.Percent.String() != "80" || !st.Spent.Equal(testkit.Dec("80")) {
		t.Errorf("status %s %s %% spent %s", st.State, st.Percent, st.Spent)
	}
	if !strings.Contains(string(f.mail.msgs[0].HTML), "80.0 %") {
		t.Error("email does not show 80.0 %")
	}
}

// Ensures a budget scoped to one service (or a tag) counts only that service's events.
func TestScopedBudget(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool,
		ev{at: day1.Add(time.Hour), service: "QA_CHAT", cost: "40"},
		ev{at: day1.Add(time.Hour), service: "MATCH_EXPLANATION", cost: "1000"},
		ev{at: day1.Add(time.Hour), service: "MATCH_EXPLANATION", cost: "50", tags: `{"team":"search"}`},
	)
	qa := daily("qa-only", "100")
	qa.Scope = report.Scope{Service: "QA_CHAT"}
	team := daily("team-search", "100")
	team.Scope = report.Scope{TagKey: "team", TagValue: "search"}
	res, err := f.job(qa, team).Run(context.Background(), report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Report.Budgets[0].Spent; !got.Equal(testkit.Dec("40")) {
		t.Errorf("qa-only spent %s; want 40", got)
	}
	if got := res.Report.Budgets[1].Spent; !got.Equal(testkit.Dec("50")) {
		t.Errorf("team-search spent %s; want 50", got)
	}
	// qa-only: 40 % → nothing; team-search: 50 % → INFO.
	if res.Alerts.Sent != 1 || !strings.Contains(f.mail.msgs[0].Subject, "team-search") {
		t.Fatalf("alerts %d %v; want one for team-search", res.Alerts.Sent, f.mail.subjects())
	}
	if !strings.Contains(string(f.mail.msgs[0].Text), "MATCH_EXPLANATION") || strings.Contains(string(f.mail.msgs[0].Text), "QA_CHAT") {
		t.Errorf("drivers of a scoped budget include other services:\n%s", f.mail.msgs[0].Text)
	}
}

// Ensures days are Asia/Seoul days: 15:30 UTC on 1 October is 00:30 on 2 October in Seoul.
func TestTimeZoneDayBoundary(t *testing.T) {
	f := setup(t)
	f.now = time.Date(2026, 10, 3, 12, 0, 0, 0, seoul)
	insert(t, f.pool,
		ev{at: time.Date(2026, 9, 30, 15, 0, 0, 0, time.UTC), cost: "1"},   // 1 Oct 00:00 Seoul: day 1
		ev{at: time.Date(2026, 10, 1, 14, 59, 59, 0, time.UTC), cost: "2"}, // 1 Oct 23:59:59 Seoul: day 1
		ev{at: time.Date(2026, 10, 1, 15, 30, 0, 0, time.UTC), cost: "4"},  // 2 Oct 00:30 Seoul: day 2
	)
	job := f.job(daily("d", "5"))
	ctx := context.Background()
	r1, err := job.Run(ctx, report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Report.Totals.Cost.Equal(testkit.Dec("3")) || r1.Report.Totals.Requests != 2 {
		t.Errorf("1 Oct Seoul: %s over %d; want 3 over 2", r1.Report.Totals.Cost, r1.Report.Totals.Requests)
	}
	if !r1.Report.Budgets[0].Spent.Equal(testkit.Dec("3")) {
		t.Errorf("budget on 1 Oct: %s; want 3", r1.Report.Budgets[0].Spent)
	}
	r2, err := job.Run(ctx, report.PeriodContaining(report.Daily, day1.AddDate(0, 0, 1), seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Report.Totals.Cost.Equal(testkit.Dec("4")) {
		t.Errorf("2 Oct Seoul: %s; want 4", r2.Report.Totals.Cost)
	}
	// The series of 2 Oct has 1 Oct = 3 and 2 Oct = 4.
	s := r2.Report.Series
	if !s[len(s)-1].Cost.Equal(testkit.Dec("4")) || !s[len(s)-2].Cost.Equal(testkit.Dec("3")) {
		t.Errorf("series ends %s, %s; want 3, 4", s[len(s)-2].Cost, s[len(s)-1].Cost)
	}
	// 3 of 5 on 1 Oct → INFO; 4 of 5 on 2 Oct → WARNING (naming INFO), for a different period start.
	if f.mail.count() != 2 {
		t.Fatalf("emails %v; want 2", f.mail.subjects())
	}
}

// Ensures a forecast alert once enough of the period has passed, marked as an estimate.
func TestForecastAlert(t *testing.T) {
	f := setup(t)
	month := report.PeriodContaining(report.Monthly, day1, seoul)
	b := report.Budget{Name: "monthly", Period: report.Monthly, Amount: testkit.Dec("3000"), Forecast: true}
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "400"}) // 13 % of the amount
	job := f.job(b)
	ctx := context.Background()

	f.now = day1.Add(5 * 24 * time.Hour) // 5 of 31 days: too early
	res, err := job.Run(ctx, report.PeriodContaining(report.Daily, f.now.Add(-time.Hour), seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 0 || res.Report.Budgets[0].HasForecast {
		t.Fatalf("forecast after 5 days: sent %d", res.Alerts.Sent)
	}
	f.now = day1.Add(8 * 24 * time.Hour) // 8 days: 400 / 8 × 31 = 1550: under
	if res, err = job.Run(ctx, report.PeriodContaining(report.Daily, f.now.Add(-time.Hour), seoul), report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 0 || !res.Report.Budgets[0].Projected.Equal(testkit.Dec("1550")) {
		t.Fatalf("projection %s, sent %d; want 1550, 0", res.Report.Budgets[0].Projected, res.Alerts.Sent)
	}
	insert(t, f.pool, ev{at: day1.Add(7 * 24 * time.Hour), cost: "400"}) // 800 / 8 × 31 = 3100
	if res, err = job.Run(ctx, report.PeriodContaining(report.Daily, f.now.Add(-time.Hour), seoul), report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if res.Alerts.Sent != 1 {
		t.Fatalf("sent %d; want the forecast alert", res.Alerts.Sent)
	}
	m := f.mail.msgs[0]
	if !strings.Contains(m.Subject, "Forecast") || !strings.Contains(string(m.Text), "ESTIMATE") || !strings.Contains(string(m.HTML), "This is an estimate") {
		t.Errorf("forecast email does not say it is an estimate: %s\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(string(m.Text), "₩3,100") {
		t.Errorf("projection missing:\n%s", m.Text)
	}
	e := f.ledger(t)
	if len(e) != 1 || e[0].Kind != report.Forecast || !e[0].PeriodStart.Equal(month.Start) || !e[0].Projected.Decimal.Equal(testkit.Dec("3100")) {
		t.Errorf("ledger %+v", e)
	}
}

// Ensures an alert whose send fails stays pending with attempts and the error, and the next
// run sends it exactly once.
func TestSMTPDownThenUp(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	job := f.job(daily("d", "100"))
	p := report.PeriodContaining(report.Daily, day1, seoul)
	ctx := context.Background()
	f.smtp.Stop() // the SMTP server is down
	for i := 1; i <= 2; i++ {
		res, err := job.Run(ctx, p, report.RunOptions{})
		if err == nil || res.Alerts.Failed != 1 {
			t.Fatalf("run %d with SMTP down: err %v, failed %d", i, err, res.Alerts.Failed)
		}
		e := f.ledger(t)
		if len(e) != 1 || e[0].Status != report.StatusPending || e[0].Attempts != i || e[0].LastError == "" {
			t.Fatalf("ledger after run %d: %+v", i, e)
		}
		if res.Report == nil || res.Report.Totals.Requests != 1 {
			t.Error("statistics lost because alerts failed")
		}
	}
	f.smtp.Restart(t)
	res, err := job.Run(ctx, p, report.RunOptions{})
	if err != nil || res.Alerts.Sent != 1 || f.mail.count() != 1 {
		t.Fatalf("SMTP up: err %v sent %d emails %d", err, res.Alerts.Sent, f.mail.count())
	}
	if _, err := job.Run(ctx, p, report.RunOptions{}); err != nil || f.mail.count() != 1 {
		t.Fatalf("re-run: err %v, emails %d", err, f.mail.count())
	}
	e := f.ledger(t)
	if e[0].Status != report.StatusSent || e[0].Attempts != 3 || e[0].LastError != "" {
		t.Errorf("ledger %+v", e[0])
	}
	if ids := f.delivered(t); len(ids) != 1 || ids[0] != e[0].MessageID {
		t.Errorf("Mailpit received %v; want exactly %s", ids, e[0].MessageID)
	}
}

// Ensures runs at the same time send one email per budget period (for its highest threshold).
func TestConcurrentRunsSendOnce(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "99"})
	f.mail.delay = 200 * time.Millisecond // keep each send in flight while the other run looks
	p := report.PeriodContaining(report.Daily, day1, seoul)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		// Each run has its own connection pool, as separate processes would.
		pool, err := pgxpool.New(context.Background(), f.url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		job := f.job(daily("d", "100"))
		job.Store = pgquery.New(pool)
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
	seen := map[string]int{}
	for _, m := range f.mail.msgs {
		seen[m.Headers.Get("Message-ID")]++
	}
	if len(f.mail.msgs) != 1 || len(seen) != 1 {
		t.Fatalf("%d emails, %d distinct; want 1: %v", len(f.mail.msgs), len(seen), seen)
	}
	if ids := f.delivered(t); len(ids) != 1 {
		t.Errorf("Mailpit received %v; want one email", ids)
	}
	for _, e := range f.ledger(t) {
		if e.Status != report.StatusSent {
			t.Errorf("ledger %s: %s", e.Key(), e.Status)
		}
	}
}

// Ensures a run that stopped after claiming (before sending) leaves the alert pending, and the
// next run sends it exactly once.
func TestRunKilledAfterClaim(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "55"})
	b := daily("d", "100")
	p := report.PeriodContaining(report.Daily, day1, seoul)
	ctx := context.Background()
	// The killed run: it evaluated and claimed, then died.
	st, err := report.BudgetStatusFor(ctx, f.store, b, p, f.now)
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := f.store.ClaimAlert(ctx, report.NewLedgerEntry(st, st.Breaches[0], "", "example.com"))
	if err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if f.mail.count() != 0 {
		t.Fatal("sent by the claim")
	}
	res, err := f.job(b).Run(ctx, p, report.RunOptions{})
	if err != nil || res.Alerts.Sent != 1 || res.Alerts.Claimed != 0 || f.mail.count() != 1 {
		t.Fatalf("next run: err %v sent %d claimed %d emails %d", err, res.Alerts.Sent, res.Alerts.Claimed, f.mail.count())
	}
	if _, err := f.job(b).Run(ctx, p, report.RunOptions{}); err != nil || f.mail.count() != 1 {
		t.Fatalf("third run: %v, %d emails", err, f.mail.count())
	}
	if ids := f.delivered(t); len(ids) != 1 || ids[0] != st.Breaches[0].MessageID("", "example.com") {
		t.Errorf("Mailpit received %v", ids)
	}
}

// Ensures --dry-run computes and renders but sends, claims and writes nothing, and reports what
// a real run sends: one email per budget period (the highest threshold, naming the others), not
// one per threshold. The dry run composes the email a real run sends, through the same composer.
func TestDryRunWritesNothing(t *testing.T) {
	f := setup(t)
	f.now = time.Date(2026, 11, 20, 12, 0, 0, 0, seoul)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "99", ms: 120})
	job := f.job(daily("d", "100"))
	job.RetentionDays = 30               // October's partition is old enough to drop
	job.AlertGrace = 60 * 24 * time.Hour // 1 October's alerts are still sent on 20 November
	var composed []string
	job.ComposeAlert = func(in report.AlertInput) (*report.Email, error) {
		e, err := email.AlertEmail(in)
		if err == nil {
			composed = append(composed, e.Subject)
		}
		return e, err
	}
	var logs strings.Builder
	job.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	var partsBefore int
	f.pool.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass").Scan(&partsBefore)
	res, err := job.Run(ctx, report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts.WouldSend != 1 || f.mail.count() != 0 || len(f.delivered(t)) != 0 {
		t.Errorf("would send %d, emails %d; want 1 (95 %% naming 80 and 50), 0", res.Alerts.WouldSend, f.mail.count())
	}
	if !strings.Contains(res.Summary("KRW"), "alerts 1 would be sent") {
		t.Errorf("summary %q; want one alert email", res.Summary("KRW"))
	}
	var would []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "would alert") {
			would = append(would, l)
		}
	}
	if len(would) != 1 || !strings.Contains(would[0], "threshold=95") || !strings.Contains(would[0], "also=\"[80 50]\"") {
		t.Errorf("dry run logs %q; want one line for 95 %% naming 80 and 50", would)
	}
	if len(res.SentAlerts) != 3 {
		t.Errorf("dry run: %d alerts as a real run records them; want every threshold, 3", len(res.SentAlerts))
	}
	if !res.Report.Totals.Cost.Equal(testkit.Dec("99")) {
		t.Errorf("dry run computed %s; want 99", res.Report.Totals.Cost)
	}
	if len(res.Dropped) == 0 {
		t.Error("dry run lists no partition to drop")
	}
	for table, q := range map[string]string{
		"daily_aggregates":   "SELECT count(*) FROM daily_aggregates",
		"alert_ledger":       "SELECT count(*) FROM alert_ledger",
		"dropped_partitions": "SELECT count(*) FROM dropped_partitions",
		"partitions":         fmt.Sprintf("SELECT count(*) - %d FROM pg_inherits WHERE inhparent = 'events'::regclass", partsBefore),
	} {
		var n int
		if err := f.pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("dry run changed %s (%d)", table, n)
		}
	}
	if !strings.Contains(res.Summary("KRW"), "dry run") {
		t.Errorf("summary %q", res.Summary("KRW"))
	}
	// A real run then sends exactly what the dry run reported.
	real, err := job.Run(ctx, report.PeriodContaining(report.Daily, day1, seoul), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if real.Alerts.Sent != res.Alerts.WouldSend || f.mail.count() != 1 || len(f.ledger(t)) != len(res.SentAlerts) {
		t.Errorf("real run sent %d (%d emails, %d recorded); the dry run said %d (%d recorded)",
			real.Alerts.Sent, f.mail.count(), len(f.ledger(t)), res.Alerts.WouldSend, len(res.SentAlerts))
	}
	if sent := f.mail.subjects(); len(composed) != 2 || len(sent) != 1 || composed[0] != sent[0] || composed[1] != sent[0] {
		t.Errorf("composed %q (dry run, then real run), sent %q; want the dry run to compose the email the real run sends", composed, sent)
	}
}

// snapshot is what a report shows, for comparing two runs.
func snapshot(t *testing.T, r *report.Report) string {
	t.Helper()
	var b strings.Builder
	tot := r.Totals
	fmt.Fprintf(&b, "total cost=%s req=%d fail=%d unpriced=%d p50=%d p95=%d p99=%d avg=%d\n", tot.Cost, tot.Requests, tot.Failures, tot.Unpriced,
		tot.Latency.Percentile(0.5), tot.Latency.Percentile(0.95), tot.Latency.Percentile(0.99), tot.AvgLatencyMS())
	for _, dim := range report.Dimensions {
		for _, row := range r.Breakdowns[dim] {
			fmt.Fprintf(&b, "%s %s cost=%s req=%d p95=%d\n", dim, row.Label(), row.Cost, row.Requests, row.Latency.Percentile(0.95))
		}
	}
	for _, d := range r.Series {
		if d.Requests > 0 {
			fmt.Fprintf(&b, "day %s cost=%s req=%d\n", d.Date.Format(time.DateOnly), d.Cost, d.Requests)
		}
	}
	return b.String()
}

// Ensures retention drops whole old partitions (never a DELETE), after building the aggregates
// of their days (late events included), and that reports of those days, and of a day that
// straddles the dropped partition's edge, show the same numbers afterwards.
func TestRetentionKeepsReports(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	jan31 := time.Date(2026, 1, 31, 0, 0, 0, 0, seoul)
	feb1 := time.Date(2026, 2, 1, 0, 0, 0, 0, seoul)
	insert(t, f.pool,
		ev{at: jan31.Add(2 * time.Hour), service: "QA_CHAT", user: "u1", cost: "10.5", ms: 120},
		ev{at: jan31.Add(3 * time.Hour), service: "MATCH", user: "u2", cost: "3.25", ms: 2400},
		ev{at: jan31.Add(4 * time.Hour), service: "MATCH", user: "", cost: "", ms: 45},
		ev{at: feb1.Add(30 * time.Minute), service: "QA_CHAT", user: "u1", cost: "1", ms: 700}, // UTC 31 Jan: January partition
		ev{at: feb1.Add(12 * time.Hour), service: "QA_CHAT", user: "u3", cost: "2", ms: 900},   // UTC 1 Feb: February partition
	)
	job := f.job()
	f.now = time.Date(2026, 2, 2, 9, 0, 0, 0, seoul)
	periods := []report.Period{
		report.PeriodContaining(report.Daily, jan31, seoul),
		report.PeriodContaining(report.Daily, feb1, seoul),
		report.PeriodContaining(report.Monthly, jan31, seoul),
		report.PeriodContaining(report.Weekly, feb1, seoul),
	}
	for _, p := range periods {
		if _, err := job.Run(ctx, p, report.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A late event for 31 January arrives after that day was reported.
	insert(t, f.pool, ev{at: jan31.Add(20 * time.Hour), service: "LATE", user: "u9", cost: "100", ms: 50})
	var febRows int
	f.pool.QueryRow(ctx, "SELECT count(*) FROM events_2026_02").Scan(&febRows)
	// What the reports show while the raw events exist (the late event now included).
	before := map[string]string{}
	for _, p := range periods {
		r, err := job.Run(ctx, p, report.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before[p.String()] = snapshot(t, r.Report)
	}

	// Retention 30 days on 15 March: every partition up to January 2026 goes.
	f.now = time.Date(2026, 3, 15, 12, 0, 0, 0, seoul)
	job.RetentionDays = 30
	res, err := job.Run(ctx, report.PeriodContaining(report.Daily, f.now, seoul).Previous(), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slicesContains(res.Dropped, "events_2026_01") || slicesContains(res.Dropped, "events_2026_02") {
		t.Fatalf("dropped %v; want January and older, not February", res.Dropped)
	}
	var exists bool
	f.pool.QueryRow(ctx, "SELECT to_regclass('events_2026_01') IS NOT NULL").Scan(&exists)
	if exists {
		t.Fatal("events_2026_01 still exists")
	}
	var n int
	f.pool.QueryRow(ctx, "SELECT count(*) FROM events_2026_02").Scan(&n)
	if n != febRows {
		t.Fatalf("February partition lost rows: %d of %d", n, febRows)
	}

	// An empty January partition re-created later (the collector premakes partitions) must not
	// wipe the aggregates either.
	if err := pgstore.EnsurePartitions(ctx, f.pool, jan31, jan31); err != nil {
		t.Fatal(err)
	}
	for _, p := range periods {
		after, err := job.Run(ctx, p, report.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := snapshot(t, after.Report)
		if got != before[p.String()] {
			t.Errorf("%s changed after retention:\nbefore:\n%s\nafter:\n%s", p, before[p.String()], got)
		}
		switch p.Label() {
		case "2026-01-31":
			if !after.Report.Totals.Cost.Equal(testkit.Dec("113.75")) || after.Report.Totals.Requests != 4 || after.Report.Totals.Unpriced != 1 {
				t.Errorf("31 Jan after retention (late event included):\n%s", got)
			}
			if len(after.Report.RefreshedDays) != 0 {
				t.Errorf("31 Jan rebuilt from events after its partition was dropped")
			}
		case "2026-02-01":
			if !after.Report.Totals.Cost.Equal(testkit.Dec("3")) || after.Report.Totals.Requests != 2 {
				t.Errorf("1 Feb (straddles the dropped partition) after retention:\n%s", got)
			}
		case "2026-01":
			if !after.Report.Totals.Cost.Equal(testkit.Dec("113.75")) || after.Report.Totals.Requests != 4 {
				t.Errorf("January after retention:\n%s", got)
			}
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Ensures an alert with nowhere to go stays pending with a clear error, and one whose budget was
// removed from the configuration is skipped without failing the run.
func TestAlertWithoutRecipientsStaysPending(t *testing.T) {
	f := setup(t)
	f.now = day1.Add(23 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"})
	job := f.job(daily("d", "100"))
	job.Recipients = nil
	p := report.PeriodContaining(report.Daily, day1, seoul)
	ctx := context.Background()
	if _, err := job.Run(ctx, p, report.RunOptions{}); err == nil || !strings.Contains(err.Error(), "no recipients") {
		t.Fatalf("run without recipients: %v", err)
	}
	e := f.ledger(t)
	if len(e) != 1 || e[0].Status != report.StatusPending || !strings.Contains(e[0].LastError, "no recipients") {
		t.Fatalf("ledger %+v", e)
	}
	gone := f.job() // the budget was removed from the configuration
	res, err := gone.Run(ctx, p, report.RunOptions{})
	if err != nil || res.Alerts.Skipped != 1 || len(f.delivered(t)) != 0 {
		t.Fatalf("removed budget: err %v skipped %d", err, res.Alerts.Skipped)
	}
}

// Ensures a run limited to the alert step (a frequent budget check) alerts without a report or
// dropping partitions, and brings the aggregates of its budgets' periods up to date (today
// included), so that the next check reads the events only since; a dry run changes nothing.
func TestAlertsOnlyRun(t *testing.T) {
	f := setup(t)
	f.now = time.Date(2026, 11, 20, 12, 0, 0, 0, seoul)
	insert(t, f.pool, ev{at: f.now.Add(-time.Hour), cost: "70"})
	job := f.job(daily("d", "100"))
	job.RetentionDays = 30
	ctx := context.Background()
	p := report.PeriodContaining(report.Daily, f.now, seoul)
	current := func() (days, marks int) {
		f.pool.QueryRow(ctx, "SELECT count(*) FROM aggregate_days WHERE day = '2026-11-20'").Scan(&days)
		f.pool.QueryRow(ctx, "SELECT count(*) FROM event_changes").Scan(&marks)
		return days, marks
	}
	if _, err := job.Run(ctx, p, report.RunOptions{Steps: report.StepAlerts, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if days, marks := current(); days != 0 || marks == 0 {
		t.Fatalf("dry-run check: %d current days, %d change marks left; want 0 and the marks", days, marks)
	}
	res, err := job.Run(ctx, p, report.RunOptions{Steps: report.StepAlerts})
	if err != nil || res.Alerts.Sent != 1 || res.Report != nil || len(res.Dropped) != 0 {
		t.Fatalf("alerts only: err %v sent %d report %v dropped %v", err, res.Alerts.Sent, res.Report != nil, res.Dropped)
	}
	if days, marks := current(); days != 1 || marks != 0 || len(f.delivered(t)) != 1 {
		t.Errorf("check: %d current days, %d marks left, %d emails; want today current, none, 1", days, marks, len(f.delivered(t)))
	}
}

// Ensures GET /v1/budgets answers from the event log with the batch job's evaluation, and
// reuses an answer for CacheFor only.
func TestBudgetBoard(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := day1.Add(12 * time.Hour)
	insert(t, f.pool, ev{at: day1.Add(time.Hour), cost: "60"}, ev{at: day1.Add(-time.Hour), cost: "1000"}) // the second is yesterday
	m := report.Budget{Name: "m", Period: report.Monthly, Amount: testkit.Dec("10000"), Forecast: true}
	board := &report.BudgetBoard{Source: f.store, Budgets: []report.Budget{daily("d", "100"), m}, Location: seoul,
		Now: func() time.Time { return now }, CacheFor: 30 * time.Second}
	get := func() []report.Status {
		t.Helper()
		asOf, sts, err := board.Statuses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !asOf.Equal(now) || asOf.Location() != seoul {
			t.Errorf("as of %v; want %v in Seoul", asOf, now)
		}
		return sts
	}
	r := get()
	d := r[0]
	if d.Spent.String() != "60" || d.State != report.StateInfo || d.Percent.StringFixed(2) != "60.00" || d.Remaining.String() != "40" || d.Period.Label() != "2026-10-01" || !d.HasForecast || d.Projected.String() != "120" {
		t.Errorf("daily %+v", d)
	}
	if mo := r[1]; mo.Spent.String() != "60" || mo.State != report.StateOK || mo.HasForecast || mo.Period.Label() != "2026-10" {
		t.Errorf("monthly %+v", mo) // 12 hours of a 31-day month: too early to forecast
	}
	insert(t, f.pool, ev{at: day1.Add(2 * time.Hour), cost: "40"})
	now = now.Add(10 * time.Second)
	// Within CacheFor the answer is the cached one, as of when it was computed.
	if _, sts, err := board.Statuses(ctx); err != nil || sts[0].Spent.String() != "60" {
		t.Errorf("within 30 s: spent %v (%v); want the cached 60", sts[0].Spent, err)
	}
	now = now.Add(30 * time.Second)
	if got := get()[0]; got.Spent.String() != "100" || got.State != report.StateExceeded {
		t.Errorf("after 30 s: %+v; want 100, exceeded", got)
	}
}

// Ensures the run's one-line summary says an empty period had no requests (not "$0.00 over 0
// requests (0.0 % ok)") and that every count in it agrees with its noun.
func TestResultSummaryWording(t *testing.T) {
	p := report.Period{Kind: report.Daily, Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}
	empty := (&report.Result{Period: p, Report: &report.Report{}}).Summary("USD")
	if !strings.Contains(empty, ": no requests,") || strings.Contains(empty, "0 requests") || strings.Contains(empty, "% ok") {
		t.Errorf("summary of an empty period: %q; want \"no requests\"", empty)
	}
	one := (&report.Result{Period: p, Report: &report.Report{Totals: report.Totals{Requests: 1}},
		Published: []string{"daily/2026-12-01/index.html"}, Dropped: []string{"events_2026_01"}}).Summary("USD")
	for _, want := range []string{" over 1 request (", "1 file published", "1 partition dropped"} {
		if !strings.Contains(one, want) {
			t.Errorf("summary %q; want %q", one, want)
		}
	}
}

// Ensures a report in progress counts the day in progress of a shorter budget as the budget
// check does: over the whole day, with its events stamped later than now, not only up to now.
func TestSummaryOfThePeriodInProgressAsTheCheck(t *testing.T) {
	f := setup(t)
	f.now = time.Date(2026, 11, 18, 12, 0, 0, 0, seoul) // a Wednesday
	insert(t, f.pool,
		ev{at: time.Date(2026, 11, 16, 10, 0, 0, 0, seoul), cost: "150"}, // Monday: exceeded
		ev{at: f.now.Add(-time.Hour), cost: "60"},
		ev{at: f.now.Add(3 * time.Hour), cost: "50"}) // stamped later today: 110 of 100 today
	b := daily("d", "100")
	job := f.job(b)
	ctx := context.Background()
	check, err := report.CurrentStatuses(ctx, f.store, []report.Budget{b}, f.now, seoul)
	if err != nil || check[0].State != report.StateExceeded {
		t.Fatalf("today's check: %+v, %v; want exceeded", check, err)
	}
	res, err := job.Run(ctx, report.PeriodContaining(report.Weekly, f.now, seoul), report.RunOptions{Steps: report.StepStatistics})
	if err != nil {
		t.Fatal(err)
	}
	if sums := res.Report.BudgetSummaries; len(sums) != 1 || sums[0].Periods != 3 || sums[0].Exceeded != 2 {
		t.Errorf("weekly summary of the daily budget: %+v; want 2 of the 3 days begun exceeded, today as the check says", sums)
	}
}
