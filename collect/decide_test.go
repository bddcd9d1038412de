package collect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// clock is a settable time for a Decider.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// perUserEnforced is a daily envelope of 10 per user (carol: 0), degrading big to small from
// 80 % and denying from 100 %.
func perUserEnforced() report.Budget {
	return report.Budget{
		Name: "per-user", Period: report.Daily, Amount: testkit.Dec("10"), Per: report.Per{Field: report.PerUserID},
		Overrides: map[string]decimal.Decimal{"carol": decimal.Zero},
		Enforce:   &report.Enforce{DegradeAt: 80, DegradeTo: map[string]string{"big": "small"}, DenyAt: 100},
	}
}

var decidePrices = pricing.New("USD", nil, []pricing.Price{
	{Model: "big", Input: testkit.Dec("3"), Output: testkit.Dec("15"), CacheRead: testkit.Dec("3"), CacheWrite: testkit.Dec("3")},
	{Model: "small", Input: testkit.Dec("1"), Output: testkit.Dec("5"), CacheRead: testkit.Dec("1"), CacheWrite: testkit.Dec("1")},
})

// decider is a Decider on a real database, and the event store whose commits advance it.
func decider(t *testing.T, pool *pgxpool.Pool, c *clock, onStale string, budgets ...report.Budget) (*collect.Decider, collect.EventStore) {
	t.Helper()
	d := collect.NewDecider(collect.DecideConfig{
		Budgets: budgets, Location: time.UTC, Prices: decidePrices, Source: pgquery.New(pool),
		Refresh: time.Second, MaxStaleness: 10 * time.Second, EstimateTTL: time.Minute, OnStale: onStale, Now: c.now,
	})
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	store := pgstore.New(pool, pgstore.Options{})
	t.Cleanup(store.Close)
	return d, d.Store(store)
}

func row(t *testing.T, at time.Time, user, cost string) collect.Row {
	r := eventtest.Row(eventtest.ID(t), at)
	r.Model, r.UserID = "big", user
	eventtest.Price(&r, cost)
	return r
}

func commit(t *testing.T, s collect.EventStore, rows ...collect.Row) {
	t.Helper()
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
}

func wantDecision(t *testing.T, a collect.DecideAnswer, decision, model string) {
	t.Helper()
	if a.Decision != decision || a.Model != model {
		t.Fatalf("decision %s %q, want %s %q: %+v", a.Decision, a.Model, decision, model, a)
	}
}

// Ensures decisions follow each user's envelope as events arrive, with no database read in
// between: allow below 80 %, degrade (to the mapped model) from 80 %, deny from 100 %; another
// user is untouched; an envelope of 0 denies from the start; a request without a user is in no
// envelope; a new refresh reads what was stored by other writers; the deciding budget states
// spent, limit, percent, remaining and when it resets.
func TestDecideFollowsEventsAsTheyArrive(t *testing.T) {
	pool := pgtest.Pool(t)
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	eventtest.Insert(t, pool, row(t, c.now().Add(-time.Hour), "alice", "5")) // stored before the collector started
	d, store := decider(t, pool, c, "allow", perUserEnforced())
	ask := func(user string) collect.DecideAnswer {
		return d.Decide(collect.DecideRequest{UserID: user, Model: "big"})
	}

	a := ask("alice")
	wantDecision(t, a, collect.Allow, "")
	if len(a.Budgets) != 1 || a.Budgets[0].Entity != "alice" || a.Budgets[0].Spent != "5" || a.Budgets[0].Percent != "50" ||
		a.Budgets[0].Remaining != "5" || !a.Budgets[0].ResetsAt.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("budgets %+v", a.Budgets)
	}
	commit(t, store, row(t, c.now(), "alice", "3"))
	wantDecision(t, ask("alice"), collect.Degrade, "small")
	wantDecision(t, ask("bob"), collect.Allow, "")
	commit(t, store, row(t, c.now(), "alice", "2"))
	wantDecision(t, ask("alice"), collect.Deny, "")
	wantDecision(t, ask("carol"), collect.Deny, "")
	if a := ask(""); a.Decision != collect.Allow || len(a.Budgets) != 0 {
		t.Errorf("no user: %+v", a)
	}

	// Another writer stores bob's spend: the next refresh reads it.
	eventtest.Insert(t, pool, row(t, c.now(), "bob", "9"))
	wantDecision(t, ask("bob"), collect.Allow, "")
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, ask("bob"), collect.Degrade, "small")
	// alice's spend, read back from the database, is not counted twice.
	if a := ask("alice"); a.Budgets[0].Spent != "10" {
		t.Errorf("alice after refresh: %+v", a.Budgets)
	}
}

