package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report/format"
)

// Anomaly detection: for each configured scope key (service, model, provider, org_id, user_id,
// tag:<key>) and each of its values, the spend of the last complete hour and of the last complete
// day is compared with that value's own usual level, and flagged when it is far above it and the
// money at stake is worth telling someone about.
//
// The usual level is a robust baseline of the same window in earlier weeks: the median of the
// same weekday and hour (a day window: the same weekday) in the previous AnomalyWeeks weeks, with
// the median absolute deviation (MAD) as its spread. Medians, not means: one earlier incident in
// the baseline neither raises the usual level nor widens the spread much, and AI spend follows
// the working week (Monday 10:00 is not Sunday 03:00). While fewer than AnomalyMinSamples of those
// weeks lie within the stored data (a young installation), the baseline is the same hour (a day:
// every day) of the previous AnomalyRecentDays days, which still follows the daily cycle; with
// fewer samples still, nothing is judged.
//
// A window is an anomaly when all three hold:
//   - impact = actual − usual ≥ MinImpact (money: small scopes never page anyone);
//   - actual ≥ usual × (100 + MinIncrease) ÷ 100 (default: at least double the usual);
//   - impact ≥ Deviations × 1.4826 × MAD (1.4826 × MAD estimates the standard deviation of
//     normally distributed spend; default 5 of them: noisy scopes need a larger jump).
const (
	AnomalyWeeks      = 4
	AnomalyRecentDays = 7
	AnomalyMinSamples = 3
	// DefaultAnomalyIncrease and DefaultAnomalyDeviations are the defaults of MinIncrease (percent)
	// and Deviations.
	DefaultAnomalyIncrease   = 100
	DefaultAnomalyDeviations = 5
	// AnomalyDrivers is how many driver combinations (user, model, service) an anomaly keeps.
	AnomalyDrivers = 3
)

// madScale makes the MAD a consistent estimate of the standard deviation of normal data.
var madScale = decimal.RequireFromString("1.4826")

// Window kinds of anomaly detection.
const (
	WindowHour WindowKind = "hour"
	WindowDay  WindowKind = "day"
)

// WindowKind is the length of an anomaly's window.
type WindowKind string

// Baseline kinds: the same weekday (and hour) of earlier weeks, or the same hour of the recent
// days when the data is younger than that.
const (
	BaselineWeekday BaselineKind = "weekday"
	BaselineRecent  BaselineKind = "recent"
)

// BaselineKind names which earlier windows an anomaly's usual level is the median of.
type BaselineKind string

// AnomalyConfig is the `anomaly:` block of the configuration.
type AnomalyConfig struct {
	// Scopes are the scope keys: service, model, provider, org_id, user_id, tag:<key>.
	Scopes []string
	// MinImpact is the least money (actual − usual) an anomaly must be worth.
	MinImpact decimal.Decimal
	// MinIncrease is the least increase over the usual level, in percent.
	MinIncrease int
	// Deviations is how many robust standard deviations (1.4826 × MAD) the impact must exceed.
	Deviations decimal.Decimal
	// Windows are the windows judged (default hour and day).
	Windows []WindowKind
	// Recipients of the anomaly email (default: the alert recipients).
	Recipients []string
	// Channels the anomalies go to: "email" and channel names (default: email).
	Channels []string
}

