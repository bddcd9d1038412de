package report

import (
	"context"
	"fmt"
	"time"
)

// SpendReader is the part of Store that budget statuses need.
type SpendReader interface {
	BudgetSpend(ctx context.Context, scope Scope, start, end time.Time) (Spend, error)
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
// collect.BudgetSource.
type BudgetBoard struct {
	Source   SpendReader
	Budgets  []Budget
	Location *time.Location
	Currency string
	Now      func() time.Time
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

// Statuses evaluates every budget for its period that contains at.
func (bb *BudgetBoard) Statuses(ctx context.Context, at time.Time) ([]Status, error) {
	out := make([]Status, 0, len(bb.Budgets))
	for _, b := range bb.Budgets {
		st, err := BudgetStatusFor(ctx, bb.Source, b, PeriodContaining(b.Period, at, bb.Location), at)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// BudgetStatus implements collect.BudgetSource.
func (bb *BudgetBoard) BudgetStatus(ctx context.Context) (any, error) {
	now := time.Now()
	if bb.Now != nil {
		now = bb.Now()
	}
	sts, err := bb.Statuses(ctx, now)
	if err != nil {
		return nil, err
	}
	resp := BudgetsResponse{AsOf: now.In(bb.Location), Currency: bb.Currency, Budgets: []BudgetJSON{}}
	for _, st := range sts {
		resp.Budgets = append(resp.Budgets, st.JSON())
	}
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
