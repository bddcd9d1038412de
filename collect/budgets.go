package collect

import (
	"context"

	"github.com/aispend/aispend/report/api"
)

// BudgetSource reports the status of every budget for GET /v1/budgets (report/api's
// BudgetService, wired by cmd/aispend): the body is report/api's Budgets, whose budgets are the
// very type report.json states them in. Its error is answered 503 with Retry-After.
type BudgetSource interface {
	Budgets(ctx context.Context) (api.Budgets, error)
}
