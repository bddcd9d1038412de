package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// TypeAnomaly is the channel message type of an anomaly (the webhook body's "type").
const TypeAnomaly = "spend.anomaly"

// AnomalyStore is the hourly aggregate anomaly detection reads and the anomaly ledger
// (report/pgquery; migration 00021).
type AnomalyStore interface {
	// AnomalySpend is the spend of every value of the scope keys in each of hours (UTC hours),
	// read from the hourly aggregate after building the hours it misses or that changed since
	// they were built (from the events of those hours only), and where the stored events begin
	// (zero: none). With dryRun the hours it built are rolled back.
	AnomalySpend(ctx context.Context, hours []time.Time, keys, tagKeys []string, loc *time.Location, dryRun bool) (map[time.Time]map[ScopeValue]decimal.Decimal, time.Time, error)
	// AnomalyDrivers is, for each window, the spend of each (user, model, service) within scope.
	AnomalyDrivers(ctx context.Context, scope Scope, windows []Window) ([][]DriverSpend, error)
	// ClaimAnomaly records a (once: false when it exists) and a delivery for each of channels
	// that it does not have yet: pending, or stale when stale is true.
	ClaimAnomaly(ctx context.Context, a Anomaly, channels []string, stale bool) (bool, error)
	// PendingAnomalies lists the pending deliveries with their anomalies, oldest first.
	PendingAnomalies(ctx context.Context, loc *time.Location) ([]AnomalyDelivery, error)
	// SendAnomaly locks the pending delivery of a to channel, calls send while holding the lock
	// and records the outcome; false and no error when it is not pending or another run holds it.
	SendAnomaly(ctx context.Context, a Anomaly, channel string, send func(context.Context) error) (bool, error)
	// StaleAnomaly records the pending delivery of a to channel as stale.
	StaleAnomaly(ctx context.Context, a Anomaly, channel string) (bool, error)
	// Anomalies lists the recorded anomalies whose window starts in [from, to), largest impact
	// first, with the status of their email.
	Anomalies(ctx context.Context, from, to time.Time, loc *time.Location) ([]Anomaly, error)
}

// AnomalyInput is what an anomaly email is made of.
type AnomalyInput struct {
	Anomaly   Anomaly
	MessageID string
	Currency  string
	From      string
	To        []string
	ReportURL string
	Location  *time.Location
}

// AnomalyComposer composes the email of an anomaly (report/email.AnomalyEmail).
type AnomalyComposer func(in AnomalyInput) (*Email, error)

// AnomalyOutcome counts what the anomaly step did.
type AnomalyOutcome struct {
	Found     int // anomalies detected in the windows judged
	Claimed   int // new anomalies recorded by this run
	Sent      int // emails and channel messages
	Failed    int // they stay pending
	Skipped   int // held by another run, or of a channel no longer configured
	Stale     int
	WouldSend int // dry run
}

