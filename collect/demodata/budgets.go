package demodata

import "github.com/shopspring/decimal"

// Budget is one budget of the demo's configuration.
type Budget struct {
	Name       string
	Period     string // daily or monthly
	Amount     decimal.Decimal
	Thresholds []int
	Scope      map[string]string
	Recipients []string
}

// The demo's budgets at the default size, in won. A weekday spends about 80 % of the daily
// budget, a weekend day about 20 %, the spike day far more, and a month about the monthly budget,
// so that thresholds are crossed on some days and not on others. QA_CHAT alone spends 65–110 %
// of its budget on weekdays.
var (
	dailyBudget   = decimal.NewFromInt(50_000)
	monthlyBudget = decimal.NewFromInt(1_000_000)
	qaBudget      = decimal.NewFromInt(20_000)
)

// Budgets are the demo's budgets for a data set of about events events. They scale with its
// size, so that they are crossed the same way at any size; at the default size the daily budget
// is ₩50,000.
func Budgets(events int) []Budget {
	scale := func(d decimal.Decimal) decimal.Decimal {
		v := d.Mul(decimal.NewFromInt(int64(events))).Div(decimal.NewFromInt(DefaultEvents)).Round(0)
		return decimal.Max(v, decimal.NewFromInt(1))
	}
	thresholds := []int{50, 80, 95}
	return []Budget{
		{Name: "daily-total", Period: "daily", Amount: scale(dailyBudget), Thresholds: thresholds,
			Recipients: []string{"finance@example.com"}},
		{Name: "monthly-total", Period: "monthly", Amount: scale(monthlyBudget), Thresholds: thresholds,
			Recipients: []string{"finance@example.com", "cto@example.com"}},
		{Name: "qa-chat-daily", Period: "daily", Amount: scale(qaBudget), Thresholds: thresholds,
			Scope: map[string]string{"service": "QA_CHAT"}, Recipients: []string{"qa-team@example.com"}},
	}
}
