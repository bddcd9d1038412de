package report

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SpendReader is the part of Store that budget statuses need.
type SpendReader interface {
	BudgetSpend(ctx context.Context, scope Scope, start, end time.Time) (Spend, error)
}

// SpendQuery asks for a scope's spend over [Start, End).
type SpendQuery struct {
	Scope      Scope
	Start, End time.Time
}

// SpendBatcher is a SpendReader that reads several spends at once more cheaply than one by one
// (report/pgquery: the budgets of a check share one scan of the events not yet aggregated).
type SpendBatcher interface {
	BudgetSpends(ctx context.Context, qs []SpendQuery) ([]Spend, error)
}

// BudgetStatuses evaluates budget bs[i] over period ps[i] as of now, reading every spend at
// once when src is a SpendBatcher.
func BudgetStatuses(ctx context.Context, src SpendReader, bs []Budget, ps []Period, now time.Time) ([]Status, error) {
	sb, ok := src.(SpendBatcher)
	if !ok {
		out := make([]Status, len(bs))
		for i, b := range bs {
			st, err := BudgetStatusFor(ctx, src, b, ps[i], now)
			if err != nil {
				return nil, err
			}
			out[i] = st
		}
		return out, nil
	}
	qs := make([]SpendQuery, len(bs))
	for i, b := range bs {
		qs[i] = SpendQuery{Scope: b.Scope, Start: ps[i].Start, End: ps[i].End}
	}
	sps, err := sb.BudgetSpends(ctx, qs)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	out := make([]Status, len(bs))
	for i, b := range bs {
		out[i] = Evaluate(b, ps[i], sps[i].Cost, now)
		out[i].Unpriced = sps[i].Unpriced
	}
	return out, nil
}

// BudgetStatusesAsOf evaluates budget bs[i] over period ps[i] as it stood at asOf: the spend of
// [start, min(end, asOf)), the state, percent and forecast as of that instant. A report for a
// past period states its budgets this way, as of the period's end, so that days after it (the
// rest of a month, for a daily report) never count.
func BudgetStatusesAsOf(ctx context.Context, src SpendReader, bs []Budget, ps []Period, asOf time.Time) ([]Status, error) {
	qs := make([]SpendQuery, len(bs))
	for i, b := range bs {
		end := ps[i].End
		if asOf.Before(end) {
			end = asOf
		}
		qs[i] = SpendQuery{Scope: b.Scope, Start: ps[i].Start, End: end}
	}
	var sps []Spend
	if sb, ok := src.(SpendBatcher); ok {
		var err error
		if sps, err = sb.BudgetSpends(ctx, qs); err != nil {
			return nil, fmt.Errorf("budgets: %w", err)
		}
	} else {
		for i, q := range qs {
			sp, err := src.BudgetSpend(ctx, q.Scope, q.Start, q.End)
			if err != nil {
				return nil, fmt.Errorf("budget %s: %w", bs[i].Name, err)
			}
			sps = append(sps, sp)
		}
	}
	out := make([]Status, len(bs))
	for i, b := range bs {
		out[i] = Evaluate(b, ps[i], sps[i].Cost, asOf)
		out[i].Unpriced = sps[i].Unpriced
	}
	return out, nil
}

// PeriodsContaining are the periods of budgets bs (each of its own kind) that contain t, in loc.
func PeriodsContaining(bs []Budget, t time.Time, loc *time.Location) []Period {
	ps := make([]Period, len(bs))
	for i, b := range bs {
		ps[i] = PeriodContaining(b.Period, t, loc)
	}
	return ps
}

// CurrentStatuses evaluates every budget of bs for its period in progress at now, in loc: what
// GET /v1/budgets answers and the landing page shows.
func CurrentStatuses(ctx context.Context, src SpendReader, bs []Budget, now time.Time, loc *time.Location) ([]Status, error) {
	return BudgetStatuses(ctx, src, bs, PeriodsContaining(bs, now, loc), now)
}

// ReportAsOf is the instant a report for p states its budgets at: p's end, or now while p is in
// progress.
func ReportAsOf(p Period, now time.Time) time.Time {
	if now.Before(p.End) {
		return now
	}
	return p.End
}

