package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ParseChargebackBy reads chargeback.by: org_id or tag:<key> (ParsePer's spelling), the field
// whose values own spend and get statements.
func ParseChargebackBy(s string) (Per, error) {
	p, err := ParsePer(s)
	if err != nil {
		return Per{}, err
	}
	if p.Field != PerOrgID && p.Field != PerTag {
		return Per{}, fmt.Errorf("%q: want org_id or tag:<key>", s)
	}
	return p, nil
}

// Owner is who a chargeback statement is for: the events whose By field (org_id, or a tag) is
// Value.
type Owner struct {
	By    Per
	Value string
}

// String is "org_id acme" or "tag:team search".
func (o Owner) String() string { return o.By.String() + " " + o.Value }

// Scope is the owner's events as a budget scope: the predicate the events are read with.
func (o Owner) Scope() Scope {
	if o.By.Field == PerTag {
		return Scope{TagKey: o.By.TagKey, TagValue: o.Value}
	}
	return Scope{OrgID: o.Value}
}

// EventReport builds a Report from a stream of events: for a report of a subset of the events
// that the daily aggregates do not key (a chargeback owner's lines by tag), read from the
// report's own snapshot. Add every event of the period, then call Report. The figures are the
// aggregates' exactly (the same counts and sums per event as refresh_insert.sql); latency
// percentiles come from the same histogram buckets.
type EventReport struct {
	p      Period
	total  Totals
	rows   map[Dimension]map[string]*Totals
	days   map[time.Time]*Totals
	models map[[2]string]*UnpricedModel
}

// NewEventReport starts the report of period p.
func NewEventReport(p Period) *EventReport {
	b := &EventReport{p: p, rows: map[Dimension]map[string]*Totals{}, days: map[time.Time]*Totals{},
		models: map[[2]string]*UnpricedModel{}}
	for _, d := range Dimensions {
		b.rows[d] = map[string]*Totals{}
	}
	return b
}

// Add counts one event of the period.
func (b *EventReport) Add(e Event) {
	bucket := -1
	if e.DurationMS != nil {
		bucket = HistogramBucket(*e.DurationMS)
	}
	addEvent(&b.total, e, bucket)
	for _, d := range Dimensions {
		k := e.key(d)
		t := b.rows[d][k]
		if t == nil {
			t = &Totals{}
			b.rows[d][k] = t
		}
		addEvent(t, e, bucket)
	}
	loc := b.p.Start.Location()
	y, m, d := e.OccurredAt.In(loc).Date()
	day := StartOfDay(y, m, d, loc)
	t := b.days[day]
	if t == nil {
		t = &Totals{}
		b.days[day] = t
	}
	addEvent(t, e, bucket)
	if !e.Cost.Valid {
		k := [2]string{e.Model, e.Provider}
		um := b.models[k]
		if um == nil {
			um = &UnpricedModel{Model: e.Model, Provider: e.Provider, TokensKnown: true}
			b.models[k] = um
		}
		um.Events++
		um.InputTokens += e.InputTokens
		um.OutputTokens += e.OutputTokens
	}
}

// key is the event's value of dimension d ("" when it has none).
func (e Event) key(d Dimension) string {
	switch d {
	case ByService:
		return e.Service
	case ByModel:
		return e.Model
	case ByProvider:
		return e.Provider
	case ByOrg:
		return e.OrgID
	case ByUser:
		return e.UserID
	}
	return ""
}

// addEvent adds one event to t; bucket is its latency bucket, −1 without a duration. The
// histogram grows in place: a copy per event (Histogram.Merge) would cost a month's events
// thousands of allocations each.
func addEvent(t *Totals, e Event, bucket int) {
	t.Requests++
	if !e.Success {
		t.Failures++
	}
	if e.CacheHit {
		t.CacheHits++
	}
	if e.Cost.Valid {
		t.Cost = t.Cost.Add(e.Cost.Decimal)
	} else {
		t.Unpriced++
	}
	t.InputTokens += e.InputTokens
	t.OutputTokens += e.OutputTokens
	t.CacheReadTokens += e.CacheReadTokens
	t.CacheWriteTokens += e.CacheWriteTokens
	t.ReasoningTokens += e.ReasoningTokens
	if bucket < 0 {
		return
	}
	t.LatencyCount++
	t.LatencySumMS += *e.DurationMS
	if len(t.Latency) <= bucket {
		t.Latency = append(t.Latency, make(Histogram, bucket+1-len(t.Latency))...)
	}
	t.Latency[bucket]++
}

// Report is the period's report: totals, each breakdown's top N (then "(other)") and every user
// and org (All), the daily series of the period's days, and the unpriced models. It has no
// budgets, alerts, comparison or cache savings: the caller adds what it states.
func (b *EventReport) Report(topN int) *Report {
	if topN <= 0 {
		topN = 10
	}
	rep := &Report{Period: b.p, Totals: b.total, Breakdowns: map[Dimension][]Row{}, All: map[Dimension][]Row{}}
	for _, d := range Dimensions {
		all := b.sorted(d)
		rep.Breakdowns[d] = TopRows(all, topN)
		if d == ByUser || d == ByOrg {
			rep.All[d] = all
		}
	}
	for _, day := range b.p.Days() {
		var t Totals
		if x := b.days[day]; x != nil {
			t = *x
		}
		rep.Series = append(rep.Series, Day{Date: day, Totals: t})
	}
	for _, um := range b.models {
		rep.UnpricedModels = append(rep.UnpricedModels, *um)
	}
	slices.SortFunc(rep.UnpricedModels, func(a, c UnpricedModel) int {
		if a.Events != c.Events {
			return cmp.Compare(c.Events, a.Events) // most events first
		}
		return strings.Compare(a.Model+"\x00"+a.Provider, c.Model+"\x00"+c.Provider)
	})
	return rep
}

// Comparison is the report as what another report is compared with (Report.Previous): its
// totals, and those of every value of every dimension.
func (b *EventReport) Comparison() *Comparison {
	c := &Comparison{Start: b.p.Start, End: b.p.End, Totals: b.total, ByKey: map[Dimension]map[string]Totals{}}
	for _, d := range Dimensions {
		m := map[string]Totals{}
		for k, t := range b.rows[d] {
			m[k] = *t
		}
		c.ByKey[d] = m
	}
	return c
}

// sorted is every row of dimension d, by cost (CompareRows).
func (b *EventReport) sorted(d Dimension) []Row {
	out := make([]Row, 0, len(b.rows[d]))
	for k, t := range b.rows[d] {
		out = append(out, Row{Key: k, Totals: *t})
	}
	slices.SortFunc(out, CompareRows)
	return out
}

// TopRows is the breakdown of rows sorted by CompareRows: the first n, then one "(other)" row
// summing the rest, so that the breakdown adds up to the total exactly.
func TopRows(rows []Row, n int) []Row {
	if len(rows) <= n {
		return append([]Row(nil), rows...)
	}
	out := append(make([]Row, 0, n+1), rows[:n]...)
	other := Row{Other: true, Members: len(rows) - n}
	for _, r := range rows[n:] {
		other.Add(r.Totals)
	}
	return append(out, other)
}
