package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Envelope budgets (Per) alert per entity: each (budget, period, entity, threshold, kind) at most
// once, through their own ledger (EntityAlertStore, table entity_alerts) with the guarantees of
// the alert ledger; one run sends at most one email per budget period, listing every entity
// whose alert it sends.

// EntityAlert is one entity's alert of an envelope budget: a row of the entity alert ledger.
type EntityAlert struct {
	Budget      string
	PeriodStart time.Time
	Entity      string
	Threshold   int
	Kind        Kind
	PeriodKind  PeriodKind
	PeriodEnd   time.Time
	Severity    Severity
	Spent       decimal.Decimal // at claim time
	Amount      decimal.Decimal // the entity's envelope
	Status      string          // pending | sent | stale
	Attempts    int
}

// Key is the alert's unique key, e.g. "per-user|2026-11-29T15:00:00Z|alice|80|actual" (the period's start in UTC).
func (a EntityAlert) Key() string {
	return fmt.Sprintf("%s|%s|%s|%d|%s", a.Budget, a.PeriodStart.UTC().Format(time.RFC3339), a.Entity, a.Threshold, a.Kind)
}

// EntityAlertStore is the entity alert ledger (report/pgquery) and the entities' spend.
type EntityAlertStore interface {
	EntitySpender
	// ClaimEntityAlerts claims the keys of alerts (all of one budget period) with status
	// (pending, or stale: never sent) and returns how many this call claimed.
	ClaimEntityAlerts(ctx context.Context, alerts []EntityAlert, status string) (int, error)
	// SendEntityAlerts locks the pending alerts of a budget period that no other run holds,
	// calls send with them (not at all when there are none) while holding the lock, and records
	// them as sent, or the failure (they stay pending). It returns how many it sent.
	SendEntityAlerts(ctx context.Context, budget string, periodStart time.Time, send func(context.Context, []EntityAlert) error) (int, error)
	// PendingEntityPeriods lists the budget periods with pending alerts (Budget, PeriodStart,
	// PeriodKind and PeriodEnd set).
	PendingEntityPeriods(ctx context.Context) ([]EntityAlert, error)
	// StaleEntityAlerts records a budget period's pending alerts as stale.
	StaleEntityAlerts(ctx context.Context, budget string, periodStart time.Time) (int, error)
	// EntityAlerts lists a budget period's alerts, every status.
	EntityAlerts(ctx context.Context, budget string, periodStart time.Time) ([]EntityAlert, error)
}

// EntityAlertInput is what the email of an envelope budget's period is made of: every entity
// alert it stands for.
type EntityAlertInput struct {
	Budget    Budget
	Period    Period
	Alerts    []EntityAlert // sorted: highest threshold first, then by entity
	MessageID string
	Currency  string
	From      string
	To        []string
	ReportURL string
	AsOf      time.Time
	Location  *time.Location
}

// EntityAlertComposer makes the email of an envelope budget's period (report/email.EntityAlertEmail).
type EntityAlertComposer func(EntityAlertInput) (*Email, error)

// EntityBreaches are the alerts that entity statuses call for: every breach of each.
func EntityBreaches(sts []EntityStatus) []EntityAlert {
	var out []EntityAlert
	for _, st := range sts {
		for _, br := range st.Breaches {
			out = append(out, EntityAlert{
				Budget: br.Budget, PeriodStart: br.PeriodStart, Entity: st.Entity, Threshold: br.Threshold, Kind: br.Kind,
				PeriodKind: st.Period.Kind, PeriodEnd: st.Period.End, Severity: br.Severity,
				Spent: st.Spent, Amount: st.Limit, Status: StatusPending,
			})
		}
	}
	return out
}

// entityMessageID is the Message-ID of an envelope budget period's email sending alerts: derived
// from their keys, so a resend of the same alerts (a crash between the send and its record)
// carries the same id.
func (j *Job) entityMessageID(alerts []EntityAlert) string {
	keys := make([]string, len(alerts))
	for i, a := range alerts {
		keys[i] = fmt.Sprintf("%s|%d|%s|%d|%s", a.Budget, a.PeriodStart.UTC().Unix(), a.Entity, a.Threshold, a.Kind)
	}
	sort.Strings(keys)
	return MessageID(j.Installation, "entity-alert", strings.Join(keys, "\n"), j.MessageIDDomain)
}

