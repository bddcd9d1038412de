package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// This file delivers alerts to the configured channels (webhooks, Slack, PagerDuty; their
// transports are report/channel) with the alert ledger's guarantees: each (alert, channel) has a
// row in the delivery ledger (DeliveryStore), claimed once, sent under its row lock so that two
// runs never deliver it twice, left pending when the send fails (the next run retries it), and
// recorded as stale once its period ended longer ago than the grace.

// Message types of channel messages (the webhook body's "type").
const (
	TypeThreshold = "budget.threshold"
	TypeForecast  = "budget.forecast"
	TypeBurnRate  = "budget.burn_rate"
	TypeTest      = "test"
)

// Delivery actions: a trigger tells of an alert; a resolve (PagerDuty) closes the incident of a
// budget period that has reset.
const (
	ActionTrigger = "trigger"
	ActionResolve = "resolve"
)

// ChannelMessage is what a channel is given to deliver: the facts of the alert email
// (AlertInput: status, breach, drivers, links) and the message's identity.
type ChannelMessage struct {
	AlertInput
	Type   string // TypeThreshold, TypeForecast, TypeTest
	Action string // ActionTrigger or ActionResolve
	// ID is the same on every attempt of one (alert, channel, action): receivers recognise a
	// resend by it.
	ID string
	// DedupKey is one per installation, budget and period: PagerDuty's incident key, so that the
	// alerts of a period are one incident and its reset resolves it.
	DedupKey     string
	Installation string
	// Anomaly is the anomaly of a TypeAnomaly message (nil otherwise); its facts replace the
	// budget's.
	Anomaly *Anomaly
}

// Notifier delivers messages to one channel (report/channel).
type Notifier interface {
	Name() string
	// Accepts reports whether the channel takes alerts of this severity (PagerDuty: CRITICAL
	// only); an alert routed to a channel that does not take it is not recorded for it.
	Accepts(s Severity) bool
	// Resolves reports whether the channel is told when a period it was alerted about resets.
	Resolves() bool
	Notify(ctx context.Context, m ChannelMessage) error
}

// Routes name the channels of a budget's alerts: the channels of a threshold, or Default for
// thresholds (and forecasts, burn rates) not named. The channel "email" is the alert email to the budget's
// recipients; a budget without routes alerts by email only.
type Routes struct {
	Default     []string
	ByThreshold map[int][]string
	Forecast    []string // nil: Default
	BurnRate    []string // nil: Default
	// Anomaly are the channels of the anomalies within the budget's scope (anomaly_job.go); nil:
	// none besides the anomaly block's own.
	Anomaly []string
}

// EmailChannel is the name of the alert email in routes.
const EmailChannel = "email"

// IsZero reports whether no route of the budget's own alerts is configured (Anomaly routes
// anomalies, not the budget's alerts).
func (r Routes) IsZero() bool {
	return r.Default == nil && r.ByThreshold == nil && r.Forecast == nil && r.BurnRate == nil
}

// For is the channels of an alert of threshold and kind.
func (r Routes) For(threshold int, kind Kind) []string {
	if r.IsZero() {
		return []string{EmailChannel}
	}
	if kind == Forecast && r.Forecast != nil {
		return r.Forecast
	}
	if kind == BurnRate && r.BurnRate != nil {
		return r.BurnRate
	}
	if c, ok := r.ByThreshold[threshold]; ok && kind == Actual {
		return c
	}
	return r.Default
}

// Email reports whether the alert email goes for an alert of threshold and kind.
func (r Routes) Email(threshold int, kind Kind) bool {
	return slices.Contains(r.For(threshold, kind), EmailChannel)
}

// DeliveryKey identifies one row of the delivery ledger: an alert, a channel, an action.
type DeliveryKey struct {
	Breach
	Channel string
	Action  string
}

func (k DeliveryKey) String() string { return k.Key() + "|" + k.Channel + "|" + k.Action }

// Delivery is one row of the delivery ledger.
type Delivery struct {
	DeliveryKey
	PeriodKind    PeriodKind
	PeriodEnd     time.Time
	Status        string // pending | sent | stale
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	SentAt        *time.Time
	// Covered: a delivery of the same channel, action, budget period and kind with a higher
	// threshold was sent already; it stood for this one.
	Covered bool
}

// Period is the delivery's budget period in loc.
func (d Delivery) Period(loc *time.Location) Period {
	return Period{Kind: d.PeriodKind, Start: d.PeriodStart.In(loc), End: d.PeriodEnd.In(loc)}
}

