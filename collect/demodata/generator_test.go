package demodata_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pricing"
)

var seoul = mustLoad("Asia/Seoul")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// end is a fixed Friday evening in Seoul, so that the properties below are checked on the same
// data on every run.
var end = time.Date(2026, 11, 27, 19, 30, 0, 0, seoul)

func generate(t *testing.T, opt demodata.Options) (*demodata.Generator, []collect.Row) {
	t.Helper()
	if opt.Location == nil {
		opt.Location = seoul
	}
	g, err := demodata.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	var rows []collect.Row
	for r := range g.Rows() {
		rows = append(rows, r)
	}
	if len(rows) != g.Total() {
		t.Fatalf("Rows yielded %d events, Total says %d", len(rows), g.Total())
	}
	return g, rows
}

// comparable turns a row into something reflect.DeepEqual compares by value: decimals as their
// exact text, times as instants.
func comparable(r collect.Row) collect.Row {
	r.OccurredAt = r.OccurredAt.UTC()
	for _, d := range []*decimal.NullDecimal{&r.Cost, &r.SentCost, &r.FXRate} {
		if d.Valid {
			d.Decimal = decimal.RequireFromString(d.Decimal.String())
		}
	}
	return r
}

func byID(rows []collect.Row) map[string]collect.Row {
	m := make(map[string]collect.Row, len(rows))
	for _, r := range rows {
		m[r.EventID] = comparable(r)
	}
	return m
}