// entityAlerts claims the breaches of every envelope budget's entities in the budget periods a
// run for p evaluates, then sends one email per budget period with pending alerts (this run's
// and those left by failed sends), listing each entity it alerts about. Stores without an
// entity ledger (test doubles) have no envelope alerts.
func (j *Job) entityAlerts(ctx context.Context, p Period, now time.Time, dryRun bool, out *AlertOutcome, errs *[]error) {
	store, ok := j.Store.(EntityAlertStore)
	if !ok {
		return
	}
	byName := j.budgetsByName()
	for _, b := range j.Budgets {
		if b.Per.IsZero() {
			continue
		}
		for _, bp := range j.budgetPeriods(b, p, now) {
			sts, err := EntityStatuses(ctx, store, b, bp, ReportAsOf(bp, now))
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			breaches := EntityBreaches(sts)
			out.Breaches += len(breaches)
			if len(breaches) == 0 {
				continue
			}
			if dryRun {
				j.dryRunEntities(ctx, store, b, bp, breaches, out, errs)
				continue
			}
			status := StatusPending
			if Stale(bp.End, now, j.AlertGrace) {
				status = StatusStale
			}
			n, err := store.ClaimEntityAlerts(ctx, breaches, status)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			out.Claimed += n
			if status == StatusStale {
				out.Stale += n
			}
		}
	}
	if dryRun {
		return
	}
	periods, err := store.PendingEntityPeriods(ctx)
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	for _, pp := range periods {
		b, ok := byName[pp.Budget]
		if !ok || b.Per.IsZero() {
			j.log().Warn("pending entity alerts of a budget no longer configured per entity", "budget", pp.Budget)
			out.Skipped++
			continue
		}
		bp := Period{Kind: pp.PeriodKind, Start: pp.PeriodStart.In(j.loc()), End: pp.PeriodEnd.In(j.loc())}
		if Stale(bp.End, now, j.AlertGrace) {
			n, err := store.StaleEntityAlerts(ctx, b.Name, pp.PeriodStart)
			if err != nil {
				*errs = append(*errs, err)
			}
			out.Stale += n
			continue
		}
		j.sendEntityAlerts(ctx, store, b, bp, p, out, errs)
	}
}

// sendEntityAlerts sends the one email of a budget period's pending entity alerts.
func (j *Job) sendEntityAlerts(ctx context.Context, store EntityAlertStore, b Budget, bp, runPeriod Period, out *AlertOutcome, errs *[]error) {
	n, err := store.SendEntityAlerts(ctx, b.Name, bp.Start, func(ctx context.Context, alerts []EntityAlert) error {
		msg, err := j.entityAlertEmail(ctx, b, bp, runPeriod, alerts)
		if err != nil {
			return err
		}
		return j.mailAlert(ctx, msg)
	})
	switch {
	case err != nil:
		out.Failed++
		*errs = append(*errs, fmt.Errorf("send entity alerts of %s %s: %w", b.Name, bp, err))
	case n > 0:
		out.Sent++
		j.log().Info("entity alerts sent", "budget", b.Name, "period", bp.String(), "alerts", n)
	}
}

// entityAlertEmail composes the email of alerts, one budget period's.
func (j *Job) entityAlertEmail(ctx context.Context, b Budget, bp, runPeriod Period, alerts []EntityAlert) (*Email, error) {
	if j.ComposeEntityAlert == nil {
		return nil, errNoComposer
	}
	links, err := j.links(ctx, runPeriod)
	if err != nil {
		return nil, fmt.Errorf("link report %s: %w", runPeriod, err)
	}
	sorted := append([]EntityAlert(nil), alerts...)
	sort.SliceStable(sorted, func(i, k int) bool {
		if sorted[i].Threshold != sorted[k].Threshold {
			return sorted[i].Threshold > sorted[k].Threshold
		}
		return sorted[i].Entity < sorted[k].Entity
	})
	return j.ComposeEntityAlert(EntityAlertInput{
		Budget: b, Period: bp, Alerts: sorted, MessageID: j.entityMessageID(alerts), Currency: j.Currency,
		From: j.From, To: j.recipients(b), ReportURL: links.Page, AsOf: j.now(), Location: j.loc(),
	})
}

// dryRunEntities counts what a real run would claim and send for a budget period: one email when
// any of breaches is not sent yet.
func (j *Job) dryRunEntities(ctx context.Context, store EntityAlertStore, b Budget, bp Period, breaches []EntityAlert, out *AlertOutcome, errs *[]error) {
	have, err := store.EntityAlerts(ctx, b.Name, bp.Start)
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	done := map[string]bool{}
	for _, a := range have {
		if a.Status != StatusPending {
			done[a.Key()] = true
		}
	}
	for _, a := range breaches {
		if !done[a.Key()] {
			out.WouldSend++
			j.log().Info("would alert entities", "budget", b.Name, "period", bp.String())
			return
		}
	}
}