// DeliveryStore is the delivery ledger (report/pgquery).
type DeliveryStore interface {
	// ClaimDelivery records a trigger of the alert ledger's entry of b for channel: pending, or
	// stale when the alert is stale or stale is true. False when the row exists or the alert
	// ledger holds no entry of b.
	ClaimDelivery(ctx context.Context, b Breach, channel string, stale bool) (bool, error)
	// ClaimResolves records a resolve for each budget period whose trigger was sent to one of
	// channels and which ended at or before now; it returns how many it recorded.
	ClaimResolves(ctx context.Context, channels []string, now time.Time) (int, error)
	// PendingDeliveries lists the pending rows, oldest first.
	PendingDeliveries(ctx context.Context) ([]Delivery, error)
	// SendDelivery locks the pending row of k, calls send while holding the lock and records the
	// outcome as SendAlert does; false and no error when the row is not pending or is held.
	SendDelivery(ctx context.Context, k DeliveryKey, send func(context.Context) error) (bool, error)
	// StaleDelivery records the pending row of k as stale; false when it is not pending.
	StaleDelivery(ctx context.Context, k DeliveryKey) (bool, error)
}

// ChannelOutcome counts what the channel deliveries of a run did.
type ChannelOutcome struct {
	Claimed   int
	Sent      int
	Failed    int // they stay pending
	Skipped   int // held by another run, or of a budget or channel no longer configured
	Covered   int // recorded as sent: a higher threshold's message stood for them
	Stale     int
	Resolves  int // resolves claimed
	WouldSend int // dry run
}

// DeliveryID is the stable id of a delivery in an installation: "aispend-" and 32 hex digits.
func DeliveryID(installation string, k DeliveryKey) string {
	return "aispend-" + shortHash(installation, k.Budget, strconv.FormatInt(k.PeriodStart.UTC().Unix(), 10),
		strconv.Itoa(k.Threshold), string(k.Kind), k.Channel, k.Action)
}