// Ensures the same seed gives the same events, field for field, and another seed other events.
func TestDeterministic(t *testing.T) {
	_, a := generate(t, demodata.Options{Seed: 7, Events: 5000, End: end})
	_, b := generate(t, demodata.Options{Seed: 7, Events: 5000, End: end})
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d events", len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(comparable(a[i]), comparable(b[i])) {
			t.Fatalf("same seed, event %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	_, c := generate(t, demodata.Options{Seed: 8, Events: 5000, End: end})
	ids := byID(a)
	for _, r := range c {
		if _, ok := ids[r.EventID]; ok {
			t.Fatalf("seeds 7 and 8 share event %s", r.EventID)
		}
	}
	if len(ids) != len(a) {
		t.Fatalf("%d events but %d distinct ids", len(a), len(ids))
	}
}

// Ensures a later run, or a run with more events, re-creates every event of an earlier run
// exactly: re-running the demo then only adds events, and the store skips the ones it has.
func TestLaterRunsContainEarlierEvents(t *testing.T) {
	_, base := generate(t, demodata.Options{Seed: 3, Events: 5000, End: end})
	contains := func(name string, bigger []collect.Row, from time.Time) {
		t.Helper()
		m := byID(bigger)
		n := 0
		for _, r := range base {
			if r.OccurredAt.Before(from) {
				continue
			}
			n++
			got, ok := m[r.EventID]
			if !ok {
				t.Fatalf("%s: event %s of %s is missing", name, r.EventID, r.OccurredAt)
			}
			if !reflect.DeepEqual(got, comparable(r)) {
				t.Fatalf("%s: event %s differs:\n%+v\n%+v", name, r.EventID, got, comparable(r))
			}
		}
		if n == 0 || len(bigger) <= n {
			t.Fatalf("%s: %d events checked, %d in the later set: want some, and more in the later set", name, n, len(bigger))
		}
	}
	_, later := generate(t, demodata.Options{Seed: 3, Events: 5000, End: end.Add(3 * time.Hour)})
	contains("three hours later", later, time.Time{})
	g, nextDay := generate(t, demodata.Options{Seed: 3, Events: 5000, End: end.Add(24 * time.Hour)})
	contains("next day", nextDay, g.Start())
	_, more := generate(t, demodata.Options{Seed: 3, Events: 8000, End: end})
	contains("more events", more, time.Time{})
}

// Ensures every event is one the collector would accept and would price exactly as the
// generator did: the generator reuses the price table code, it does not re-implement it.
func TestEventsAreValidAndPricedLikeTheCollector(t *testing.T) {
	g, rows := generate(t, demodata.Options{Seed: 1, Events: 20000, End: end})
	table, err := demodata.Table("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, seoul)
	if err != nil {
		t.Fatal(err)
	}
	rules := collect.Rules{Now: end, FutureSkew: 5 * time.Minute, MaxAge: 90 * 24 * time.Hour, Prices: table}
	for i, r := range rows {
		if r.OccurredAt.Before(g.Start()) || r.OccurredAt.After(end) {
			t.Fatalf("event %d at %s outside [%s, %s]", i, r.OccurredAt, g.Start(), end)
		}
		got, problems := toEvent(t, r).Validate(i, rules)
		if problems != nil {
			t.Fatalf("event %d refused: %+v\n%+v", i, problems, r)
		}
		if !reflect.DeepEqual(comparable(got), comparable(r)) {
			t.Fatalf("event %d: the collector makes\n%+v\nof the generated\n%+v", i, comparable(got), comparable(r))
		}
	}
}

func toEvent(t *testing.T, r collect.Row) *collect.Event {
	e := collect.NewEvent()
	e.EventID, e.OccurredAt, e.Service, e.Model, e.Provider = r.EventID, r.OccurredAt.Format(time.RFC3339Nano), r.Service, r.Model, r.Provider
	e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens =
		collect.Count(r.InputTokens), collect.Count(r.OutputTokens), collect.Count(r.CacheReadTokens), collect.Count(r.CacheWriteTokens), collect.Count(r.ReasoningTokens)
	e.DurationMS, e.Success, e.Error, e.CacheHit = collect.Count(r.DurationMS), r.Success, r.Error, r.CacheHit
	e.UserID, e.OrgID, e.Endpoint = r.UserID, r.OrgID, r.Endpoint
	if r.Tags != nil {
		if err := json.Unmarshal(r.Tags, &e.Tags); err != nil {
			t.Fatalf("tags %s: %v", r.Tags, err)
		}
	}
	return &e
}

// Ensures the default data set looks like a real product: services, models, a heavy tail of
// users in dozens of organisations, office hours, quiet weekends, one spike, failures, cache
// hits, prompt caching and a few unpriced events.
func TestLooksReal(t *testing.T) {
	g, rows := generate(t, demodata.Options{Seed: 1, End: end})
	n := len(rows)
	if n < demodata.DefaultEvents*8/10 || n > demodata.DefaultEvents*12/10 {
		t.Errorf("%d events, want about %d", n, demodata.DefaultEvents)
	}

	services, models, users, orgs := map[string]int{}, map[string]int{}, map[string]int{}, map[string]bool{}
	var failed, hits, cacheRead, cacheWrite, reasoning, unpriced, office, weekdayEvents int
	for _, r := range rows {
		services[r.Service]++
		if r.Cost.Valid {
			models[r.Model]++
		}
		users[r.UserID]++
		orgs[r.OrgID] = true
		switch {
		case !r.Success:
			failed++
			if r.Error == "" {
				t.Fatalf("failed event without an error: %+v", r)
			}
		case r.Error != "":
			t.Fatalf("successful event with an error: %+v", r)
		}
		if r.CacheHit {
			hits++
			if r.InputTokens != 0 || r.OutputTokens != 0 || r.Cost.Valid && !r.Cost.Decimal.IsZero() {
				t.Fatalf("a cache hit calls no model and costs nothing: %+v", r)
			}
		}
		if r.CacheReadTokens > 0 {
			cacheRead++
		}
		if r.CacheWriteTokens > 0 {
			cacheWrite++
		}
		if r.ReasoningTokens > 0 {
			reasoning++
		}
		if !r.Cost.Valid {
			unpriced++
			if r.CostSource != "none" || r.PriceVersion != "" {
				t.Fatalf("unpriced event marked as priced: %+v", r)
			}
		} else if r.CostSource != "local" || r.PriceVersion == "" || !r.FXRate.Valid {
			t.Fatalf("priced event without its price version and rate: %+v", r)
		}
		if at := r.OccurredAt.In(seoul); at.Weekday() != time.Saturday && at.Weekday() != time.Sunday {
			weekdayEvents++
			if h := at.Hour(); h >= 9 && h < 18 {
				office++
			}
		}
	}
	for _, s := range []string{"MATCH_EXPLANATION", "QA_CHAT", "DOC_SUMMARY", "EMBED_SEARCH", "AGENT_TASKS"} {
		if services[s] < n/50 {
			t.Errorf("service %s has %d events, want at least 2%%", s, services[s])
		}
	}
	for _, p := range demodata.Prices() {
		if models[p.Model] == 0 {
			t.Errorf("model %s of the price table has no priced event", p.Model)
		}
	}
	if len(users) < 2000 || len(orgs) < 24 {
		t.Errorf("%d users in %d organisations, want thousands in dozens", len(users), len(orgs))
	}
	counts := make([]int, 0, len(users))
	for _, c := range users {
		counts = append(counts, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	top := 0
	for _, c := range counts[:demodata.Users/100] {
		top += c
	}
	if share := float64(top) / float64(n); share < 0.25 || share > 0.6 {
		t.Errorf("the top 1%% of users make %.0f%% of the requests, want a heavy tail (25–60%%)", 100*share)
	}
	within := func(name string, count int, lo, hi float64) {
		if share := float64(count) / float64(n); share < lo || share > hi {
			t.Errorf("%s: %d events (%.2f%%), want %.1f–%.1f%%", name, count, 100*share, 100*lo, 100*hi)
		}
	}
	within("failures", failed, 0.015, 0.035)
	within("cache hits", hits, 0.07, 0.13)
	within("prompt-cache reads", cacheRead, 0.2, 0.7)
	within("prompt-cache writes", cacheWrite, 0.005, 0.1)
	within("reasoning", reasoning, 0.005, 0.1)
	within("unpriced", unpriced, 0.0001, 0.002)
	if share := float64(office) / float64(weekdayEvents); share < 0.6 {
		t.Errorf("%.0f%% of weekday requests in 09–18 Seoul office hours, want most", 100*share)
	}

	// Day volumes: quiet weekends and exactly one spike among the complete days.
	var weekday, weekend []int
	spikes := 0
	var spike demodata.Day
	for _, d := range g.Days() {
		if !d.Complete {
			continue
		}
		if d.Spike {
			spikes++
			spike = d
			continue
		}
		if wd := d.Date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend = append(weekend, d.Events)
		} else {
			weekday = append(weekday, d.Events)
		}
	}
	if spikes != 1 {
		t.Fatalf("%d spike days among the complete days, want 1", spikes)
	}
	if mean(weekend) > 0.5*mean(weekday) {
		t.Errorf("weekends average %.0f events a day, weekdays %.0f: want quiet weekends", mean(weekend), mean(weekday))
	}
	slices.Sort(weekday)
	if median := weekday[len(weekday)/2]; spike.Events < 2*median-median/4 {
		t.Errorf("spike day %s has %d events, a median weekday %d: want well above", spike.Date.Format(time.DateOnly), spike.Events, median)
	}
	// The spike is one organisation's retry loop: its events come from that organisation.
	spikeDay := map[string]int{}
	for _, r := range rows {
		if at := r.OccurredAt.In(seoul); at.Format(time.DateOnly) == spike.Date.Format(time.DateOnly) {
			spikeDay[r.OrgID]++
		}
	}
	if spikeDay[g.SpikeOrg()] < spike.Events/3 {
		t.Errorf("%s made %d of the spike day's %d events, want the largest part", g.SpikeOrg(), spikeDay[g.SpikeOrg()], spike.Events)
	}
}

func mean(xs []int) float64 {
	s := 0
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}

// Ensures that a daily budget of ₩50,000 is crossed at 50, 80 and 95 % on some days and not on
// others, computed in exact decimals from the generated rows, for several seeds.
func TestDailyBudgetThresholds(t *testing.T) {
	budget := decimal.NewFromInt(50_000)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			_, rows := generate(t, demodata.Options{Seed: seed, End: end})
			days := map[string]decimal.Decimal{}
			today := end.Format(time.DateOnly)
			totals := demodata.NewTotals(seoul)
			for _, r := range rows {
				totals.Add(r)
				day := r.OccurredAt.In(seoul).Format(time.DateOnly)
				if r.Cost.Valid && day != today {
					days[day] = days[day].Add(r.Cost.Decimal)
				}
			}
			if len(days) != demodata.Days {
				t.Fatalf("%d complete days with spend, want %d", len(days), demodata.Days)
			}
			for _, pct := range []int64{50, 80, 95} {
				limit := budget.Mul(decimal.NewFromInt(pct)).Shift(-2)
				over := 0
				for _, spent := range days {
					if spent.GreaterThanOrEqual(limit) {
						over++
					}
				}
				if over == 0 || over == len(days) {
					t.Errorf("%d%% (%s) reached on %d of %d days, want some but not all", pct, limit, over, len(days))
				}
			}
			// Totals (used by the demo's summary) agree to the last digit.
			for _, d := range totals.Days() {
				if want, ok := days[d.Date.Format(time.DateOnly)]; ok && !d.Cost.Equal(want) {
					t.Errorf("Totals for %s: %s, want %s", d.Date.Format(time.DateOnly), d.Cost, want)
				}
			}
		})
	}
}

