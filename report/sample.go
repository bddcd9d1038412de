package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// SampleAlertInput is the sample alert of `aispend alert test` (by email or through a channel)
// at now: a daily budget of 50,000 at 80 % (WARNING), with sample drivers. Currency, recipients
// and links are the caller's.
func SampleAlertInput(now time.Time, loc *time.Location) AlertInput {
	if loc == nil {
		loc = time.UTC
	}
	p := PeriodContaining(Daily, now, loc)
	b := Budget{Name: "sample-daily-budget", Period: Daily, Amount: decimal.NewFromInt(50000)}
	return AlertInput{
		Status:     Evaluate(b, p, decimal.NewFromInt(40000), now),
		Breach:     Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: 80, Kind: Actual, Severity: Warning},
		AsOf:       now,
		Location:   loc,
		IsTestSend: true,
		Drivers: map[Dimension][]Driver{
			ByService: {{Key: "QA_CHAT", Cost: decimal.NewFromInt(30000), Requests: 1200}, {Key: "MATCH_EXPLANATION", Cost: decimal.NewFromInt(10000), Requests: 800}},
			ByModel:   {{Key: "claude-sonnet-4-5", Cost: decimal.NewFromInt(40000), Requests: 2000}},
			ByUser:    {{Key: "user-42", Cost: decimal.NewFromInt(12000), Requests: 300}},
		},
	}
}