// BudgetStatusFor evaluates budget b over period p as of now, with the spend read from the event
// log. It is the one place a budget's status is computed: the batch job, its alerts and
// GET /v1/budgets all call it.
func BudgetStatusFor(ctx context.Context, src SpendReader, b Budget, p Period, now time.Time) (Status, error) {
	sp, err := src.BudgetSpend(ctx, b.Scope, p.Start, p.End)
	if err != nil {
		return Status{}, fmt.Errorf("budget %s: %w", b.Name, err)
	}
	st := Evaluate(b, p, sp.Cost, now)
	st.Unpriced = sp.Unpriced
	return st, nil
}

// BudgetBoard answers GET /v1/budgets: every budget's current period as of now. It implements
// collect.BudgetSource. Each answer is reused for CacheFor, so that applications polling the
// endpoint do not each scan a month of events; concurrent requests share one computation.
type BudgetBoard struct {
	Source   SpendReader
	Budgets  []Budget
	Location *time.Location
	Currency string
	Now      func() time.Time
	CacheFor time.Duration // 0: compute every time

	mu       sync.Mutex
	cached   *BudgetsResponse
	cachedAt time.Time
}

// BudgetsResponse is the body of GET /v1/budgets. Money amounts are decimal strings in the
// reporting currency, so clients never lose precision.
type BudgetsResponse struct {
	AsOf     time.Time    `json:"as_of"`
	Currency string       `json:"currency"`
	Budgets  []BudgetJSON `json:"budgets"`
}

// BudgetJSON is one budget's status in GET /v1/budgets.
type BudgetJSON struct {
	Name        string        `json:"name"`
	Period      PeriodKind    `json:"period"`
	PeriodLabel string        `json:"period_label"`
	PeriodStart time.Time     `json:"period_start"`
	PeriodEnd   time.Time     `json:"period_end"` // the period resets then
	Scope       Scope         `json:"scope"`
	Spent       string        `json:"spent"`
	Limit       string        `json:"limit"`
	Remaining   string        `json:"remaining"`
	Percent     string        `json:"percent"`
	State       State         `json:"state"`
	Thresholds  []int         `json:"thresholds"`
	Unpriced    int64         `json:"unpriced_events"`
	Forecast    *ForecastJSON `json:"forecast"` // null until enough of the period has passed
}

// ForecastJSON is the projected period-end spend.
type ForecastJSON struct {
	Projected string `json:"projected"`
	Exceeds   bool   `json:"exceeds_limit"`
}

// BudgetStatus implements collect.BudgetSource.
func (bb *BudgetBoard) BudgetStatus(ctx context.Context) (any, error) {
	now := time.Now()
	if bb.Now != nil {
		now = bb.Now()
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if bb.cached != nil && now.Sub(bb.cachedAt) < bb.CacheFor && !now.Before(bb.cachedAt) {
		return *bb.cached, nil
	}
	sts, err := CurrentStatuses(ctx, bb.Source, bb.Budgets, now, bb.Location)
	if err != nil {
		return nil, err
	}
	resp := BudgetsResponse{AsOf: now.In(bb.Location), Currency: bb.Currency, Budgets: []BudgetJSON{}}
	for _, st := range sts {
		resp.Budgets = append(resp.Budgets, st.JSON())
	}
	bb.cached, bb.cachedAt = &resp, now
	return resp, nil
}

// JSON is the status as GET /v1/budgets shows it.
func (st Status) JSON() BudgetJSON {
	j := BudgetJSON{
		Name: st.Budget.Name, Period: st.Period.Kind, PeriodLabel: st.Period.Label(),
		PeriodStart: st.Period.Start, PeriodEnd: st.Period.End, Scope: st.Budget.Scope,
		Spent: st.Spent.String(), Limit: st.Limit.String(), Remaining: st.Remaining.String(),
		Percent: st.Percent.StringFixed(2), State: st.State, Thresholds: st.Budget.EffectiveThresholds(),
		Unpriced: st.Unpriced,
	}
	if st.HasForecast {
		j.Forecast = &ForecastJSON{Projected: st.Projected.String(), Exceeds: st.Projected.GreaterThan(st.Limit)}
	}
	return j
}
