package pgquery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

var qDecideSpendSince = strings.Replace(stripComments(q("decide_spend_since")), "/*scope*/", scopeAt(2), 1)

// DecideSpend reads what POST /v1/decide's Decider keeps of a budget: the spend of every entity
// of per within scope over [start, end) (per zero: the scope's whole spend, as entity ""), and
// the snapshot it was read in.
//
// Without since the read is whole: EntitySpend, or BudgetSpend, in that snapshot. With since, a
// snapshot an earlier DecideSpend returned, it reads only what the events committed between the
// two add (decide_spend_since.sql): the earlier read plus this one is the spend at the new
// snapshot, exactly, for a few milliseconds where a whole read of 100,000 users takes a few
// hundred (of the database's and the collector's CPU, every few seconds on every collector).
// It adds new events only: a change to stored events (a re-pricing, a deletion) is seen by the
// next whole read.
//
// On Citus each worker reads in a snapshot of its own, which the coordinator's does not bound
// without the marks barrier of a whole read: there it returns no snapshot, and every read is
// whole.
func (s *Store) DecideSpend(ctx context.Context, scope report.Scope, per report.Per, start, end time.Time, since string) ([]report.Driver, string, error) {
	var snap string
	ctx = context.WithValue(ctx, snapshotOut{}, &snap)
	if since == "" {
		ds, err := s.wholeSpend(ctx, scope, per, start, end)
		return ds, snap, err
	}
	var out []report.Driver
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if snap == "" {
			return errNotIncremental
		}
		args := append(append([]any{start, end}, scopeArgs(scope)...), per.Field, per.TagKey, since)
		var err error
		out, err = scanDrivers(tx.Query(ctx, qDecideSpendSince, args...))
		return err
	})
	if errors.Is(err, errNotIncremental) {
		ds, err := s.wholeSpend(ctx, scope, per, start, end)
		return ds, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("query spend per %s since %s: %w", per, since, err)
	}
	return out, snap, nil
}

// errNotIncremental: the engine gives no snapshot to read since (Citus).
var errNotIncremental = errors.New("no snapshot to read since")

// wholeSpend is a whole read of DecideSpend.
func (s *Store) wholeSpend(ctx context.Context, scope report.Scope, per report.Per, start, end time.Time) ([]report.Driver, error) {
	if !per.IsZero() {
		return s.EntitySpend(ctx, scope, per, start, end)
	}
	sp, err := s.BudgetSpend(ctx, scope, start, end)
	if err != nil {
		return nil, err
	}
	return []report.Driver{{Cost: sp.Cost, Requests: sp.Events, Unpriced: sp.Unpriced}}, nil
}

// snapshotOut is the context key of a *string into which readSnapshot writes the snapshot of
// its transaction on plain PostgreSQL (not on Citus: see DecideSpend). A context value rather
// than a parameter: the whole reads reach readSnapshot through EntitySpend, BudgetSpend and the
// helpers they share with the batch job, which needs no snapshot.
type snapshotOut struct{}
