package report

import (
	"cmp"
	"context"
	"errors"
	"time"
)

// ErrNoEnvelope: no budget of that name has per.
var ErrNoEnvelope = errors.New("no envelope budget of that name")

// EntityBoard states the entities of envelope budgets in their current periods, nearest to or
// over their envelope first, for GET /v1/budgets and its paged list of entities. Each budget's
// list is reused for CacheFor, as BudgetBoard's statuses are.
type EntityBoard struct {
	Source   EntitySpender
	Budgets  []Budget
	Location *time.Location
	Now      func() time.Time
	CacheFor time.Duration
	Timeout  time.Duration // default DefaultComputeTimeout

	memo Memo[string, []EntityStatus]
}

// Entities are envelope budget name's entities (EntityStatuses' order) and the instant they are
// as of; ErrNoEnvelope when no budget of that name has per. The slice is shared: do not modify.
func (eb *EntityBoard) Entities(ctx context.Context, name string) (Budget, time.Time, []EntityStatus, error) {
	var b Budget
	found := false
	for _, x := range eb.Budgets {
		if x.Name == name && !x.Per.IsZero() {
			b, found = x, true
		}
	}
	if !found {
		return Budget{}, time.Time{}, nil, ErrNoEnvelope
	}
	now := time.Now()
	if eb.Now != nil {
		now = eb.Now()
	}
	loc := cmp.Or(eb.Location, time.UTC)
	sts, at, err := eb.memo.Get(ctx, name, now, eb.CacheFor, func(ctx context.Context) ([]EntityStatus, error) {
		ctx, cancel := context.WithTimeout(ctx, cmp.Or(eb.Timeout, DefaultComputeTimeout))
		defer cancel()
		return EntityStatuses(ctx, eb.Source, b, PeriodContaining(b.Period, now, loc), now)
	})
	if err != nil {
		return Budget{}, time.Time{}, nil, err
	}
	return b, at.In(loc), sts, nil
}

// Envelope is an envelope budget's entities in one budget period, as a report states them.
type Envelope struct {
	Budget   Budget
	Period   Period
	Entities []EntityStatus
}

// envelopes are the entities of every envelope budget in its period holding the end of the report
// period p, as of asOf (the report's instant); none from a store that cannot read them.
func (j *Job) envelopes(ctx context.Context, p Period, asOf time.Time) ([]Envelope, error) {
	src, ok := j.Store.(EntitySpender)
	if !ok {
		return nil, nil
	}
	var out []Envelope
	for _, b := range j.Budgets {
		if b.Per.IsZero() {
			continue
		}
		bp := PeriodContaining(b.Period, p.End.Add(-time.Nanosecond), j.loc())
		sts, err := EntityStatuses(ctx, src, b, bp, asOf)
		if err != nil {
			return out, err
		}
		out = append(out, Envelope{Budget: b, Period: bp, Entities: sts})
	}
	return out, nil
}
