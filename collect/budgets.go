package collect

import (
	"context"
	"time"
)

// BudgetSource reports the status of every budget for GET /v1/budgets. Its error is answered
// 503 with Retry-After.
type BudgetSource interface {
	Budgets(ctx context.Context) (BudgetsResponse, error)
}

// BudgetsResponse is the body of GET /v1/budgets. Money amounts are decimal strings in the
// reporting currency, so clients never lose precision.
type BudgetsResponse struct {
	AsOf     time.Time      `json:"as_of"`
	Currency string         `json:"currency"`
	Budgets  []BudgetStatus `json:"budgets"` // never null: [] when no budget is configured
}

// BudgetStatus is one budget's current period in GET /v1/budgets.
type BudgetStatus struct {
	Name        string          `json:"name"`
	Period      string          `json:"period"` // daily, weekly or monthly
	PeriodLabel string          `json:"period_label"`
	PeriodStart time.Time       `json:"period_start"`
	PeriodEnd   time.Time       `json:"period_end"` // the period resets then
	Scope       BudgetScope     `json:"scope"`
	Spent       string          `json:"spent"`
	Limit       string          `json:"limit"`
	Remaining   string          `json:"remaining"`
	Percent     string          `json:"percent"` // two decimals, truncated
	State       string          `json:"state"`
	Thresholds  []int           `json:"thresholds"`
	Unpriced    int64           `json:"unpriced_events"`
	Forecast    *BudgetForecast `json:"forecast"` // null until enough of the period has passed
}

// BudgetScope is what a budget counts; an empty field matches every event.
type BudgetScope struct {
	Service  string `json:"service,omitempty"`
	Model    string `json:"model,omitempty"`
	Provider string `json:"provider,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	TagKey   string `json:"tag_key,omitempty"`
	TagValue string `json:"tag_value,omitempty"`
}

// BudgetForecast is the projected period-end spend.
type BudgetForecast struct {
	Projected string `json:"projected"`
	Exceeds   bool   `json:"exceeds_limit"`
}
