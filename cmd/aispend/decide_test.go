package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// decideConfig is a per-user envelope of 10 USD a day, degrading big to small from 80 % and
// denying from 100 %, refreshed from the database every 100 ms.
const decideConfig = `currency: USD
timezone: UTC
prices:
  - {model: big, from: 2025-01-01, input: 3, output: 15}
  - {model: small, from: 2025-01-01, input: 1, output: 5}
budgets:
  - name: per-user
    period: daily
    amount: 10
    per: user_id
    enforce: {degrade_at: 80, degrade_to: {big: small}, deny_at: 100}
decide: {refresh: 100ms, max_staleness: 30s}
`

// twoCollectors starts two collectors (replicas) on one database with decideConfig.
func twoCollectors(t *testing.T) (a, b string) {
	t.Helper()
	dbURL := pgtest.URL(t)
	cfg := writeYAML(t, decideConfig)
	env := func() map[string]string {
		return map[string]string{"DATABASE_URL": dbURL, "AISPEND_INGEST_TOKENS": "tok", "AISPEND_CONFIG": cfg}
	}
	return startServe(t, env()), startServe(t, env())
}

// spend posts one event of user with cost to a collector.
func spend(t *testing.T, base, user, cost string) {
	t.Helper()
	// A minute ago, but never before today (UTC): the envelope is daily, and an event of
	// yesterday counts in none of today's decisions (this failed in the first minute of a day).
	now := time.Now().UTC()
	at := now.Add(-time.Minute)
	if day := now.Truncate(24 * time.Hour); at.Before(day) {
		at = day
	}
	body := fmt.Sprintf(`{"event_id":"%s-%d","occurred_at":%q,"service":"QA_CHAT","model":"big","input_tokens":1,"output_tokens":1,"cost":%q,"user_id":%q}`,
		t.Name(), now.UnixNano(), at.Format(time.RFC3339Nano), cost, user)
	if status, m := apiCall(t, "POST", base+"/v1/events", "tok", body); status != 200 {
		t.Fatalf("POST /v1/events: %d %v", status, m)
	}
}

func decide(t *testing.T, base, body string) map[string]any {
	t.Helper()
	status, m := apiCall(t, "POST", base+"/v1/decide", "tok", body)
	if status != 200 {
		t.Fatalf("POST /v1/decide: %d %v", status, m)
	}
	return m
}

