package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures re-pricing a range changes exactly the events of the range whose cost aispend computes
// and whose price changed, never a client's cost, records what it changed, marks exactly their
// hours for re-aggregation, and writes nothing in a dry run.
func TestRepriceRange(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	ctx := context.Background()
	d := decimal.RequireFromString
	fx := map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}
	since := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	old := pricing.New("KRW", fx, []pricing.Price{
		{Model: "m1", From: since, Input: d("3"), CacheRead: d("3"), CacheWrite: d("3"), Output: d("15")},
		{Model: "m3", From: since, Input: d("1"), CacheRead: d("1"), CacheWrite: d("1"), Output: d("1")},
		{Model: "m4", From: since, Input: d("1"), CacheRead: d("1"), CacheWrite: d("1"), Output: d("1")},
	})
	cur := pricing.New("KRW", fx, []pricing.Price{
		{Model: "m1", From: since, Input: d("2"), CacheRead: d("2"), CacheWrite: d("2"), Output: d("10")},
		{Model: "m2", From: since, Input: d("3"), CacheRead: d("3"), CacheWrite: d("3"), Output: d("15")},
		{Model: "m3", From: since, Input: d("1"), CacheRead: d("1"), CacheWrite: d("1"), Output: d("1")},
	})
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	ev := func(id, model string, at time.Time, sent string) collect.Row {
		r := collect.Row{EventID: id, OccurredAt: at, Service: "S", Model: model, InputTokens: 500, OutputTokens: 300, Success: true, DurationMS: -1}
		if sent != "" {
			r.SentCost, r.SentCurrency = decimal.NewNullDecimal(d(sent)), "KRW"
		}
		r.Price(old)
		return r
	}
	rows := []collect.Row{
		ev("changes", "m1", from.Add(3*time.Hour), ""),
		ev("before-range", "m1", from.Add(-time.Second), ""),
		ev("at-range-end", "m1", to, ""),
		ev("client-cost", "m1", from.Add(4*time.Hour), "99"),
		ev("gets-priced", "m2", from.Add(5*time.Hour+30*time.Minute), ""),
		ev("same-price", "m3", from.Add(6*time.Hour), ""),
		ev("no-price-now", "m4", from.Add(7*time.Hour), ""),
	}
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	costs := func() map[string]string {
		r, err := pool.Query(ctx, "SELECT event_id, coalesce(cost::text, 'null') || ' ' || coalesce(price_version, '') FROM events")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for r.Next() {
			var id, c string
			if err := r.Scan(&id, &c); err != nil {
				t.Fatal(err)
			}
			out[id] = c
		}
		return out
	}
	var lastChange int64
	if err := pool.QueryRow(ctx, "SELECT max(id) FROM event_changes").Scan(&lastChange); err != nil {
		t.Fatal(err)
	}
	initial := costs()

	dry, err := pgstore.RepriceRange(ctx, pool, cur, from, to, false)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Changed != 2 || dry.ID != 0 || !maps(initial, costs()) {
		t.Fatalf("dry run: %d changed (id %d), want 2 and nothing written", dry.Changed, dry.ID)
	}

	res, err := pgstore.RepriceRange(ctx, pool, cur, from, to, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 2 || res.ID == 0 {
		t.Fatalf("reprice: %d changed (id %d), want 2", res.Changed, res.ID)
	}
	after := costs()
	for id, want := range map[string]string{"changes": "5.2 m1@2026-09-01", "gets-priced": "7.8 m2@2026-09-01"} {
		if got := after[id]; got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
		delete(after, id)
		delete(initial, id)
	}
	if !maps(initial, after) {
		t.Fatalf("other events changed:\nbefore %v\nafter  %v", initial, after)
	}
	// m1 in range: "changes" 7.80 → 5.20; "client-cost" is not the table's to change.
	want := []pgstore.RepriceModel{
		{Model: "m1", Events: 1, Changed: 1, Before: d("7.8"), After: d("5.2"), VersionsBefore: []string{"m1@2026-09-01"}, VersionsAfter: []string{"m1@2026-09-01"}},
		{Model: "m2", Events: 1, Changed: 1, Before: d("0"), After: d("7.8"), VersionsBefore: []string{}, VersionsAfter: []string{"m2@2026-09-01"}},
		{Model: "m3", Events: 1, Changed: 0, Before: d("1.04"), After: d("1.04"), VersionsBefore: []string{}, VersionsAfter: []string{}},
		// m4 has no price now: it keeps its cost rather than turn unpriced.
		{Model: "m4", Events: 1, Changed: 0, Before: d("1.04"), After: d("1.04"), VersionsBefore: []string{}, VersionsAfter: []string{}},
	}
	if len(res.Models) != len(want) {
		t.Fatalf("models %+v", res.Models)
	}
	for i, w := range want {
		g := res.Models[i]
		if g.Model != w.Model || g.Events != w.Events || g.Changed != w.Changed || !g.Before.Equal(w.Before) || !g.After.Equal(w.After) ||
			!slices.Equal(g.VersionsBefore, w.VersionsBefore) || !slices.Equal(g.VersionsAfter, w.VersionsAfter) {
			t.Errorf("model %d: %+v, want %+v", i, g, w)
		}
	}

	// The record of what changed.
	var events int64
	var before, afterSum string
	if err := pool.QueryRow(ctx, "SELECT events, cost_before::text, cost_after::text FROM reprices WHERE id = $1 AND finished_at IS NOT NULL", res.ID).
		Scan(&events, &before, &afterSum); err != nil {
		t.Fatal(err)
	}
	if events != 2 || !d(before).Equal(d("7.8")) || !d(afterSum).Equal(d("13")) {
		t.Fatalf("reprices row: %d events, %s → %s", events, before, afterSum)
	}
	var logged []string
	r, err := pool.Query(ctx, `SELECT model || ' ' || events || ' ' || trim_scale(cost_before)::text || ' ' || trim_scale(cost_after)::text || ' ' || array_to_string(versions_before, ',') || ' ' || array_to_string(versions_after, ',')
		FROM reprice_models WHERE reprice_id = $1 ORDER BY model`, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var l string
		if err := r.Scan(&l); err != nil {
			t.Fatal(err)
		}
		logged = append(logged, l)
	}
	if !slices.Equal(logged, []string{"m1 1 7.8 5.2 m1@2026-09-01 m1@2026-09-01", "m2 1 0 7.8  m2@2026-09-01"}) {
		t.Fatalf("reprice_models: %q", logged)
	}

	// Exactly the hours of the changed events are marked for re-aggregation.
	var hours []time.Time
	r, err = pool.Query(ctx, "SELECT DISTINCT hour FROM event_changes WHERE id > $1 ORDER BY hour", lastChange)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var h time.Time
		if err := r.Scan(&h); err != nil {
			t.Fatal(err)
		}
		hours = append(hours, h.UTC())
	}
	if !slices.Equal(hours, []time.Time{from.Add(3 * time.Hour), from.Add(5 * time.Hour)}) {
		t.Fatalf("hours marked %v", hours)
	}

	again, err := pgstore.RepriceRange(ctx, pool, cur, from, to, true)
	if err != nil || again.Changed != 0 {
		t.Fatalf("second reprice: %d changed (%v), want 0", again.Changed, err)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
