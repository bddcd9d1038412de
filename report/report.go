package report

import (
	"cmp"
	"context"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Totals are the additive numbers of a set of events. Every breakdown row and every day of the
// series is a Totals, so sums can be checked to the last unit.
type Totals struct {
	Requests         int64
	Failures         int64
	CacheHits        int64
	Unpriced         int64 // events without a price: counted in Requests, not in Cost
	InputTokens      int64 // includes cache reads and writes
	OutputTokens     int64 // includes reasoning
	CacheReadTokens  int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	Cost             decimal.Decimal // reporting currency, exact
	LatencyCount     int64           // events with a duration
	LatencySumMS     int64
	Latency          Histogram
}

// Add adds o to t.
func (t *Totals) Add(o Totals) {
	t.Requests += o.Requests
	t.Failures += o.Failures
	t.CacheHits += o.CacheHits
	t.Unpriced += o.Unpriced
	t.InputTokens += o.InputTokens
	t.OutputTokens += o.OutputTokens
	t.CacheReadTokens += o.CacheReadTokens
	t.CacheWriteTokens += o.CacheWriteTokens
	t.ReasoningTokens += o.ReasoningTokens
	t.Cost = t.Cost.Add(o.Cost)
	t.LatencyCount += o.LatencyCount
	t.LatencySumMS += o.LatencySumMS
	t.Latency = t.Latency.Merge(o.Latency)
}

// Less is t minus o, without the histogram: what a breakdown lacks against a total.
func (t Totals) Less(o Totals) Totals {
	return Totals{Requests: t.Requests - o.Requests, Failures: t.Failures - o.Failures, CacheHits: t.CacheHits - o.CacheHits,
		Unpriced: t.Unpriced - o.Unpriced, InputTokens: t.InputTokens - o.InputTokens, OutputTokens: t.OutputTokens - o.OutputTokens,
		CacheReadTokens: t.CacheReadTokens - o.CacheReadTokens, CacheWriteTokens: t.CacheWriteTokens - o.CacheWriteTokens,
		ReasoningTokens: t.ReasoningTokens - o.ReasoningTokens, Cost: t.Cost.Sub(o.Cost),
		LatencyCount: t.LatencyCount - o.LatencyCount, LatencySumMS: t.LatencySumMS - o.LatencySumMS}
}

// Successes is Requests − Failures.
func (t Totals) Successes() int64 { return t.Requests - t.Failures }

// SuccessRate is successes / requests in percent, 2 decimals; 0 without requests.
func (t Totals) SuccessRate() decimal.Decimal { return Percent(t.Successes(), t.Requests) }

// CacheHitRate is cache hits / requests in percent, 2 decimals.
func (t Totals) CacheHitRate() decimal.Decimal { return Percent(t.CacheHits, t.Requests) }

// PricedRequests are the requests with a cost: Requests − Unpriced.
func (t Totals) PricedRequests() int64 { return t.Requests - t.Unpriced }

// AvgCost is the average cost per priced request, to 6 decimals: Cost ÷ PricedRequests, never ÷
// Requests, since an unpriced event has no cost (it would drag the average towards zero); 0
// without a priced request. It is the one "average cost per request" of every output: the page,
// the workbook, the digest, report.json and the read API.
func (t Totals) AvgCost() decimal.Decimal {
	priced := t.PricedRequests()
	if priced <= 0 {
		return decimal.Zero
	}
	return t.Cost.DivRound(decimal.NewFromInt(priced), 6)
}

// AvgLatencyMS is the mean duration of the events that reported one.
func (t Totals) AvgLatencyMS() int64 {
	if t.LatencyCount == 0 {
		return 0
	}
	return t.LatencySumMS / t.LatencyCount
}

// Percent is n as a percentage of d, to two decimals truncated toward zero (0 when d is 0): the
// one rule of every percentage (format.Percent shows one decimal of it, truncated too), so that a
// rate of 99.996 % never becomes 100.00 % in report.json or the workbook, nor 100.0 % on a page
// or in an email, while a request failed.
func Percent(n, d int64) decimal.Decimal {
	return PercentOf(decimal.NewFromInt(n), decimal.NewFromInt(d))
}

// PercentOf is part as a percentage of whole, truncated as Percent is: rates, shares and the
// share of a budget used, in every output (a workbook's percent cell holds it ÷ 100).
func PercentOf(part, whole decimal.Decimal) decimal.Decimal {
	if whole.IsZero() {
		return decimal.Zero
	}
	q, _ := part.Mul(decimal.NewFromInt(100)).QuoRem(whole, 2)
	return q
}

// Change is the relative change from prev to cur in percent, exact: (cur − prev) × 100 ÷ |prev|.
// ok is false when prev is zero (a percentage of nothing is meaningless). The page and the digest
// both state changes with it and format them with format.SignedPercent.
func Change(cur, prev decimal.Decimal) (pct decimal.Decimal, ok bool) {
	if prev.IsZero() {
		return decimal.Zero, false
	}
	return cur.Sub(prev).Mul(decimal.NewFromInt(100)).Div(prev.Abs()), true
}

// Dimension is what a breakdown groups by.
type Dimension string

// Breakdown dimensions.
const (
	ByService  Dimension = "service"
	ByModel    Dimension = "model"
	ByProvider Dimension = "provider"
	ByOrg      Dimension = "org_id"
	ByUser     Dimension = "user_id"
)

// Dimensions lists every breakdown dimension in report order.
var Dimensions = []Dimension{ByService, ByModel, ByProvider, ByOrg, ByUser}

// ByEndpoint and ByTag are the chargeback dimensions (Report.Chargeback): the events' endpoint,
// and the value of one configured tag key (reports.tag_keys).
const ByEndpoint Dimension = "endpoint"

// tagPrefix starts the name of a tag dimension: "tag:team".
const tagPrefix = "tag:"

// ByTag is the dimension of tag key.
func ByTag(key string) Dimension { return Dimension(tagPrefix + key) }

// ChargebackDimensions are the chargeback dimensions of the tag keys: the endpoint, then each
// key's in the order given.
func ChargebackDimensions(tagKeys []string) []Dimension {
	out := []Dimension{ByEndpoint}
	for _, k := range tagKeys {
		out = append(out, ByTag(k))
	}
	return out
}

// TagKey is the tag key of a tag dimension; false for any other.
func (d Dimension) TagKey() (string, bool) {
	k, ok := strings.CutPrefix(string(d), tagPrefix)
	return k, ok && k != ""
}

// Title names the dimension for headings: "Endpoint", "Tag team", "Service".
func (d Dimension) Title() string {
	if k, ok := d.TagKey(); ok {
		return "Tag " + k
	}
	s := strings.TrimSuffix(string(d), "_id")
	return strings.ToUpper(s[:1]) + s[1:]
}

// NoneLabel is how the row of events without a value is labelled: "(no endpoint)",
// "(untagged)", "(none)" for the other dimensions.
func (d Dimension) NoneLabel() string {
	if d == ByEndpoint {
		return "(no endpoint)"
	}
	if _, ok := d.TagKey(); ok {
		return "(untagged)"
	}
	return "(none)"
}

// Row is one line of a breakdown. Other marks the line that sums everything past the top N;
// Key "" (not Other) is events without a value, e.g. no user_id.
type Row struct {
	Key   string
	Other bool
	// Members is how many values the "other" row sums.
	Members int
	Totals
}

// Label is the row's display text: the key, "(none)" or "other".
func (r Row) Label() string {
	switch {
	case r.Other:
		return "(other)"
	case r.Key == "":
		return "(none)"
	}
	return r.Key
}

// LabelIn is the row's display text in dimension d: the key, "(other)" or d.NoneLabel().
func (r Row) LabelIn(d Dimension) string {
	if !r.Other && r.Key == "" {
		return d.NoneLabel()
	}
	return r.Label()
}

// Day is one day of the daily series.
type Day struct {
	Date time.Time // midnight in the report time zone
	Totals
}

// Report is everything the batch job computed for a period: the input of pages, workbooks,
// emails and the run summary.
type Report struct {
	Period   Period
	Currency string
	// Anomalies are the anomalies recorded with a window starting in the period (the anomaly
	// ledger), largest impact first; set by the run (Job.Run), listed by the page and the digest.
	Anomalies []Anomaly
	Totals    Totals
	// Breakdowns per dimension: the top N by cost then an "other" row, so every breakdown
	// sums exactly to Totals.
	Breakdowns map[Dimension][]Row
	// Chargeback lists the chargeback dimensions the report breaks spend down by (ByEndpoint,
	// then ByTag of each configured key), in Breakdowns and All like the others.
	Chargeback []Dimension
	// All holds every row of ByUser, ByOrg and the Chargeback dimensions, by cost (then requests, then key), for the
	// workbook's chargeback sheets, each with its latency histogram. Nil: only the top N are
	// known.
	All map[Dimension][]Row
	// Series is the last SeriesDays days up to the period's last day (every day of a longer
	// period), zero days included.
	Series []Day
	// Budgets is each budget's status for its period that contains the report period's end, as
	// it stood at BudgetsAsOf: the report period's end, or the run's time while it is in progress.
	Budgets     []Status
	BudgetsAsOf time.Time
	// Envelopes are the envelope budgets' entities, in the same periods and as of the same
	// instant as Budgets (envelope_board.go).
	Envelopes []Envelope
	// BudgetSummaries are the budgets of a shorter period than the report's (a daily budget on a
	// monthly report): not one card for the period holding the report's end (a day that may not
	// have happened yet) but how many of their periods within the report's exceeded the amount.
	BudgetSummaries []BudgetSummary
	// AsOf is the run's time for a period still in progress; zero once the period is over.
	AsOf time.Time
	// Previous is the previous period of the same kind, over as many days as this period has
	// had when it is in progress; nil when not read.
	Previous *Comparison
	// History is the SeriesDays days before Series: the baseline of spike days.
	History []Day
	// CacheSavings is what prompt-cache reads saved against the uncached input price, in the
	// reporting currency; not valid when no price table is known.
	CacheSavings decimal.NullDecimal
	// UnpricedModels are the models with events without a price in the period, most events first.
	UnpricedModels []UnpricedModel
	// RefreshedDays are the days whose aggregates were rebuilt from raw events in this run; the
	// other days of the report come from stored aggregates (raw events gone to retention).
	RefreshedDays []time.Time
	// Events, when asked for (ReportRequest.Events) and the store provides it, streams the period's events exactly as the totals
	// counted them (one snapshot), for the workbook and the events CSV; Job.Run closes it once
	// the outputs are written.
	Events EventSnapshot
}

// Known reports whether a day of the series (its midnight) is known: every day of a period that
// is over; of a period in progress only the days up to AsOf, the last one partial. A later day
// is not yet known, not 0.
func (r *Report) Known(day time.Time) bool { return r.AsOf.IsZero() || day.Before(r.AsOf) }

// EventSnapshot streams events from one snapshot of the event log until it is closed.
type EventSnapshot interface {
	// Events calls emit for every event of [from, to), oldest first, streaming.
	Events(ctx context.Context, from, to time.Time, emit func(Event) error) error
	Close()
}

// Comparison is what a report is compared with: the totals of the previous period of the same
// kind over [Start, End), and of every value of every breakdown dimension.
type Comparison struct {
	Start, End time.Time
	// Partial: the report's period is in progress and this is the same number of days at the
	// start of the previous one.
	Partial bool
	// DataBegin is the instant of the first event when the data begin after Start (a young
	// installation: the range has data only from then on, or none when it is at or after End);
	// zero when they reach back before Start. NoData: there is no event at all.
	DataBegin time.Time
	NoData    bool
	Totals    Totals
	ByKey     map[Dimension]map[string]Totals
}

// Of is the previous totals of a breakdown row: for the "other" row, the previous total less the
// previous totals of the rows shown (shown); ok is false for a key the previous period did not
// have.
func (c *Comparison) Of(d Dimension, r Row, shown []Row) (Totals, bool) {
	if !r.Other {
		t, ok := c.ByKey[d][r.Key]
		return t, ok
	}
	t := c.Totals
	for _, s := range shown {
		if s.Other {
			continue
		}
		if p, ok := c.ByKey[d][s.Key]; ok {
			t.Cost = t.Cost.Sub(p.Cost)
			t.Requests -= p.Requests
		}
	}
	return t, true
}

// UnpricedModel is a model whose events in the period have no price: they are counted but cost
// nothing in the totals until re-priced.
type UnpricedModel struct {
	Model, Provider string
	Events          int64
	InputTokens     int64
	OutputTokens    int64
	TokensKnown     bool // false: the events are gone (retention); only their count is known
}

// SeriesDays is the length of the daily series.
const SeriesDays = 30

// Histogram counts durations in logarithmic buckets: bucket 0 holds durations under 1 ms;
// bucket b ≥ 1 holds [2^((b−1)/HistogramBucketsPerOctave), 2^(b/HistogramBucketsPerOctave)) ms,
// so each bucket is 1.1 % wide. Percentiles are reported as the bucket's geometric middle rounded
// to whole ms: exact below 92 ms (where a bucket is narrower than 1 ms) and within 1.1 % of the
// true value above (0.55 % for the middle, plus the rounding). Histograms of days merge exactly, by adding counts. The same buckets are computed by
// SQL (report/pgquery refresh_insert.sql) when the daily aggregates are built.
type Histogram []int64

// HistogramBucketsPerOctave is the histogram's resolution: 64 buckets per doubling. A quarter
// octave (the resolution before collect/pgstore migration 00008) gave one p50 to every user of a
// service; 1 % buckets keep every percentile within 2 % after rounding to whole ms.
const HistogramBucketsPerOctave = 64

// MaxHistogramBucket bounds a stored bucket number: a duration of one day (the collector's
// limit, 86,400,000 ms) falls in bucket 1,688.
const MaxHistogramBucket = 2000

// HistogramBucket is the bucket of a duration of ms milliseconds, as refresh_insert.sql computes
// it (the epsilon keeps exact powers of two in their own bucket despite float rounding).
func HistogramBucket(ms int64) int {
	if ms < 1 {
		return 0
	}
	return 1 + int(math.Floor(HistogramBucketsPerOctave*math.Log(float64(ms))/math.Ln2+1e-9))
}

// Merge adds two histograms.
func (h Histogram) Merge(o Histogram) Histogram {
	if len(o) > len(h) {
		h, o = o, h
	}
	out := make(Histogram, len(h))
	copy(out, h)
	for i, n := range o {
		out[i] += n
	}
	return out
}

// Count is the number of durations in the histogram.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Percentile is the duration in ms at quantile q (0 < q ≤ 1); 0 for an empty histogram.
func (h Histogram) Percentile(q float64) int64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	// Nearest rank: the smallest value with at least q of the observations at or below it.
	rank := int64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for b, c := range h {
		seen += c
		if seen >= rank {
			if b == 0 {
				return 0
			}
			return int64(math.Round(math.Exp2((float64(b) - 0.5) / HistogramBucketsPerOctave)))
		}
	}
	return 0
}