// Ensures a refresh adds what other writers committed since the last read, and that a change to
// stored events (a re-pricing), which a read since does not see, reaches decisions with the
// next whole read, wholeReadEvery (5 minutes) after the last (on Citus, at once: every read is
// whole).
func TestDecideReadsSinceThenWhole(t *testing.T) {
	pool := pgtest.Pool(t)
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	eventtest.Insert(t, pool, row(t, c.now().Add(-time.Hour), "alice", "5"))
	d, store := decider(t, pool, c, "allow", perUserEnforced())
	spent := func(user string) string {
		t.Helper()
		return d.Decide(collect.DecideRequest{UserID: user, Model: "big"}).Budgets[0].Spent
	}
	refresh := func() {
		t.Helper()
		if err := d.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	eventtest.Insert(t, pool, row(t, c.now(), "bob", "4"), row(t, c.now().Add(-2*time.Hour), "alice", "0.5"))
	commit(t, store, row(t, c.now(), "alice", "1"))
	c.add(2 * time.Second)
	refresh()
	if a, b := spent("alice"), spent("bob"); a != "6.5" || b != "4" {
		t.Fatalf("after a read since: alice %s, bob %s; want 6.5 and 4", a, b)
	}
	pgtest.ChangeEvents(t, pool, `UPDATE events SET cost = 9 WHERE user_id = 'bob'`)
	c.add(2 * time.Second)
	refresh()
	// On Citus every read is whole (pgquery.Store.DecideSpend): the re-pricing counts at once.
	if b, want := spent("bob"), map[bool]string{false: "4", true: "9"}[pgtest.Citus()]; b != want {
		t.Fatalf("bob %s after a read since the re-pricing: want %s (Citus: %v)", b, want, pgtest.Citus())
	}
	c.add(5 * time.Minute)
	refresh()
	if a, b := spent("alice"), spent("bob"); a != "6.5" || b != "9" {
		t.Fatalf("after a whole read: alice %s, bob %s; want 6.5 and 9", a, b)
	}
}

// Ensures an estimate counts against the envelope until its event arrives: 200 concurrent
// decisions for one user at 99 % admit exactly as many as the remaining amount holds; once the
// admitted requests' events arrive (by event_id) their estimates are replaced by their cost; an
// estimate whose event never arrives stops counting after the TTL; tokens are priced like an
// event, on the degraded model when degrading.
func TestDecideHoldsEstimates(t *testing.T) {
	pool := pgtest.Pool(t)
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	b := perUserEnforced()
	b.Enforce = &report.Enforce{DenyAt: 100}
	eventtest.Insert(t, pool, row(t, c.now(), "alice", "9.9"))
	d, store := decider(t, pool, c, "allow", b)
	est := testkit.Dec("0.01")
	var wg sync.WaitGroup
	answers := make([]collect.DecideAnswer, 200)
	ids := make([]string, 200)
	for i := range answers {
		ids[i] = eventtest.ID(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = d.Decide(collect.DecideRequest{EventID: ids[i], UserID: "alice", Model: "big", EstimatedCost: &est})
		}()
	}
	wg.Wait()
	var admitted []string
	for i, a := range answers {
		if a.Decision == collect.Allow {
			admitted = append(admitted, ids[i])
		}
	}
	if len(admitted) != 10 { // 0.10 remaining, 0.01 each
		t.Fatalf("%d of 200 admitted at 99 %%; want 10", len(admitted))
	}
	// The admitted requests' events arrive, cheaper than estimated: their room comes back.
	var rows []collect.Row
	for _, id := range admitted[:5] {
		r := row(t, c.now(), "alice", "0.001")
		r.EventID = id
		rows = append(rows, r)
	}
	commit(t, store, rows...)
	if a := d.Decide(collect.DecideRequest{UserID: "alice", Model: "big", EstimatedCost: &est}); a.Decision != collect.Allow {
		t.Errorf("after 5 events of 0.001 replaced 5 estimates of 0.01: %+v", a)
	}
	// Nothing else arrives: after the TTL the estimates stop counting.
	c.add(2 * time.Minute)
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := d.Decide(collect.DecideRequest{UserID: "alice", Model: "big"})
	if a.Budgets[0].Spent != "9.905" {
		t.Errorf("after the TTL: spent %s, want 9.905 (events only)", a.Budgets[0].Spent)
	}

	// Tokens are priced like an event: 1,000 input and 1,000 output on big cost 0.018.
	in, out := int64(1000), int64(1000)
	d2, _ := decider(t, pgtest.Pool(t), c, "allow", perUserEnforced())
	if a := d2.Decide(collect.DecideRequest{UserID: "dave", Model: "big", InputTokens: &in, MaxOutputTokens: &out}); a.Estimate != "0.018" {
		t.Errorf("estimate %s, want 0.018", a.Estimate)
	}
}

// Ensures an estimate held in a period that has ended stops counting with it and, released
// later (its event arrives after midnight), takes nothing from what is held in the new period;
// and that the new period holds and releases its own estimates as before.
func TestDecideHoldsAcrossPeriods(t *testing.T) {
	pool := pgtest.Pool(t)
	c := &clock{t: time.Date(2026, 11, 30, 23, 59, 45, 0, time.UTC)}
	b := perUserEnforced()
	b.Enforce = &report.Enforce{DenyAt: 100}
	d, store := decider(t, pool, c, "allow", b) // estimates held for a minute
	spent := func() string {
		t.Helper()
		return d.Decide(collect.DecideRequest{UserID: "alice", Model: "big"}).Budgets[0].Spent
	}
	five, three := testkit.Dec("5"), testkit.Dec("3")
	before, after := eventtest.ID(t), eventtest.ID(t)
	wantDecision(t, d.Decide(collect.DecideRequest{EventID: before, UserID: "alice", Model: "big", EstimatedCost: &five}), collect.Allow, "")
	if s := spent(); s != "5" {
		t.Fatalf("held before midnight: spent %s, want 5", s)
	}
	c.add(30 * time.Second) // 00:00:15, a new day: the daily envelope starts from nothing
	if s := spent(); s != "0" {
		t.Fatalf("after midnight: spent %s, want 0", s)
	}
	wantDecision(t, d.Decide(collect.DecideRequest{EventID: after, UserID: "alice", Model: "big", EstimatedCost: &three}), collect.Allow, "")
	// The first request's event arrives now, dated before midnight: its estimate is released,
	// and the new day's estimate of 3 still counts.
	r := row(t, c.now().Add(-20*time.Second), "alice", "4")
	r.EventID = before
	commit(t, store, r)
	if s := spent(); s != "3" {
		t.Fatalf("after the old period's event: spent %s, want 3 (the new day's estimate)", s)
	}
	r = row(t, c.now(), "alice", "2")
	r.EventID = after
	commit(t, store, r)
	if s := spent(); s != "2" {
		t.Fatalf("after the new day's event: spent %s, want 2", s)
	}
}

// Ensures that once the last successful read is older than max_staleness (the database became
// unreachable), on_stale decides and the answer says so: allow (fail open) or deny; and that
// answers never wait on the database.
func TestDecideWhenStale(t *testing.T) {
	for _, onStale := range []string{collect.Allow, collect.Deny} {
		t.Run(onStale, func(t *testing.T) {
			url := pgtest.URL(t)
			pool := pgtest.Connect(t, url)
			own, err := pgxpool.New(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
			eventtest.Insert(t, pool, row(t, c.now(), "alice", "9"))
			d, _ := decider(t, own, c, onStale, perUserEnforced())
			if a := d.Decide(collect.DecideRequest{UserID: "alice", Model: "big"}); a.Stale || a.Decision != collect.Degrade {
				t.Fatalf("fresh: %+v", a)
			}
			own.Close() // the database is gone for this collector
			c.add(11 * time.Second)
			if err := d.Refresh(context.Background()); err == nil {
				t.Fatal("refresh on a closed pool succeeded")
			}
			a := d.Decide(collect.DecideRequest{UserID: "alice", Model: "big"})
			if !a.Stale || a.Decision != onStale || a.StalenessMS != 11000 || a.MaxStaleness != 10000 {
				t.Errorf("stale: %+v", a)
			}
		})
	}
}

// Ensures POST /v1/decide answers bad input in the API's JSON error shape, never a 500: 401
// without a token, 415 for another content type, 400 for a body that is not a JSON object, 413
// for a huge body, 422 listing every invalid field; and that without enforced budgets it allows.
func TestDecideBadInput(t *testing.T) {
	pool := pgtest.Pool(t)
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	d, store := decider(t, pool, c, "allow", perUserEnforced())
	for _, withDecider := range []bool{true, false} {
		cfg := collect.Config{Tokens: []string{"tok"}, Prices: decidePrices}
		if withDecider {
			cfg.Decide = d
		}
		srv := httptest.NewServer(collect.NewServer(cfg, slog.New(slog.DiscardHandler), store, pool, nil, nil))
		defer srv.Close()
		call := func(token, ctype, body string) (int, map[string]any) {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/decide", strings.NewReader(body))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatalf("%d: not JSON: %v", resp.StatusCode, err)
			}
			return resp.StatusCode, m
		}
		for _, tc := range []struct {
			token, ctype, body string
			status             int
			fields             []string
		}{
			{"", "application/json", `{}`, 401, nil},
			{"tok", "text/plain", `{}`, 415, nil},
			{"tok", "application/json", `[1]`, 400, nil},
			{"tok", "application/json", `{"user_id":`, 400, nil},
			{"tok", "application/json", `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, 413, nil},
			{"tok", "application/json", `{"user_id":5,"estimated_cost":"-1","input_tokens":-3,"max_output_tokens":"a","tags":[1],"colour":"red","model":"` + strings.Repeat("m", 300) + `"}`,
				422, []string{"colour", "estimated_cost", "input_tokens", "max_output_tokens", "model", "tags", "user_id"}},
			{"tok", "application/json", `{"estimated_cost":"1e999999999"}`, 422, []string{"estimated_cost"}},
		} {
			status, m := call(tc.token, tc.ctype, tc.body)
			if status != tc.status || m["error"] == nil {
				t.Errorf("%.60s: %d %v; want %d with an error", tc.body, status, m, tc.status)
				continue
			}
			var fields []string
			ps, _ := m["problems"].([]any)
			for _, p := range ps {
				fields = append(fields, p.(map[string]any)["field"].(string))
			}
			if fmt.Sprint(fields) != fmt.Sprint(tc.fields) && tc.fields != nil {
				t.Errorf("%.60s: problems %v; want %v", tc.body, fields, tc.fields)
			}
		}
		status, m := call("tok", "application/json", `{"user_id":"carol","model":"big","estimated_cost":0.5}`)
		want := map[bool]string{true: "deny", false: "allow"}[withDecider]
		if status != 200 || m["decision"] != want {
			t.Errorf("decider %v: %d %v; want %s", withDecider, status, m, want)
		}
	}
}