// Ensures the price table holds the published list prices, and that the seed example of the
// contract (500 input and 300 output tokens of claude-sonnet-4-5 at 1,300 KRW/USD) costs ₩7.80.
func TestPrices(t *testing.T) {
	table, err := demodata.Table("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, seoul)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := table.Cost("claude-sonnet-4-5", "anthropic", end, pricing.Usage{InputTokens: 500, OutputTokens: 300})
	if !ok || !p.Cost.Equal(decimal.RequireFromString("7.80")) {
		t.Fatalf("seed example: %s, %v; want ₩7.80", p.Cost, ok)
	}
	want := map[string][4]string{ // input, cache read, cache write, output (USD / M tokens)
		"claude-sonnet-4-5": {"3", "0.3", "3.75", "15"},
		"claude-haiku-4-5":  {"1", "0.1", "1.25", "5"},
		"claude-opus-4-1":   {"15", "1.5", "18.75", "75"},
		"gpt-4o":            {"2.5", "1.25", "2.5", "10"},
		"gpt-4o-mini":       {"0.15", "0.075", "0.15", "0.6"},
		"gemini-2.5-flash":  {"0.3", "0.075", "0.3", "2.5"},
	}
	for model, w := range want {
		var provider string
		for _, p := range demodata.Prices() {
			if p.Model == model {
				provider = p.Provider
			}
		}
		got, ok := table.Lookup(model, provider, end)
		if !ok {
			t.Fatalf("%s: no price", model)
		}
		for i, d := range []decimal.Decimal{got.Input, got.CacheRead, got.CacheWrite, got.Output} {
			if !d.Equal(decimal.RequireFromString(w[i])) {
				t.Errorf("%s: price %d is %s, want %s", model, i, d, w[i])
			}
		}
	}
	// The gpt-4o price cut of 2024-10-02 is effective-dated.
	old, _ := table.Lookup("gpt-4o", "openai", time.Date(2024, 9, 1, 0, 0, 0, 0, seoul))
	if !old.Input.Equal(decimal.NewFromInt(5)) {
		t.Errorf("gpt-4o in September 2024: input %s, want 5", old.Input)
	}
}
