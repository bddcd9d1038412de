package report

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// DefaultThresholds are the alert thresholds of a budget that names none, in percent.
var DefaultThresholds = []int{50, 80, 95}

// Severity is how urgent an alert is.
type Severity string

// Severities, by threshold: below 80 % INFO, 80 to 94 % WARNING, 95 % and above CRITICAL. With the
// default thresholds 50 / 80 / 95 that is INFO / WARNING / CRITICAL.
const (
	Info     Severity = "INFO"
	Warning  Severity = "WARNING"
	Critical Severity = "CRITICAL"
)

// SeverityOf is the severity of an alert at threshold percent.
func SeverityOf(threshold int) Severity {
	switch {
	case threshold >= 95:
		return Critical
	case threshold >= 80:
		return Warning
	default:
		return Info
	}
}

// State summarises a budget for GET /v1/budgets.
type State string

// States: ok below the lowest threshold; info, warning or critical after the highest threshold
// crossed; exceeded once the spend reaches the amount.
const (
	StateOK       State = "ok"
	StateInfo     State = "info"
	StateWarning  State = "warning"
	StateCritical State = "critical"
	StateExceeded State = "exceeded"
)

// Scope narrows a budget to matching events; empty fields match everything. Tag matches events
// whose tags hold TagKey = TagValue.
type Scope struct {
	Service  string `json:"service,omitempty"`
	Model    string `json:"model,omitempty"`
	Provider string `json:"provider,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	TagKey   string `json:"tag_key,omitempty"`
	TagValue string `json:"tag_value,omitempty"`
}

// IsZero reports whether the scope matches every event.
func (s Scope) IsZero() bool { return s == Scope{} }

// String is "service=QA_CHAT, tag team=search", or "all events".
func (s Scope) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("service", s.Service)
	add("model", s.Model)
	add("provider", s.Provider)
	add("org_id", s.OrgID)
	add("user_id", s.UserID)
	if s.TagKey != "" {
		parts = append(parts, "tag "+s.TagKey+"="+s.TagValue)
	}
	if len(parts) == 0 {
		return "all events"
	}
	return strings.Join(parts, ", ")
}

// ParseScope reads the configuration's scope map: service, model, provider, org_id, user_id and
// tag ("key=value").
func ParseScope(m map[string]string) (Scope, error) {
	var s Scope
	var errs []error
	for k, v := range m {
		switch k {
		case "service":
			s.Service = v
		case "model":
			s.Model = v
		case "provider":
			s.Provider = v
		case "org_id", "org":
			s.OrgID = v
		case "user_id", "user":
			s.UserID = v
		case "tag":
			key, val, ok := strings.Cut(v, "=")
			if !ok || key == "" {
				errs = append(errs, fmt.Errorf("scope.tag: %q: want key=value", v))
				continue
			}
			s.TagKey, s.TagValue = key, val
		default:
			errs = append(errs, fmt.Errorf("scope.%s: unknown filter (want service, model, provider, org_id, user_id or tag)", k))
		}
	}
	return s, errors.Join(errs...)
}

// Budget limits the spend of a scope over each calendar-aligned period in the report's time
// zone. Spend is always summed from the event log, so a period resets by itself, and each
// (budget, period, threshold, actual|forecast) alerts at most once (see the alert ledger).
type Budget struct {
	Name       string
	Period     PeriodKind
	Amount     decimal.Decimal
	Thresholds []int // percent, ascending; DefaultThresholds when empty
	Forecast   bool  // also alert when the projected period-end spend exceeds Amount
	BurnRate   bool  // also alert when the pace of the last hours runs out before the period ends
	Scope      Scope
	Recipients []string // empty: the default recipients
	Routes     Routes   // the channels of its alerts (channels.go); zero: email only
	// Per makes the budget an envelope for every value of a field (envelope.go); Overrides set
	// the amount of named values.
	Per       Per
	Overrides map[string]decimal.Decimal
	// Enforce makes the budget a policy for POST /v1/decide; nil: it only informs.
	Enforce *Enforce
}

// Validate reports every problem of the budget at once.
func (b Budget) Validate() error {
	var errs []error
	if strings.TrimSpace(b.Name) == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if strings.ContainsAny(b.Name, "\r\n") {
		errs = append(errs, errors.New("name: contains a line break"))
	}
	if _, err := ParsePeriodKind(string(b.Period)); err != nil {
		errs = append(errs, fmt.Errorf("period: %w", err))
	}
	if !b.Amount.IsPositive() {
		errs = append(errs, errors.New("amount: must be > 0"))
	}
	seen := map[int]bool{}
	for _, t := range b.Thresholds {
		if t <= 0 || t > 1000 {
			errs = append(errs, fmt.Errorf("thresholds: %d: want 1 to 1000 percent", t))
		}
		if seen[t] {
			errs = append(errs, fmt.Errorf("thresholds: %d listed twice", t))
		}
		seen[t] = true
	}
	errs = append(errs, b.validateEnvelope()...)
	return errors.Join(errs...)
}

// EffectiveThresholds is the budget's thresholds sorted, or the defaults.
func (b Budget) EffectiveThresholds() []int {
	if len(b.Thresholds) == 0 {
		return slices.Clone(DefaultThresholds)
	}
	t := slices.Clone(b.Thresholds)
	slices.Sort(t)
	return t
}

// Forecast rule: a projection is made only once MinForecastFraction of the period has passed,
// and at least MinForecastElapsed, because an early run rate (a busy first hour) says little
// about the whole period. Projected spend = spent / elapsed × period length.
const (
	MinForecastFraction = 0.25
	MinForecastElapsed  = 6 * time.Hour
)

// Kind tells an alert on the spend so far from one on the projected period-end spend.
type Kind string

// Alert kinds.
const (
	Actual   Kind = "actual"
	Forecast Kind = "forecast"
)

// ForecastThreshold is the threshold recorded for forecast alerts: the projection exceeds 100 %.
const ForecastThreshold = 100

// Breach is one alert to send at most once: a budget's period crossed a threshold, either by
// actual spend or by forecast.
type Breach struct {
	Budget      string
	PeriodStart time.Time
	Threshold   int
	Kind        Kind
	Severity    Severity
}

// Key identifies the breach in the alert ledger, e.g. "daily-total|2025-10-01T00:00:00+09:00|80|actual".
func (b Breach) Key() string {
	return fmt.Sprintf("%s|%s|%d|%s", b.Budget, b.PeriodStart.Format(time.RFC3339), b.Threshold, b.Kind)
}

// MessageID is the Message-ID of the breach's email in an installation, derived from its key: a
// resend after a crash carries the same id, so mail systems can drop the duplicate.
func (b Breach) MessageID(installation, domain string) string {
	return MessageID(installation, "alert", fmt.Sprintf("%s|%d|%d|%s", b.Budget, b.PeriodStart.UTC().Unix(), b.Threshold, b.Kind), domain)
}

// MessageID is the one scheme of the Message-IDs of aispend's emails: derived from the
// installation's id (pgstore.InstallationID) and key, so that every send of the same email (an
// alert, a period's digest) carries the same id and receivers recognise a resend, while another
// installation's email of the same key (same budget name and period) never does;
// "<" + prefix + "." + 32 hex digits of the SHA-256 of installation, NUL, key + "@" + domain + ">",
// domain "aispend.invalid" when empty.
func MessageID(installation, prefix, key, domain string) string {
	if domain == "" {
		domain = "aispend.invalid"
	}
	sum := sha256.Sum256([]byte(installation + "\x00" + key))
	return "<" + prefix + "." + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// Status is a budget evaluated for one period: what GET /v1/budgets returns and what alerts are
// made from.
type Status struct {
	Budget    Budget
	Period    Period
	AsOf      time.Time
	Spent     decimal.Decimal
	Unpriced  int64 // events in scope without a price: not in Spent
	Limit     decimal.Decimal
	Remaining decimal.Decimal // never negative
	Over      decimal.Decimal // how far Spent is past the limit; zero within it
	Percent   decimal.Decimal // exact to 2 decimals, truncated (79.996 % shows as 79.99 %)
	State     State
	// Projected is the forecast period-end spend; valid only when HasForecast.
	Projected   decimal.Decimal
	HasForecast bool
	// Runway is when the budget runs out at the pace of the last hours (Runway); valid only
	// when HasRunway, which is false when that is not before the period's end.
	Runway    time.Time
	HasRunway bool
	Breaches  []Breach
}

// Crossed reports whether spent reached threshold percent of amount, compared exactly:
// spent × 100 ≥ threshold × amount.
func Crossed(spent, amount decimal.Decimal, threshold int) bool {
	return Reached(spent, Line(amount, threshold))
}

// Reached reports whether spent has reached line, a threshold's Line: spent ≥ line.
func Reached(spent, line decimal.Decimal) bool {
	return spent.Cmp(line) >= 0
}

// Line is the spend at which threshold percent of amount is reached: amount × threshold ÷ 100,
// exact (a decimal shift), so that spent ≥ Line is spent × 100 ≥ amount × threshold.
func Line(amount decimal.Decimal, threshold int) decimal.Decimal {
	return amount.Mul(decimal.New(int64(threshold), -2))
}

// Share is the part of a budget's (or an entity's envelope's) amount that spent uses, in
// percent truncated as PercentOf, and what remains of it (never negative). An amount of 0 allows
// nothing: any spend is 100 % of it. Every status and POST /v1/decide state these two.
func Share(spent, amount decimal.Decimal) (percent, remaining decimal.Decimal) {
	if !amount.IsPositive() {
		if spent.IsPositive() {
			return decimal.NewFromInt(100), decimal.Zero
		}
		return decimal.Zero, decimal.Zero
	}
	return PercentOf(spent, amount), decimal.Max(amount.Sub(spent), decimal.Zero)
}

// Evaluate computes a budget's status for period p from the period's spend so far, as of now.
// Forecast alerts are made only for a period in progress and only when the budget asks for them.
func Evaluate(b Budget, p Period, spent decimal.Decimal, now time.Time) Status {
	st := Status{Budget: b, Period: p, AsOf: now, Spent: spent, Limit: b.Amount, State: StateOK}
	st.Percent, st.Remaining = Share(spent, b.Amount)
	st.Over = decimal.Max(spent.Sub(b.Amount), decimal.Zero)
	for _, t := range b.EffectiveThresholds() {
		if !Crossed(spent, b.Amount, t) {
			continue
		}
		sev := SeverityOf(t)
		st.State = State(strings.ToLower(string(sev)))
		st.Breaches = append(st.Breaches, Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: t, Kind: Actual, Severity: sev})
	}
	if spent.Cmp(b.Amount) >= 0 {
		st.State = StateExceeded
	}
	st.Projected, st.HasForecast = Project(p, spent, now)
	if b.Forecast && st.HasForecast && now.Before(p.End) && spent.Cmp(b.Amount) < 0 && st.Projected.Cmp(b.Amount) > 0 {
		st.Breaches = append(st.Breaches, Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: ForecastThreshold, Kind: Forecast, Severity: Warning})
	}
	if !b.Per.IsZero() {
		// An envelope budget's amount is each entity's, not the total's: its entities alert
		// (EvaluateEntity), the total never does.
		st.Breaches = nil
	}
	return st
}

// Project forecasts the period-end spend from the run rate so far: spent / elapsed × length. ok is
// false until enough of the period has passed (MinForecastFraction and MinForecastElapsed). Once
// the period is over the projection is the spend itself.
func Project(p Period, spent decimal.Decimal, now time.Time) (projected decimal.Decimal, ok bool) {
	length := p.Length()
	if !now.Before(p.End) {
		return spent, true
	}
	elapsed := now.Sub(p.Start)
	if elapsed < MinForecastElapsed || float64(elapsed) < MinForecastFraction*float64(length) {
		return decimal.Zero, false
	}
	return runRate(p, spent, now)
}

// runRate is the plain run rate to the period's end, spent ÷ elapsed × length, for an instant
// inside the period after its first second; ok is false otherwise.
func runRate(p Period, spent decimal.Decimal, now time.Time) (decimal.Decimal, bool) {
	// Whole seconds keep the division exact enough; money is rounded to 4 decimals.
	elapsed := int64(now.Sub(p.Start) / time.Second)
	if elapsed <= 0 || !now.Before(p.End) {
		return decimal.Zero, false
	}
	proj := spent.Mul(decimal.NewFromInt(int64(p.Length() / time.Second))).Div(decimal.NewFromInt(elapsed))
	return proj.Round(4), true
}

// Projection is the period-end spend a report states for a budget (Status.Projection).
type Projection struct {
	Amount decimal.Decimal
	// Estimate: the plain run rate of a period too young for the alerts' projection
	// (MinForecastFraction, MinForecastElapsed); it is stated, never alerted on.
	Estimate bool
}

// Projection is the budget's period-end spend as of AsOf, the one forecast every output states
// (the page's and the landing page's cards, the digest, the workbook's Forecast column,
// report.json): the alerts' projection once HasForecast (the spend itself once the period is
// over), before that, while the period is open, the plain run rate marked as an estimate. ok is
// false at or before the period's start. It is taken at AsOf, never at the run's time: a report
// of 1 December made on the 3rd projects one day's spend, not one day's spend over three days.
func (st Status) Projection() (Projection, bool) {
	if st.HasForecast {
		return Projection{Amount: st.Projected}, true
	}
	if proj, ok := runRate(st.Period, st.Spent, st.AsOf); ok {
		return Projection{Amount: proj, Estimate: true}, true
	}
	return Projection{}, false
}

// Open reports whether the budget's period was still in progress at AsOf.
func (st Status) Open() bool { return st.AsOf.Before(st.Period.End) }