// detectAnomalies judges the last complete hour and day of every value of every configured
// scope key against its baseline and explains each anomaly with its drivers, largest impact
// first. It writes nothing but the hourly aggregate (a dry run not even that).
func (j *Job) detectAnomalies(ctx context.Context, now time.Time, dryRun bool) ([]Anomaly, error) {
	cfg, loc := j.Anomaly, j.loc()
	windows := LastWindows(now, loc, cmpOrKinds(cfg.Windows))
	var hours []time.Time
	for _, w := range windows {
		hours = append(hours, w.Hours()...)
		for _, k := range []BaselineKind{BaselineWeekday, BaselineRecent} {
			for _, b := range w.BaselineWindows(k) {
				hours = append(hours, b.Hours()...)
			}
		}
	}
	slices.SortFunc(hours, func(a, b time.Time) int { return a.Compare(b) })
	hours = slices.CompactFunc(hours, func(a, b time.Time) bool { return a.Equal(b) })
	spend, history, err := j.Anomalies.AnomalySpend(ctx, hours, cfg.Scopes, cfg.TagKeys(), loc, dryRun)
	if err != nil {
		return nil, err
	}
	if history.IsZero() {
		return nil, nil
	}
	// Retention dropped the events before its cut: those hours are not zero spend, they are
	// unknown.
	if j.RetentionDays > 0 {
		if cut := now.Add(-time.Duration(j.RetentionDays) * 24 * time.Hour); cut.After(history) {
			history = cut
		}
	}
	sum := func(w Window) map[ScopeValue]decimal.Decimal {
		out := map[ScopeValue]decimal.Decimal{}
		for _, h := range w.Hours() {
			for sv, c := range spend[h] {
				out[sv] = out[sv].Add(c)
			}
		}
		return out
	}
	var found []Anomaly
	var errs []error
	for _, w := range windows {
		kind, base, ok := w.Baseline(history)
		if !ok {
			continue
		}
		actual := sum(w)
		samples := make([]map[ScopeValue]decimal.Decimal, len(base))
		for i, b := range base {
			samples[i] = sum(b)
		}
		for sv, cost := range actual {
			xs := make([]decimal.Decimal, len(base))
			for i := range samples {
				xs[i] = samples[i][sv] // zero when the value spent nothing then
			}
			usual, hit := cfg.Judge(cost, xs)
			if !hit {
				continue
			}
			a := Anomaly{Scope: sv.Scope, Value: sv.Value, Window: w, Actual: cost, Usual: usual, Baseline: kind, Samples: len(base)}
			ds, err := j.Anomalies.AnomalyDrivers(ctx, ScopeOf(sv.Scope, sv.Value), append([]Window{w}, base...))
			if err != nil {
				errs = append(errs, err)
			} else {
				a.ExplainDrivers(ds[0], ds[1:])
			}
			found = append(found, a)
		}
	}
	slices.SortFunc(found, func(a, b Anomaly) int {
		if c := b.Impact().Cmp(a.Impact()); c != 0 {
			return c
		}
		return compareStrings(a.Key(), b.Key())
	})
	return found, errors.Join(errs...)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpOrKinds(k []WindowKind) []WindowKind {
	if len(k) == 0 {
		return []WindowKind{WindowHour, WindowDay}
	}
	return k
}

// DetectAnomalies is detectAnomalies for tools and tests: the anomalies a run at now would find.
func (j *Job) DetectAnomalies(ctx context.Context, now time.Time) ([]Anomaly, error) {
	if j.Anomaly == nil || j.Anomalies == nil {
		return nil, nil
	}
	return j.detectAnomalies(ctx, now, false)
}

// anomalyChannels are the channels an anomaly goes to: the anomaly block's channels (default:
// email) and the `anomaly` routes of the budgets whose scope holds the anomaly's scope value (a
// budget without a scope holds every one), the unknown ones left out.
func (j *Job) anomalyChannels(a Anomaly) []string {
	names := slices.Clone(j.Anomaly.Channels)
	if names == nil {
		names = []string{EmailChannel}
	}
	sc := ScopeOf(a.Scope, a.Value)
	for _, b := range j.Budgets {
		if b.Routes.Anomaly != nil && b.Per.IsZero() && scopeHolds(b.Scope, sc) {
			names = append(names, b.Routes.Anomaly...)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return slices.DeleteFunc(names, func(n string) bool {
		_, ok := j.Channels[n]
		return n != EmailChannel && !ok
	})
}

// scopeHolds reports whether every filter of outer is one of inner's: the events of inner are
// among outer's.
func scopeHolds(outer, inner Scope) bool {
	return (outer.Service == "" || outer.Service == inner.Service) && (outer.Model == "" || outer.Model == inner.Model) &&
		(outer.Provider == "" || outer.Provider == inner.Provider) && (outer.OrgID == "" || outer.OrgID == inner.OrgID) &&
		(outer.UserID == "" || outer.UserID == inner.UserID) &&
		(outer.TagKey == "" || outer.TagKey == inner.TagKey && outer.TagValue == inner.TagValue)
}

// alertAnomalies detects the anomalies of the last windows, records each once with a delivery
// per routed channel, then sends every pending delivery (this run's and those earlier runs left):
// one email or channel message per anomaly and channel, with the ledger's guarantees.
func (j *Job) alertAnomalies(ctx context.Context, now time.Time, dryRun bool) (AnomalyOutcome, []Anomaly, error) {
	var out AnomalyOutcome
	found, err := j.detectAnomalies(ctx, now, dryRun)
	out.Found = len(found)
	errs := []error{err}
	if !dryRun {
		for _, a := range found {
			claimed, err := j.Anomalies.ClaimAnomaly(ctx, a, j.anomalyChannels(a), Stale(a.Window.End, now, j.AlertGrace))
			if err != nil {
				errs = append(errs, err)
			} else if claimed {
				out.Claimed++
				j.log().Info("anomaly", "scope", a.Scope, "value", a.Value, "window", a.Window.Kind, "start", a.Window.Start, "summary", a.Summary(j.Currency, j.loc()))
			}
		}
	} else {
		out.WouldSend = len(found)
		return out, found, errors.Join(errs...)
	}
	pending, err := j.Anomalies.PendingAnomalies(ctx, j.loc())
	if err != nil {
		return out, found, errors.Join(append(errs, err)...)
	}
	for _, d := range pending {
		j.sendAnomaly(ctx, d, now, &out, &errs)
	}
	return out, found, errors.Join(errs...)
}

// sendAnomaly sends one pending anomaly delivery, or records it stale or skips it.
func (j *Job) sendAnomaly(ctx context.Context, d AnomalyDelivery, now time.Time, out *AnomalyOutcome, errs *[]error) {
	if Stale(d.Window.End, now, j.AlertGrace) {
		if ok, err := j.Anomalies.StaleAnomaly(ctx, d.Anomaly, d.Channel); err != nil {
			*errs = append(*errs, err)
		} else if ok {
			out.Stale++
		}
		return
	}
	var send func(context.Context) error
	if d.Channel == EmailChannel {
		send = func(ctx context.Context) error { return j.mailAnomaly(ctx, d.Anomaly) }
	} else {
		n, ok := j.Channels[d.Channel]
		if !ok {
			out.Skipped++
			j.log().Warn("pending anomaly delivery of a channel no longer configured", "key", d.Key(), "channel", d.Channel)
			return
		}
		msg := ChannelMessage{Type: TypeAnomaly, Action: ActionTrigger, ID: AnomalyDeliveryID(j.Installation, d.Anomaly, d.Channel),
			DedupKey: AnomalyDeliveryID(j.Installation, d.Anomaly, ""), Installation: j.Installation, Anomaly: &d.Anomaly,
			AlertInput: AlertInput{Currency: j.Currency, AsOf: j.now(), Location: j.loc(),
				Breach: Breach{Severity: Warning, Kind: AnomalyKind}}}
		msg.ReportURL, msg.LocalLinks = j.anomalyLink(ctx, d.Anomaly)
		send = func(ctx context.Context) error { return n.Notify(ctx, msg) }
	}
	sent, err := j.Anomalies.SendAnomaly(ctx, d.Anomaly, d.Channel, send)
	switch {
	case err != nil:
		out.Failed++
		*errs = append(*errs, fmt.Errorf("deliver anomaly %s to %s: %w", d.Key(), d.Channel, err))
	case sent:
		out.Sent++
		j.log().Info("anomaly delivered", "channel", d.Channel, "key", d.Key())
	default:
		out.Skipped++
	}
}

// AnomalyKind is the kind a channel message of an anomaly carries.
const AnomalyKind Kind = "anomaly"

// mailAnomaly composes and sends the email of an anomaly.
func (j *Job) mailAnomaly(ctx context.Context, a Anomaly) error {
	if j.ComposeAnomaly == nil || j.Sender == nil {
		return errors.New("no mail transport configured")
	}
	to := j.Anomaly.Recipients
	if len(to) == 0 {
		to = j.Recipients
	}
	if len(to) == 0 {
		return ErrNoRecipients
	}
	in := AnomalyInput{Anomaly: a, MessageID: AnomalyMessageID(a, j.Installation, j.MessageIDDomain),
		Currency: j.Currency, From: j.From, To: to, Location: j.loc()}
	in.ReportURL, _ = j.anomalyLink(ctx, a)
	e, err := j.ComposeAnomaly(in)
	if err != nil {
		return err
	}
	return j.Sender.Send(ctx, e)
}

// anomalyLink is the link to the daily page holding the anomaly's window, and whether it is a
// local file; empty when links are not configured or fail (an anomaly is sent without one).
func (j *Job) anomalyLink(ctx context.Context, a Anomaly) (string, bool) {
	if j.Links == nil {
		return "", false
	}
	l, err := j.Links(ctx, PeriodContaining(Daily, a.Window.Start, j.loc()))
	if err != nil {
		j.log().Warn("no link in the anomaly message", "error", err)
		return "", false
	}
	return l.Page, l.Local
}