// Ensures real collectors answer POST /v1/decide as events arrive: the collector that committed
// an event counts it in its very next answer; a second replica counts it once its background
// refresh has read it (within a bounded wait, never by asking the database in the request); the
// answer names the deciding budget and entity, the model to degrade to, as_of and the staleness.
func TestDecideTwoReplicas(t *testing.T) {
	a, b := twoCollectors(t)
	req := `{"user_id":"alice","model":"big","service":"QA_CHAT"}`
	if m := decide(t, a, req); m["decision"] != "allow" || m["stale"] != false {
		t.Fatalf("before any spend: %v", m)
	}
	spend(t, a, "alice", "8.5")
	m := decide(t, a, req)
	if m["decision"] != "degrade" || m["model"] != "small" {
		t.Fatalf("the committing replica: %v", m)
	}
	bud := m["budgets"].([]any)[0].(map[string]any)
	if bud["name"] != "per-user" || bud["entity"] != "alice" || bud["spent"] != "8.5" || bud["percent"] != "85" || bud["remaining"] != "1.5" {
		t.Errorf("deciding budget %v", bud)
	}
	if _, ok := m["as_of"].(string); !ok {
		t.Errorf("as_of %v", m["as_of"])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := decide(t, b, req)
		if m["decision"] == "degrade" {
			break
		}
		if m["decision"] != "allow" || time.Now().After(deadline) {
			t.Fatalf("the other replica never counted the event: %v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := decide(t, b, `{"user_id":"bob","model":"big"}`); m["decision"] != "allow" {
		t.Errorf("bob on the other replica: %v", m)
	}
}

// readSpend waits until every collector of bases has read the spend of user committed before the
// call: a read that began after it (as_of), so that no commit still counts on top of a read that
// includes it (a commit that races a read counts twice until the next read: on the side of spend).
func readSpend(t *testing.T, user string, bases ...string) {
	t.Helper()
	since := time.Now()
	for _, base := range bases {
		deadline := time.Now().Add(20 * time.Second)
		for {
			m := decide(t, base, fmt.Sprintf(`{"user_id":%q,"model":"big"}`, user))
			asOf, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["as_of"]))
			if m["decision"] == "degrade" && asOf.After(since) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("spend of %s never read: %v", user, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Ensures a burst of 200 concurrent decisions for one user at 99 % of the envelope, each with an
// estimate, admits exactly what the remaining amount allows on one collector, and at most that
// once per replica when the burst is split over two (the bound the README states).
func TestDecideBurstAt99Percent(t *testing.T) {
	a, b := twoCollectors(t)
	spend(t, a, "alice", "9.9")
	readSpend(t, "alice", a, b)
	burst := func(user string, bases ...string) int {
		var mu sync.Mutex
		var wg sync.WaitGroup
		admitted := 0
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := decide(t, bases[i%len(bases)], fmt.Sprintf(`{"user_id":%q,"model":"small","estimated_cost":"0.01"}`, user))
				if m["decision"] != "deny" {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return admitted
	}
	if n := burst("alice", a); n != 10 {
		t.Errorf("one replica admitted %d of 200 at 99 %%; want 10 (0.10 remaining, 0.01 each)", n)
	}
	spend(t, a, "bea", "9.9")
	readSpend(t, "bea", a, b)
	if n := burst("bea", a, b); n < 10 || n > 20 {
		t.Errorf("two replicas admitted %d of 200 at 99 %%; want 10 to 20 (each replica at most the remaining amount)", n)
	}
}

// Ensures GET /v1/budgets states an envelope budget's entities (how many, how many exceeded, and
// for read tokens the nearest to or over their envelope, exact to the last unit), and that
// GET /v1/budgets/{name}/entities pages through every one in that order; an ingest token sees
// the counts but no entity, and may not page (403); a budget without per is 404; bad paging 400.
func TestBudgetEntitiesReadAPI(t *testing.T) {
	dbURL := pgtest.URL(t)
	cfg := writeYAML(t, strings.Replace(decideConfig, "decide:", "  - {name: total, period: daily, amount: 100}\ndecide:", 1))
	base := startServe(t, map[string]string{"DATABASE_URL": dbURL, "AISPEND_INGEST_TOKENS": "tok", "AISPEND_READ_TOKENS": "read", "AISPEND_CONFIG": cfg})
	for i := 0; i < 25; i++ {
		spend(t, base, fmt.Sprintf("user-%02d", i), fmt.Sprintf("%d.123456789", i/2))
	}
	spend(t, base, "user-24", "0.000000001") // user-24: 12.123456790, over its 10
	spend(t, base, "", "50")                 // no user: in the total, in no envelope

	status, m := apiCall(t, "GET", base+"/v1/budgets", "read", "")
	if status != 200 {
		t.Fatalf("GET /v1/budgets: %d %v", status, m)
	}
	var env map[string]any
	for _, b := range m["budgets"].([]any) {
		if b := b.(map[string]any); b["name"] == "per-user" {
			env = b
		}
	}
	if env == nil || env["per"] != "user_id" {
		t.Fatalf("per-user in %v", m)
	}
	ents := env["entities"].(map[string]any)
	nearest := ents["nearest"].([]any)
	first := nearest[0].(map[string]any)
	if ents["count"] != 25.0 || ents["exceeded"] != 5.0 || len(nearest) != 10 ||
		first["entity"] != "user-24" || first["spent"] != "12.12345679" || first["state"] != "exceeded" || first["percent"] != "121.23" {
		t.Errorf("entities %v", ents)
	}
	_, m = apiCall(t, "GET", base+"/v1/budgets", "tok", "")
	for _, b := range m["budgets"].([]any) {
		if b := b.(map[string]any); b["name"] == "per-user" {
			if e := b["entities"].(map[string]any); e["nearest"] != nil || e["count"] != 25.0 {
				t.Errorf("ingest token sees %v", e)
			}
		}
	}

	var all []string
	for offset := 0; ; offset += 10 {
		status, page := apiCall(t, "GET", fmt.Sprintf("%s/v1/budgets/per-user/entities?offset=%d&limit=10", base, offset), "read", "")
		if status != 200 || page["total"] != 25.0 {
			t.Fatalf("page at %d: %d %v", offset, status, page)
		}
		es := page["entities"].([]any)
		for _, e := range es {
			all = append(all, e.(map[string]any)["entity"].(string))
		}
		if len(es) < 10 {
			break
		}
	}
	if len(all) != 25 || all[0] != "user-24" || all[1] != "user-22" || all[24] != "user-01" {
		t.Errorf("paged entities %v", all)
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/v1/budgets/per-user/entities", "tok", 403},
		{"/v1/budgets/total/entities", "read", 404},
		{"/v1/budgets/per-user/entities?offset=-1&limit=0&x=1", "read", 400},
	} {
		if status, m := apiCall(t, "GET", base+tc.path, tc.token, ""); status != tc.status || m["error"] == nil {
			t.Errorf("%s: %d %v; want %d", tc.path, status, m, tc.status)
		}
	}
}

// Ensures a run's workbook lists every entity of an envelope budget on its Envelopes sheet, each
// spend equal to the database's own sum for that user over the budget period up to the report's
// end, to the last unit.
func TestWorkbookListsEveryEntity(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST") // alerts go to the outbox
	if err := os.WriteFile(env["AISPEND_CONFIG"], []byte(batchConfig+`  - name: per-user
    period: monthly
    amount: 20
    per: user_id
    overrides: {user-3: 5}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	insertDay(t, dbURL, "2026-10-01", 60)
	insertDay(t, dbURL, "2026-10-02", 20) // after the report's end: not counted
	var logs bytes.Buffer
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), io.Discard, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	f, err := excelize.OpenFile(filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01/aispend-daily-2026-10-01.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Envelopes", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Connect(t, dbURL)
	day := seoulDay(t, "2026-10-01")
	raw, err := pool.Query(context.Background(), `SELECT user_id, sum(cost)::text FROM events
		WHERE occurred_at >= $1 AND occurred_at < $2 AND coalesce(user_id, '') <> '' GROUP BY 1`, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for raw.Next() {
		var u, c string
		if err := raw.Scan(&u, &c); err != nil {
			t.Fatal(err)
		}
		want[u] = c
	}
	if len(rows) != len(want)+1 || len(want) < 5 {
		t.Fatalf("Envelopes sheet has %d rows; want a header and %d entities", len(rows), len(want))
	}
	for _, r := range rows[1:] {
		if r[0] != "per-user" || !decimal.RequireFromString(r[5]).Equal(decimal.RequireFromString(want[r[3]])) {
			t.Errorf("row %v: spent %s, database %s", r, r[5], want[r[3]])
		}
		if limit := map[bool]string{true: "5", false: "20"}[r[3] == "user-3"]; r[4] != limit {
			t.Errorf("row %v: limit %s, want %s", r, r[4], limit)
		}
	}
}