// TagKeys are the tag keys of the configured scopes.
func (c *AnomalyConfig) TagKeys() []string {
	var keys []string
	for _, s := range c.Scopes {
		if k, ok := strings.CutPrefix(s, "tag:"); ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Window is one window of anomaly detection: a local hour or a local day.
type Window struct {
	Kind       WindowKind
	Start, End time.Time
}

// LastWindows are the windows a run at now judges: the last complete hour and the last complete
// day, in loc. Hours are whole UTC hours, which are local hours in every zone whose offset is
// whole hours.
func LastWindows(now time.Time, loc *time.Location, kinds []WindowKind) []Window {
	var out []Window
	for _, k := range kinds {
		switch k {
		case WindowHour:
			end := now.Truncate(time.Hour)
			out = append(out, Window{Kind: WindowHour, Start: end.Add(-time.Hour).In(loc), End: end.In(loc)})
		case WindowDay:
			y, m, d := now.In(loc).Date()
			out = append(out, Window{Kind: WindowDay, Start: StartOfDay(y, m, d-1, loc), End: StartOfDay(y, m, d, loc)})
		}
	}
	return out
}

// shifted is w moved days calendar days back (an hour keeps its local wall-clock hour).
func (w Window) shifted(days int) Window {
	loc := w.Start.Location()
	if w.Kind == WindowDay {
		y, m, d := w.Start.Date()
		return Window{Kind: w.Kind, Start: StartOfDay(y, m, d-days, loc), End: StartOfDay(y, m, d-days+1, loc)}
	}
	s := w.Start.AddDate(0, 0, -days)
	return Window{Kind: w.Kind, Start: s, End: s.Add(time.Hour)}
}

// BaselineWindows are the earlier windows of w's baseline kind k, newest first.
func (w Window) BaselineWindows(k BaselineKind) []Window {
	var out []Window
	if k == BaselineWeekday {
		for i := 1; i <= AnomalyWeeks; i++ {
			out = append(out, w.shifted(7*i))
		}
		return out
	}
	for i := 1; i <= AnomalyRecentDays; i++ {
		out = append(out, w.shifted(i))
	}
	return out
}

// Hours are the UTC hours that make up w.
func (w Window) Hours() []time.Time {
	var out []time.Time
	for h := w.Start.UTC().Truncate(time.Hour); h.Before(w.End); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}

// Baseline chooses the baseline of w: the weekday windows when at least AnomalyMinSamples of
// them begin at or after history (where the stored data begin), else the recent ones; ok is
// false when neither has enough.
func (w Window) Baseline(history time.Time) (BaselineKind, []Window, bool) {
	for _, k := range []BaselineKind{BaselineWeekday, BaselineRecent} {
		var in []Window
		for _, b := range w.BaselineWindows(k) {
			if !b.Start.Before(history) {
				in = append(in, b)
			}
		}
		if len(in) >= AnomalyMinSamples {
			return k, in, true
		}
	}
	return "", nil, false
}

// Anomaly is a scope value's spend over a window far above its usual level, with what drove it.
// Computed once (Job.detectAnomalies), stored in the anomaly ledger with these facts, and stated
// as they are by every output.
type Anomaly struct {
	Scope    string // service, model, provider, org_id, user_id, tag:<key>
	Value    string
	Window   Window
	Actual   decimal.Decimal
	Usual    decimal.Decimal // median of the baseline windows
	Baseline BaselineKind
	Samples  int
	Drivers  []AnomalyDriver
	// Status is the anomaly's email delivery status when read from the ledger (pending, sent,
	// stale), "" when it has no email.
	Status string
}

// AnomalyDriver is one (user, model, service) combination within an anomaly's scope and how
// much of the excess it made: its spend in the window less its own usual spend (median over the
// same baseline windows).
type AnomalyDriver struct {
	UserID  string          `json:"user_id"`
	Model   string          `json:"model"`
	Service string          `json:"service"`
	Excess  decimal.Decimal `json:"excess"`
	Share   decimal.Decimal `json:"share"` // percent of the anomaly's impact, truncated to two decimals
}

// Key identifies an anomaly in the ledger: once per scope, value and window.
func (a Anomaly) Key() string {
	return fmt.Sprintf("%s=%s|%s|%s", a.Scope, a.Value, a.Window.Kind, a.Window.Start.UTC().Format(time.RFC3339))
}

// Impact is the money above the usual level.
func (a Anomaly) Impact() decimal.Decimal { return a.Actual.Sub(a.Usual) }

// Increase is the increase over the usual level in percent (truncated to two decimals); ok false
// when the usual level is zero.
func (a Anomaly) Increase() (decimal.Decimal, bool) {
	if !a.Usual.IsPositive() {
		return decimal.Zero, false
	}
	return PercentOf(a.Impact(), a.Usual), true
}

// ScopeOf is the budget scope of one value of a scope key.
func ScopeOf(key, value string) Scope {
	switch key {
	case string(ByService):
		return Scope{Service: value}
	case string(ByModel):
		return Scope{Model: value}
	case string(ByProvider):
		return Scope{Provider: value}
	case string(ByOrg):
		return Scope{OrgID: value}
	case string(ByUser):
		return Scope{UserID: value}
	}
	k, _ := strings.CutPrefix(key, "tag:")
	return Scope{TagKey: k, TagValue: value}
}

// ScopeLabel is "user_id u-17", "tag team=search".
func (a Anomaly) ScopeLabel() string {
	if k, ok := strings.CutPrefix(a.Scope, "tag:"); ok {
		return "tag " + k + "=" + a.Value
	}
	return a.Scope + " " + a.Value
}

// WindowLabel is the window in loc: "Tue 15 Dec 2026 14:00–15:00" or "Tue 15 Dec 2026".
func (a Anomaly) WindowLabel(loc *time.Location) string {
	s := a.Window.Start.In(loc)
	if a.Window.Kind == WindowDay {
		return s.Format("Mon 2 Jan 2006")
	}
	return s.Format("Mon 2 Jan 2006 15:04") + "–" + a.Window.End.In(loc).Format("15:04")
}

// UsualLabel says what the usual level is the usual of: "Tuesdays 14:00", "Tuesdays",
// "14:00 on the last 7 days", "the last 7 days".
func (a Anomaly) UsualLabel(loc *time.Location) string {
	s := a.Window.Start.In(loc)
	switch {
	case a.Baseline == BaselineWeekday && a.Window.Kind == WindowHour:
		return s.Weekday().String() + "s " + s.Format("15:04")
	case a.Baseline == BaselineWeekday:
		return s.Weekday().String() + "s"
	case a.Window.Kind == WindowHour:
		return fmt.Sprintf("%s on the previous %d days", s.Format("15:04"), a.Samples)
	}
	return fmt.Sprintf("the previous %d days", a.Samples)
}

// Explain is the one sentence every output states: "+₩412 (+230.1 %) against the usual ₩179 for
// Tuesdays 14:00; 78.0 % of it from user u-17 on claude-opus-4-1 in QA_CHAT".
func (a Anomaly) Explain(currency string, loc *time.Location) string {
	var b strings.Builder
	b.WriteString(format.Signed(a.Impact(), currency))
	if inc, ok := a.Increase(); ok {
		b.WriteString(" (" + format.SignedPercent(inc) + ")")
	}
	fmt.Fprintf(&b, " against the usual %s for %s", format.Format(a.Usual, currency), a.UsualLabel(loc))
	if len(a.Drivers) > 0 {
		d := a.Drivers[0]
		fmt.Fprintf(&b, "; %s of it from %s", format.Percent(d.Share), d.Label())
	}
	return b.String()
}

// Label is "user u-17 on claude-opus-4-1 in QA_CHAT" ("no user" when the events carry none).
func (d AnomalyDriver) Label() string {
	user := "user " + d.UserID
	if d.UserID == "" {
		user = "no user"
	}
	return user + " on " + d.Model + " in " + d.Service
}

// Summary is the one line of an anomaly: "Anomaly: user_id u-17 spent ₩591 on Tue 15 Dec 2026
// 14:00–15:00: +₩412 (…)".
func (a Anomaly) Summary(currency string, loc *time.Location) string {
	return fmt.Sprintf("Anomaly: %s spent %s on %s: %s", a.ScopeLabel(), format.Format(a.Actual, currency),
		a.WindowLabel(loc), a.Explain(currency, loc))
}

// ScopeValue is one value of one scope key.
type ScopeValue struct {
	Scope, Value string
}

// Judge returns the anomaly of one scope value over a window, or ok false: actual is its spend in
// the window, samples its spend in each baseline window (zero where it spent nothing).
func (c *AnomalyConfig) Judge(actual decimal.Decimal, samples []decimal.Decimal) (usual decimal.Decimal, ok bool) {
	if len(samples) == 0 {
		return decimal.Zero, false
	}
	usual = median(samples)
	impact := actual.Sub(usual)
	if impact.LessThan(c.MinImpact) || !impact.IsPositive() {
		return usual, false
	}
	inc := c.MinIncrease
	if inc <= 0 {
		inc = DefaultAnomalyIncrease
	}
	if actual.Mul(decimal.NewFromInt(100)).LessThan(usual.Mul(decimal.NewFromInt(int64(100 + inc)))) {
		return usual, false
	}
	dev := c.Deviations
	if !dev.IsPositive() {
		dev = decimal.NewFromInt(DefaultAnomalyDeviations)
	}
	spread := make([]decimal.Decimal, len(samples))
	for i, s := range samples {
		spread[i] = s.Sub(usual).Abs()
	}
	return usual, impact.GreaterThanOrEqual(dev.Mul(madScale).Mul(median(spread)))
}

// DriverSpend is the spend of one (user, model, service) combination in one window.
type DriverSpend struct {
	UserID, Model, Service string
	Cost                   decimal.Decimal
}

// ExplainDrivers sets a's drivers from the spend of its scope's (user, model, service)
// combinations in its window (actual) and in each of its baseline windows (base): each
// combination's excess is its spend less the median of its own spend over the baseline windows;
// the largest AnomalyDrivers excesses, as a share of the anomaly's impact.
func (a *Anomaly) ExplainDrivers(actual []DriverSpend, base [][]DriverSpend) {
	type key struct{ u, m, s string }
	hist := map[key][]decimal.Decimal{}
	for i, w := range base {
		for _, d := range w {
			k := key{d.UserID, d.Model, d.Service}
			if hist[k] == nil {
				hist[k] = make([]decimal.Decimal, len(base))
				for j := range hist[k] {
					hist[k][j] = decimal.Zero
				}
			}
			hist[k][i] = hist[k][i].Add(d.Cost)
		}
	}
	now := map[key]decimal.Decimal{}
	for _, d := range actual {
		k := key{d.UserID, d.Model, d.Service}
		now[k] = now[k].Add(d.Cost)
	}
	impact := a.Impact()
	a.Drivers = nil
	for k, cost := range now {
		usual := decimal.Zero
		if h := hist[k]; h != nil {
			usual = median(h)
		}
		excess := cost.Sub(usual)
		if !excess.IsPositive() {
			continue
		}
		a.Drivers = append(a.Drivers, AnomalyDriver{UserID: k.u, Model: k.m, Service: k.s, Excess: excess,
			Share: decimal.Min(PercentOf(excess, impact), decimal.NewFromInt(100))})
	}
	slices.SortFunc(a.Drivers, func(x, y AnomalyDriver) int {
		if c := y.Excess.Cmp(x.Excess); c != 0 {
			return c
		}
		return strings.Compare(x.UserID+"\x00"+x.Model+"\x00"+x.Service, y.UserID+"\x00"+y.Model+"\x00"+y.Service)
	})
	if len(a.Drivers) > AnomalyDrivers {
		a.Drivers = a.Drivers[:AnomalyDrivers]
	}
}

// AnomalyDelivery is one pending row of the anomaly delivery ledger, with its anomaly.
type AnomalyDelivery struct {
	Anomaly
	Channel string
}

// AnomalyMessageID is the Message-ID of an anomaly's email.
func AnomalyMessageID(a Anomaly, installation, domain string) string {
	return MessageID(installation, "anomaly", a.Key(), domain)
}

// AnomalyDeliveryID is the stable id of an anomaly's delivery to a channel (the webhook's "id").
func AnomalyDeliveryID(installation string, a Anomaly, channel string) string {
	return "aispend-" + shortHash(installation, "anomaly", a.Key(), channel)
}
