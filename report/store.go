package report

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Store is everything the batch job reads and writes in the database (report/pgquery).
type Store interface {
	// Report rebuilds the daily aggregates of the days the report needs whose events still exist,
	// then computes the period's totals, breakdowns and daily series from the aggregates. With
	// req.DryRun the rebuild is rolled back. Report.Budgets is left empty.
	Report(ctx context.Context, req ReportRequest) (*Report, error)
	// Refresh brings the aggregates of the days of [from, to) (in the zone of from) up to date,
	// as Report does for its days: every change since the last refresh is applied (new events
	// added, changed days rebuilt) and days never built are built. With lag > 0 it does so only
	// when there is more to do than read a few new events: a day of the range is not current, a
	// change other than an insert is pending, or the oldest pending insert is older than lag;
	// it returns whether it refreshed. A budget check calls it so that its spend reads the
	// aggregates and at most lag of events that arrived since.
	Refresh(ctx context.Context, from, to time.Time, lag time.Duration) (bool, error)
	// BudgetSpend is the spend of a scope over [start, end): the aggregates where they are
	// current, the events for the rest.
	BudgetSpend(ctx context.Context, scope Scope, start, end time.Time) (Spend, error)
	// BudgetDrivers is, for each dimension of dims, the top n values within the scope over
	// [start, end), in the order of every top list (CompareDrivers).
	BudgetDrivers(ctx context.Context, scope Scope, start, end time.Time, dims []Dimension, n int) (map[Dimension][]Driver, error)
	// ClaimAlert inserts the entry's key into the ledger with its status (pending, or stale:
	// recorded, never sent); false when the key already exists.
	ClaimAlert(ctx context.Context, e LedgerEntry) (bool, error)
	// PendingAlerts lists claimed alerts not yet sent, oldest first.
	PendingAlerts(ctx context.Context) ([]LedgerEntry, error)
	// SendAlert locks the pending entry of b, calls send while holding the lock, and records
	// the outcome: sent, or attempts + 1 and the error. It returns false and no error when the
	// entry is not pending or another run holds it. A send error is returned wrapped.
	SendAlert(ctx context.Context, b Breach, send func(context.Context, LedgerEntry) error) (bool, error)
	// StaleAlert records the pending entry of b as stale, never to be sent; false when it is
	// not pending.
	StaleAlert(ctx context.Context, b Breach) (bool, error)
	// Alerts lists the ledger entries of periods that overlap [from, to).
	Alerts(ctx context.Context, from, to time.Time) ([]LedgerEntry, error)
	// DropPartitionsBefore makes sure the daily aggregates (in loc) of every event partition
	// that ends at or before cutoff are built, then detaches and drops those partitions. With
	// dryRun it only lists them.
	DropPartitionsBefore(ctx context.Context, cutoff time.Time, loc *time.Location, dryRun bool) ([]string, error)
}

// ReportRequest asks Store.Report for a period.
type ReportRequest struct {
	Period     Period
	TopN       int  // rows per breakdown before "other"; default 10
	SeriesDays int  // default SeriesDays
	DryRun     bool // roll the aggregate rebuild back
	// RefreshFrom and RefreshTo widen the days whose aggregates are brought up to date beyond
	// the report's own (the budget periods the run evaluates); zero: the report's days only.
	RefreshFrom, RefreshTo time.Time
	// Events asks for Report.Events: the period's events in the snapshot of the totals, kept
	// open (a connection) until the caller closes it.
	Events bool
	// AsOf is the run's time when the period is still in progress (zero or ≥ Period.End: the
	// period is over): the comparison with the previous period then covers the same elapsed part.
	AsOf time.Time
	// CacheSaving prices what the period's cache reads saved; nil: Report.CacheSavings is not
	// computed.
	CacheSaving *CacheSaving
}

// CacheSaving prices prompt-cache savings: what cache-read tokens saved against the uncached
// input price, at the price level (base or long-context tier) that priced their requests.
type CacheSaving struct {
	// Tiers are the input-token thresholds of every tier of every price, ascending without
	// repeats: requests above one threshold and at most the next are priced at one level by
	// every price, so the store sums cache reads per such band.
	Tiers []int64
	// Saved is what tokens cache-read tokens of a model saved on a day (in the reporting
	// currency), read by requests of inputTokens input tokens (any request of their band: 0 for
	// requests at base prices): the input price less the cache-read price of the level that
	// applies. ok false for a model without a price.
	Saved func(model, provider string, day time.Time, inputTokens, tokens int64) (decimal.Decimal, bool)
}

// Spend is a budget scope's spend over a time range.
type Spend struct {
	Cost     decimal.Decimal
	Events   int64
	Unpriced int64
}

// Driver is one of the top contributors to a budget's spend.
type Driver struct {
	Key      string
	Cost     decimal.Decimal
	Requests int64
	Unpriced int64 // requests without a price: all of them, and the cost is "unpriced", not 0
}
