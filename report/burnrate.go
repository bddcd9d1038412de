package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// Burn-rate rule (multi-window, as SRE burn-rate alerting does): the pace of a budget's scope is
// its spend over the last BurnShortWindow and over the last BurnLongWindow before the status's
// instant, whatever period they fall in. The short window reacts to a runaway within the hour;
// the long one keeps a single busy hour from alerting alone. The budget is said to run out when
// the remaining amount is spent at the slower of the two paces (so both windows agree), and
// alerts when that instant falls before the period ends: CRITICAL when it is at most
// BurnCriticalWithin away, WARNING otherwise.
const (
	BurnShortWindow    = time.Hour
	BurnLongWindow     = 6 * time.Hour
	BurnCriticalWithin = 6 * BurnShortWindow
)

// BurnRate is the kind of a burn-rate alert. It is recorded in the alert ledger with the
// threshold code of its severity (BurnThreshold), so each budget period alerts at most once per
// severity.
const BurnRate Kind = "burn_rate"

// BurnThreshold is the threshold code a burn-rate alert of severity s is recorded with: the
// default threshold of that severity (80 WARNING, 95 CRITICAL).
func BurnThreshold(s Severity) int {
	if s == Critical {
		return 95
	}
	return 80
}

// Pace is the spend of a budget's scope over the burn-rate windows ending at a status's AsOf.
type Pace struct {
	Short, Long decimal.Decimal
}

// paceQueries are the spend queries of the burn-rate windows of scope ending at asOf.
func paceQueries(scope Scope, asOf time.Time) [2]SpendQuery {
	return [2]SpendQuery{
		{Scope: scope, Start: asOf.Add(-BurnShortWindow), End: asOf},
		{Scope: scope, Start: asOf.Add(-BurnLongWindow), End: asOf},
	}
}

// Runway is the instant, in the period's location, at which the budget of st runs out at pace:
// AsOf + remaining ÷ the slower of the two windows' paces, to the second. ok is false when the
// period is not in progress at AsOf, the spend already reached the limit, either window spent
// nothing, or that instant is not before the period's end. It is computed once, by the status
// of a budget with burn_rate (Status.Runway), and every output (alerts, pages, digest, GET
// /v1/budgets) states that value.
func Runway(st Status, pace Pace) (time.Time, bool) {
	if !st.Open() || st.AsOf.Before(st.Period.Start) || !st.Remaining.IsPositive() ||
		!pace.Short.IsPositive() || !pace.Long.IsPositive() {
		return time.Time{}, false
	}
	// Seconds to spend the remaining amount at each window's pace; the slower pace takes longer.
	secs := decimal.Max(
		st.Remaining.Mul(decimal.NewFromInt(int64(BurnShortWindow/time.Second))).Div(pace.Short),
		st.Remaining.Mul(decimal.NewFromInt(int64(BurnLongWindow/time.Second))).Div(pace.Long),
	).Ceil()
	left := decimal.NewFromInt(int64(st.Period.End.Sub(st.AsOf) / time.Second))
	if secs.Cmp(left) >= 0 {
		return time.Time{}, false
	}
	return st.AsOf.Add(time.Duration(secs.IntPart()) * time.Second).In(st.Period.Start.Location()), true
}

// withPace sets the runway of st from pace and, when the budget asks for burn-rate alerts, adds
// the burn-rate breach of the runway's severity. Envelope budgets alert per entity and never
// by burn rate.
func (st Status) withPace(pace Pace) Status {
	st.Runway, st.HasRunway = Runway(st, pace)
	if !st.HasRunway || !st.Budget.BurnRate || !st.Budget.Per.IsZero() {
		return st
	}
	sev := Warning
	if st.Runway.Sub(st.AsOf) <= BurnCriticalWithin {
		sev = Critical
	}
	st.Breaches = append(st.Breaches, Breach{Budget: st.Budget.Name, PeriodStart: st.Period.Start,
		Threshold: BurnThreshold(sev), Kind: BurnRate, Severity: sev})
	return st
}
