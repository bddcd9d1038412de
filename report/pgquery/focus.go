package pgquery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aispend/aispend/report"
)

var (
	qFocus      = strings.Replace(q("focus"), "/*visible*/", "", 1)
	qFocusCitus = strings.Replace(q("focus"), "/*visible*/", visibleIn3, 1)
)

var (
	_ report.FocusSource = (*Store)(nil)
	_ report.FocusSource = (*snapshot)(nil)
)

// FocusGroups calls emit for every FOCUS group of [from, to) (focus.sql), in one REPEATABLE
// READ snapshot. emit's group is reused: it is valid only until emit returns.
func (s *Store) FocusGroups(ctx context.Context, from, to time.Time, emit func(*report.FocusGroup) error) error {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return err
	}
	return unwrapEmit(s.readSnapshot(ctx, func(tx pgx.Tx) error { return readFocus(ctx, tx, distributed, from, to, emit) }))
}

// FocusGroups is Store.FocusGroups in the report's snapshot: the groups of exactly the events
// its totals count, so that the export's BilledCost adds up to the report's total.
func (s *snapshot) FocusGroups(ctx context.Context, from, to time.Time, emit func(*report.FocusGroup) error) error {
	return unwrapEmit(s.read(ctx, func(tx pgx.Tx) error { return readFocus(ctx, tx, s.distributed, from, to, emit) }))
}

// readFocus is FocusGroups in tx (on Citus, distributed, past the marks barrier), one statement
// per UTC charge day in order: the groups come out in the same order, and PostgreSQL sorts one
// day's events at a time (the month of 97.8 million events as one sort filled the disk with
// temporary files at 100 million events a month). The rows are read as they arrive: memory does
// not grow with the number of groups.
func readFocus(ctx context.Context, tx pgx.Tx, distributed bool, from, to time.Time, emit func(*report.FocusGroup) error) error {
	query, args, err := eventsQuery(ctx, tx, distributed, qFocus, qFocusCitus)
	if err != nil {
		return err
	}
	var g report.FocusGroup
	dest := []any{&g.Day, &g.Provider, &g.Model, &g.Service, &g.UserID, &g.OrgID, &g.Endpoint, &g.Tags, &g.CacheHit,
		&g.Unpriced, &g.PriceVersion, &g.FXRate, &g.Uncached, &g.CacheRead, &g.CacheWrite, &g.Output, &g.Cost}
	for lo := from; lo.Before(to); {
		y, m, d := lo.UTC().Date()
		hi := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		if hi.After(to) {
			hi = to
		}
		rows, err := tx.Query(ctx, query, append([]any{lo, hi}, args...)...)
		if err != nil {
			return fmt.Errorf("query focus groups: %w", err)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("read focus groups: %w", err)
			}
			// A date scans as midnight UTC; say so rather than rely on it.
			g.Day = time.Date(g.Day.Year(), g.Day.Month(), g.Day.Day(), 0, 0, 0, 0, time.UTC)
			if err := emit(&g); err != nil {
				rows.Close()
				return emitError{err}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read focus groups: %w", err)
		}
		lo = hi
	}
	return nil
}
