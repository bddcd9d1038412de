package report

import (
	"cmp"
	"context"
	"fmt"
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

// BudgetStatuses evaluates budget bs[i] over period ps[i] as of now (its pace too: Runway),
// reading every spend at once when src is a SpendBatcher.
func BudgetStatuses(ctx context.Context, src SpendReader, bs []Budget, ps []Period, now time.Time) ([]Status, error) {
	qs := make([]SpendQuery, len(bs))
	for i, b := range bs {
		qs[i] = SpendQuery{Scope: b.Scope, Start: ps[i].Start, End: ps[i].End}
	}
	return evaluateAll(ctx, src, bs, ps, qs, now)
}

// BudgetStatusesAsOf evaluates budget bs[i] over period ps[i] as it stood at asOf: the spend of
// [start, min(end, asOf)), the state, percent, forecast and runway as of that instant. A report
// for a past period states its budgets this way, as of the period's end, so that days after it
// (the rest of a month, for a daily report) never count.
func BudgetStatusesAsOf(ctx context.Context, src SpendReader, bs []Budget, ps []Period, asOf time.Time) ([]Status, error) {
	qs := make([]SpendQuery, len(bs))
	for i, b := range bs {
		end := ps[i].End
		if asOf.Before(end) {
			end = asOf
		}
		qs[i] = SpendQuery{Scope: b.Scope, Start: ps[i].Start, End: end}
	}
	return evaluateAll(ctx, src, bs, ps, qs, asOf)
}

// evaluateAll evaluates bs[i] over ps[i] from the spend of qs[i] as of at, with the pace (the
// burn-rate windows) of the budgets with burn_rate whose period is in progress at at, every spend
// in one read. Only those budgets read a pace: its windows are summed from the raw events, which
// costs far more than the aggregates a budget's spend is read from (README, Known slow spots).
func evaluateAll(ctx context.Context, src SpendReader, bs []Budget, ps []Period, qs []SpendQuery, at time.Time) ([]Status, error) {
	paced := map[int]int{} // budget → index of its short window in qs
	for i, b := range bs {
		if b.BurnRate && !at.Before(ps[i].Start) && at.Before(ps[i].End) {
			paced[i] = len(qs)
			w := paceQueries(b.Scope, at)
			qs = append(qs, w[0], w[1])
		}
	}
	sps, err := readSpends(ctx, src, qs)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	out := make([]Status, len(bs))
	for i, b := range bs {
		out[i] = Evaluate(b, ps[i], sps[i].Cost, at)
		out[i].Unpriced = sps[i].Unpriced
		if w, ok := paced[i]; ok {
			out[i] = out[i].withPace(Pace{Short: sps[w].Cost, Long: sps[w+1].Cost})
		}
	}
	return out, nil
}

// readSpends reads the spends of qs: in one read when src is a SpendBatcher, one by one otherwise.
func readSpends(ctx context.Context, src SpendReader, qs []SpendQuery) ([]Spend, error) {
	if sb, ok := src.(SpendBatcher); ok {
		return sb.BudgetSpends(ctx, qs)
	}
	out := make([]Spend, len(qs))
	for i, q := range qs {
		sp, err := src.BudgetSpend(ctx, q.Scope, q.Start, q.End)
		if err != nil {
			return nil, err
		}
		out[i] = sp
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

// BudgetStatusFor evaluates budget b over period p as of now, with the spend read from src, as
// BudgetStatuses does for several budgets.
func BudgetStatusFor(ctx context.Context, src SpendReader, b Budget, p Period, now time.Time) (Status, error) {
	sts, err := BudgetStatuses(ctx, src, []Budget{b}, []Period{p}, now)
	if err != nil {
		return Status{}, fmt.Errorf("budget %s: %w", b.Name, err)
	}
	return sts[0], nil
}

// BudgetBoard states every budget's current period as of now, for GET /v1/budgets. Each answer
// is reused for CacheFor, so that applications polling the endpoint do not each scan a month of
// events; concurrent requests share one computation.
type BudgetBoard struct {
	Source   SpendReader
	Budgets  []Budget
	Location *time.Location
	Now      func() time.Time
	CacheFor time.Duration // 0: compute every time
	// Timeout bounds one computation, which the requests waiting for it share (default 45 s).
	Timeout time.Duration

	memo Memo[struct{}, []Status]
}

// DefaultComputeTimeout bounds a computation the read side shares between requests
// (BudgetBoard, report/api), when its Timeout is not set.
const DefaultComputeTimeout = 45 * time.Second

// Statuses are the budgets' statuses (in the order of Budgets) and the instant they are as of,
// in Location. The slice is shared with later callers within CacheFor: do not modify it.
func (bb *BudgetBoard) Statuses(ctx context.Context) (time.Time, []Status, error) {
	now := time.Now()
	if bb.Now != nil {
		now = bb.Now()
	}
	sts, at, err := bb.memo.Get(ctx, struct{}{}, now, bb.CacheFor, func(ctx context.Context) ([]Status, error) {
		ctx, cancel := context.WithTimeout(ctx, cmp.Or(bb.Timeout, DefaultComputeTimeout))
		defer cancel()
		return CurrentStatuses(ctx, bb.Source, bb.Budgets, now, bb.Location)
	})
	if err != nil {
		return time.Time{}, nil, err
	}
	return at.In(bb.Location), sts, nil
}
