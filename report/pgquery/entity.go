package pgquery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

var qEntitySpend = strings.Replace(stripComments(q("entity_spend")), "/*scope*/", scopeAt(2), 1)

// EntitySpend implements report.EntitySpender: the spend of every value of per within scope over
// [start, end), exact. Per user and per organisation it is BudgetDrivers over every value: the
// aggregates of the current days, plus what is pending, plus the events of the rest, in one
// snapshot, exactly as a budget's spend. Per endpoint and per tag it is read from the events
// (entity_spend.sql). Events without the field belong to no entity and are left out. In no
// order: the collector reads 100,000 users every few seconds and wants none.
func (s *Store) EntitySpend(ctx context.Context, scope report.Scope, per report.Per, start, end time.Time) ([]report.Driver, error) {
	var out []report.Driver
	switch per.Field {
	case report.PerUserID, report.PerOrgID:
		dim := report.Dimension(per.Field)
		all, err := s.driversByKey(ctx, scope, start, end, []report.Dimension{dim})
		if err != nil {
			return nil, err
		}
		out = make([]report.Driver, 0, len(all[dim]))
		for key, d := range all[dim] {
			if key != "" {
				out = append(out, *d)
			}
		}
	case report.PerEndpoint, report.PerTag:
		err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
			args := append(append([]any{start, end}, scopeArgs(scope)...), per.Field, per.TagKey)
			var err error
			out, err = scanDrivers(tx.Query(ctx, qEntitySpend, args...))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("query spend per %s: %w", per, err)
		}
	default:
		return nil, fmt.Errorf("query spend per %q: not a per field", per.String())
	}
	return out, nil
}

// scanDrivers reads rows of key, cost (text, exact), requests and unpriced.
func scanDrivers(rows pgx.Rows, err error) ([]report.Driver, error) {
	if err != nil {
		return nil, err
	}
	var out []report.Driver
	var d report.Driver
	var cost string
	_, err = pgx.ForEachRow(rows, []any{&d.Key, &cost, &d.Requests, &d.Unpriced}, func() error {
		c, err := decimal.NewFromString(cost)
		if err != nil {
			return fmt.Errorf("parse spend %q: %w", cost, err)
		}
		d.Cost = c
		out = append(out, d)
		return nil
	})
	return out, err
}
