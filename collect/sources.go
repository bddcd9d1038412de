package collect

import (
	"context"

	"github.com/aispend/aispend/report/api"
)

// The numbers the HTTP layer answers come from these sources (report/api, wired by
// cmd/aispend); their bodies are report/api's wire types, the same ones report.json is made of.
// An error means the numbers could not be read (the database): 503 with Retry-After.

// BudgetSource reports the status of every budget for GET /v1/budgets.
type BudgetSource interface {
	Budgets(ctx context.Context) (api.Budgets, error)
}

// ReadSource answers the read API: one method per endpoint, for a query collect has checked.
type ReadSource interface {
	Stats(ctx context.Context, q api.Query) (api.Stats, error)
	Daily(ctx context.Context, q api.Query) (api.Daily, error)
	Top(ctx context.Context, q api.Query) (api.Top, error)
	Alerts(ctx context.Context, q api.Query) (api.Alerts, error)
}
