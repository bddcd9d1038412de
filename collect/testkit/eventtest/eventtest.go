// Package eventtest is the one event factory of the tests: a valid event with defaults that
// tests change field by field, ids unique across a test binary, storing through the collector's
// own store (pgstore), and the database's own sum of cost to compare outputs against.
package eventtest

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
)

var seq atomic.Int64

// ID is an event id unique in the test binary, led by the test's name so that a stored row
// names the test that wrote it.
func ID(t testing.TB) string {
	return fmt.Sprintf("%s-%d", t.Name(), seq.Add(1))
}

// Row is a valid event with id at at: QA_CHAT on claude-sonnet-4-5 (anthropic), 500 input and
// 300 output tokens, priced locally at 7.80, successful, without duration, user or tags.
func Row(id string, at time.Time) collect.Row {
	return collect.Row{
		EventID: id, OccurredAt: at, Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic",
		InputTokens: 500, OutputTokens: 300, CostSource: "local", Cost: decimal.NewNullDecimal(testkit.Dec("7.80")),
		Success: true, DurationMS: math.MinInt64,
	}
}

// Price sets r's cost; "" makes it unpriced (cost_source none, no cost).
func Price(r *collect.Row, cost string) {
	if cost == "" {
		r.Cost, r.CostSource = decimal.NullDecimal{}, "none"
		return
	}
	r.Cost = decimal.NewNullDecimal(testkit.Dec(cost))
}

// Insert stores rows as the collector does (pgstore's group commit and COPY).
func Insert(t testing.TB, pool *pgxpool.Pool, rows ...collect.Row) {
	t.Helper()
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatalf("insert events: %v", err)
	}
}

// CostSum is the database's own sum of the cost of the events in [from, to), the figure every
// output must reconcile with.
func CostSum(t testing.TB, pool *pgxpool.Pool, from, to time.Time) decimal.Decimal {
	t.Helper()
	var sum string
	if err := pool.QueryRow(context.Background(), "SELECT sum(cost)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2", from, to).Scan(&sum); err != nil {
		t.Fatalf("sum of cost: %v", err)
	}
	return testkit.Dec(sum)
}