// DedupKey is the incident key of a budget period in an installation.
func DedupKey(installation, budget string, periodStart time.Time) string {
	return "aispend-" + shortHash(installation, budget, strconv.FormatInt(periodStart.UTC().Unix(), 10))
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// MessageType is the channel message type of an alert kind.
func MessageType(k Kind) string {
	switch k {
	case Forecast:
		return TypeForecast
	case BurnRate:
		return TypeBurnRate
	}
	return TypeThreshold
}

// deliverChannels claims a delivery for each (breach, routed channel) of the periods the run
// evaluates, claims the resolves of periods that reset, then sends every pending delivery: one
// message per channel, budget period, kind and action, for its highest threshold, the lower ones
// recorded as covered. A dry run claims and sends nothing; it counts what a real run would send.
func (j *Job) deliverChannels(ctx context.Context, p Period, now time.Time, statuses *statusCache, dryRun bool) (ChannelOutcome, error) {
	var out ChannelOutcome
	if j.Deliveries == nil || len(j.Channels) == 0 {
		return out, nil
	}
	var errs []error
	if !dryRun {
		j.claimDeliveries(ctx, p, now, statuses, &out, &errs)
		j.claimResolves(ctx, now, &out, &errs)
	}
	pending, err := j.Deliveries.PendingDeliveries(ctx)
	if err != nil {
		return out, errors.Join(append(errs, err)...)
	}
	byName := j.budgetsByName()
	for _, g := range groupDeliveries(pending) {
		j.sendDeliveryGroup(ctx, g, byName, p, now, statuses, dryRun, &out, &errs)
	}
	return out, errors.Join(errs...)
}

// claimDeliveries claims a delivery for every breach of the budgets' periods and every channel
// its route names that accepts its severity.
func (j *Job) claimDeliveries(ctx context.Context, p Period, now time.Time, statuses *statusCache, out *ChannelOutcome, errs *[]error) {
	for _, b := range j.Budgets {
		if b.Routes.IsZero() {
			continue
		}
		for _, bp := range j.budgetPeriods(b, p, now) {
			st, err := statuses.get(ctx, b, bp)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			stale := Stale(bp.End, now, j.AlertGrace)
			for _, br := range st.Breaches {
				for _, name := range b.Routes.For(br.Threshold, br.Kind) {
					if n, ok := j.Channels[name]; !ok || !n.Accepts(br.Severity) {
						continue
					}
					claimed, err := j.Deliveries.ClaimDelivery(ctx, br, name, stale)
					if err != nil {
						*errs = append(*errs, err)
					} else if claimed {
						out.Claimed++
					}
				}
			}
		}
	}
}

// claimResolves claims the resolves of the channels that resolve (PagerDuty) for the periods
// that have reset.
func (j *Job) claimResolves(ctx context.Context, now time.Time, out *ChannelOutcome, errs *[]error) {
	var resolving []string
	for name, n := range j.Channels {
		if n.Resolves() {
			resolving = append(resolving, name)
		}
	}
	if len(resolving) == 0 {
		return
	}
	slices.Sort(resolving)
	n, err := j.Deliveries.ClaimResolves(ctx, resolving, now)
	out.Resolves += n
	if err != nil {
		*errs = append(*errs, err)
	}
}

// sendDeliveryGroup sends one group of pending deliveries (one channel, budget period and kind) as
// one message of its highest threshold, recording the others as covered; or records them stale
// or skipped.
func (j *Job) sendDeliveryGroup(ctx context.Context, g []Delivery, byName map[string]Budget, p Period, now time.Time, statuses *statusCache, dryRun bool, out *ChannelOutcome, errs *[]error) {
	top := g[0]
	b, okBudget := byName[top.Budget]
	n, okChannel := j.Channels[top.Channel]
	if !okBudget || !okChannel {
		out.Skipped += len(g)
		j.log().Warn("pending channel delivery of a budget or channel no longer configured", "key", top.String())
		return
	}
	bp := top.Period(j.loc())
	if top.Action == ActionTrigger && Stale(bp.End, now, j.AlertGrace) {
		if !dryRun {
			for _, d := range g {
				ok, err := j.Deliveries.StaleDelivery(ctx, d.DeliveryKey)
				if err != nil {
					*errs = append(*errs, err)
				} else if ok {
					out.Stale++
				}
			}
		}
		return
	}
	if top.Covered {
		out.Covered += j.coverDeliveries(ctx, g, dryRun, errs)
		return
	}
	if dryRun {
		out.WouldSend++
		return
	}
	msg, err := j.channelMessage(ctx, statuses, b, bp, top, p, g[1:])
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	sent, err := j.Deliveries.SendDelivery(ctx, top.DeliveryKey, func(ctx context.Context) error { return n.Notify(ctx, msg) })
	switch {
	case err != nil:
		out.Failed++
		*errs = append(*errs, fmt.Errorf("deliver %s to channel %s: %w", top.Key(), top.Channel, err))
	case sent:
		out.Sent++
		j.log().Info("alert delivered", "channel", top.Channel, "action", top.Action, "budget", top.Budget, "threshold", top.Threshold, "kind", top.Kind, "id", msg.ID)
		out.Covered += j.coverDeliveries(ctx, g[1:], false, errs)
	default:
		out.Skipped++
	}
}

// emailed is the entries of group g that budget b routes to email; the others are recorded as
// covered (alerted, by their channels, without an email).
func (j *Job) emailed(ctx context.Context, b Budget, g []LedgerEntry, dryRun bool, out *AlertOutcome, errs *[]error) []LedgerEntry {
	var mailed, quiet []LedgerEntry
	for _, e := range g {
		if b.Routes.Email(e.Threshold, e.Kind) {
			mailed = append(mailed, e)
		} else {
			quiet = append(quiet, e)
		}
	}
	if len(quiet) > 0 {
		out.Covered += j.markCovered(ctx, quiet, dryRun, errs)
	}
	return mailed
}

// coverDeliveries records deliveries as sent without a message of their own and returns how many
// it recorded (a dry run: how many it would).
func (j *Job) coverDeliveries(ctx context.Context, g []Delivery, dryRun bool, errs *[]error) int {
	if dryRun {
		return len(g)
	}
	n := 0
	for _, d := range g {
		ok, err := j.Deliveries.SendDelivery(ctx, d.DeliveryKey, func(context.Context) error { return nil })
		if err != nil {
			*errs = append(*errs, fmt.Errorf("record covered delivery %s: %w", d.String(), err))
		} else if ok {
			n++
		}
	}
	return n
}

// channelMessage is the message of delivery d of budget b's period bp: its status now, drivers
// and links, as the alert email states them. lower are the deliveries it stands for.
func (j *Job) channelMessage(ctx context.Context, statuses *statusCache, b Budget, bp Period, d Delivery, runPeriod Period, lower []Delivery) (ChannelMessage, error) {
	st, err := statuses.get(ctx, b, bp)
	if err != nil {
		return ChannelMessage{}, err
	}
	msg := ChannelMessage{
		Type: MessageType(d.Kind), Action: d.Action, ID: DeliveryID(j.Installation, d.DeliveryKey),
		DedupKey: DedupKey(j.Installation, d.Budget, d.PeriodStart), Installation: j.Installation,
		AlertInput: AlertInput{Status: st, Breach: d.Breach, Currency: j.Currency, AsOf: j.now(), Location: j.loc()},
	}
	for _, l := range lower {
		msg.Also = append(msg.Also, l.Threshold)
	}
	if d.Action == ActionResolve {
		return msg, nil
	}
	if msg.Drivers, err = j.Store.BudgetDrivers(ctx, b.Scope, bp.Start, bp.End, AlertDimensions, 5); err != nil {
		return ChannelMessage{}, err
	}
	links, err := j.links(ctx, runPeriod)
	if err != nil {
		return ChannelMessage{}, fmt.Errorf("link report %s: %w", runPeriod, err)
	}
	msg.ReportURL, msg.WorkbookURL, msg.LocalLinks = links.Page, links.Workbook, links.Local
	return msg, nil
}

// groupDeliveries groups pending deliveries by channel, action, budget, period and kind, each
// group highest threshold first, in the order of their first row.
func groupDeliveries(pending []Delivery) [][]Delivery {
	return groupHighestFirst(pending, func(d Delivery) (string, int) {
		return d.Channel + "|" + d.Action + "|" + d.Budget + "|" + d.PeriodStart.UTC().Format(time.RFC3339Nano) + "|" + string(d.Kind), d.Threshold
	})
}