// CompareTop is the order of every top list, a breakdown's rows as of a budget's drivers: cost
// descending, then requests descending, then key, so that ties list alike in every output.
// It compares like cmp.Compare, for slices.SortFunc.
func CompareTop(costA decimal.Decimal, requestsA int64, keyA string, costB decimal.Decimal, requestsB int64, keyB string) int {
	if c := costB.Cmp(costA); c != 0 {
		return c
	}
	if requestsA != requestsB {
		return cmp.Compare(requestsB, requestsA)
	}
	return strings.Compare(keyA, keyB)
}

// CompareRows is CompareTop for breakdown rows.
func CompareRows(a, b Row) int {
	return CompareTop(a.Cost, a.Requests, a.Key, b.Cost, b.Requests, b.Key)
}

// CompareDrivers is CompareTop for a budget's drivers.
func CompareDrivers(a, b Driver) int {
	return CompareTop(a.Cost, a.Requests, a.Key, b.Cost, b.Requests, b.Key)
}

// TopDrivers is the first n of all in CompareDrivers order. It keeps the n first seen so far
// instead of sorting every driver: an alert lists 5 of a day's thousands of users, and sorting
// 4,000 exact decimals took 7 ms of the budget check that sends it.
func TopDrivers(all iter.Seq[*Driver], n int) []Driver {
	top := make([]Driver, 0, n+1)
	for d := range all {
		if n <= 0 || len(top) == n && CompareDrivers(*d, top[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, *d, CompareDrivers)
		top = slices.Insert(top, i, *d)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}
