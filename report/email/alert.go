package email

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// This file composes the alert emails: the batch job (report.Job) decides who is alerted about
// what and hands an AlertInput to its ComposeAlert (AlertEmail), then the email to its Sender.

// driverTitles are the titles of an alert's driver tables (report.AlertDimensions).
var driverTitles = map[report.Dimension]string{report.ByService: "Top services", report.ByModel: "Top models", report.ByUser: "Top users"}

// newAlertView formats an alert for the email templates.
func newAlertView(in report.AlertInput) alertView {
	st, br := in.Status, in.Breach
	loc := in.Location
	if loc == nil {
		loc = st.Period.Start.Location()
	}
	const layout = "2006-01-02 15:04"
	const instant = "Mon 2 Jan 2006 15:04 MST"
	v := alertView{
		Budget:      st.Budget.Name,
		Severity:    string(br.Severity),
		Forecast:    br.Kind == report.Forecast,
		BurnRate:    br.Kind == report.BurnRate,
		Threshold:   br.Threshold,
		Period:      st.Period.String(),
		PeriodRange: st.Period.Start.In(loc).Format(layout) + " – " + st.Period.End.In(loc).Format(layout) + " " + loc.String(),
		ResetsAt:    st.Period.End.In(loc).Format(instant),
		Scope:       st.Budget.Scope.String(),
		Spent:       format.Format(st.Spent, in.Currency),
		Limit:       format.Format(st.Limit, in.Currency),
		Remaining:   format.Format(st.Remaining, in.Currency),
		Percent:     format.Percent(st.Percent),
		ReportURL:   in.ReportURL,
		WorkbookURL: in.WorkbookURL,
		LocalLinks:  in.LocalLinks,
		AsOf:        in.AsOf.In(loc).Format("2006-01-02 15:04 MST"),
	}
	if st.Over.IsPositive() {
		v.Over = format.Format(st.Over, in.Currency)
	}
	// Past the threshold when the percent shown is above it: an alert claimed at 95 % and sent
	// at 202.4 % says 202.4 %.
	v.PastThreshold = br.Kind == report.Actual && st.Percent.GreaterThan(decimal.NewFromInt(int64(br.Threshold)))
	ended := !in.AsOf.Before(st.Period.End)
	if ended {
		v.EndedAt, v.ResetsAt = v.ResetsAt, ""
	}
	if st.HasForecast && in.AsOf.Before(st.Period.End) {
		v.Projected = format.Format(st.Projected, in.Currency)
	}
	if st.HasRunway {
		v.Runway = st.Runway.In(loc).Format(instant)
	}
	if st.Unpriced > 0 {
		v.Unpriced = format.Count(st.Unpriced)
	}
	// The subject's figure: the spend so far, or for a forecast the projected period end.
	v.SubjectPercent = v.Percent
	if br.Kind == report.Forecast && st.HasForecast && st.Limit.IsPositive() {
		v.SubjectPercent = format.Percent(report.PercentOf(st.Projected, st.Limit))
	}
	// A burn-rate alert's lower severity is no threshold crossed: it is not named.
	for _, t := range in.Also {
		if br.Kind == report.BurnRate {
			break
		}
		v.Also = append(v.Also, fmt.Sprintf("%d %%", t))
	}
	bar := st.Percent.IntPart()
	v.BarPercent = int(min(max(bar, 0), 100))
	v.Drivers = alertDrivers(in)
	if br.Severity == report.Critical || st.State == report.StateExceeded {
		v.Actions = criticalActions(ended, v.ResetsAt)
	}
	return v
}

// alertDrivers are the top services, models and users of an alert, each with its share of the
// budget's spend.
func alertDrivers(in report.AlertInput) []driverTable {
	st := in.Status
	var out []driverTable
	for _, dim := range report.AlertDimensions {
		t := driverTable{Title: driverTitles[dim], Empty: "(none)"}
		for _, r := range in.Drivers[dim] {
			share := "–"
			if st.Spent.IsPositive() {
				share = format.Percent(report.PercentOf(r.Cost, st.Spent))
			}
			name := r.Key
			if name == "" {
				name = "(none)"
			}
			cost := format.Format(r.Cost, in.Currency)
			if r.Requests > 0 && r.Unpriced == r.Requests {
				cost, share = "unpriced", "–" // no price: its cost is unknown, not zero
			}
			t.Rows = append(t.Rows, driverRow{Name: name, Cost: cost,
				Requests: format.Count(r.Requests), Share: share})
		}
		out = append(out, t)
	}
	return out
}

// criticalActions are the action items of a CRITICAL or exceeded alert: what to check and do, in
// a period that has ended or until it resets (resetsAt).
func criticalActions(ended bool, resetsAt string) []string {
	if ended {
		// Nothing more can be spent in an ended period: no "until it resets" advice.
		return []string{
			"Check the top services and users below for what drove the spend: loops, retries, a new feature or abuse.",
			"If the spend was expected, raise the budget's amount in the configuration for the coming periods.",
		}
	}
	return []string{
		"Check the top services and users below for unexpected traffic: loops, retries, a new feature or abuse.",
		"Move heavy callers to a cheaper model or serve repeated questions from a cache; applications can read GET /v1/budgets and degrade gracefully before the limit.",
		"If the spend is expected, raise the budget's amount in the configuration before the limit is reached.",
		"The budget resets " + resetsAt + "; until then every further request adds to the overrun.",
	}
}

// AlertEmail builds the email of an alert: HTML and plain text, the Message-ID derived from the
// ledger key, and the key in X-Aispend-Alert.
func AlertEmail(in report.AlertInput) (*report.Email, error) {
	if len(in.To) == 0 {
		return nil, report.ErrNoRecipients
	}
	subject, text, html, err := renderAlert(newAlertView(in))
	if err != nil {
		return nil, fmt.Errorf("render alert: %w", err)
	}
	if in.IsTestSend {
		subject = "[TEST] " + subject
	}
	e := newAutomated()
	e.From = in.From
	e.To = append([]string(nil), in.To...)
	e.Subject = subject
	e.Text = []byte(text)
	e.HTML = []byte(html)
	e.Headers.Set("Message-ID", in.MessageID)
	e.Headers.Set("X-Aispend-Alert", strings.Join(strings.Fields(in.Breach.Key()), " "))
	return e, nil
}

// SampleAlert is the email of `aispend alert test`: a WARNING at 80 % of a made-up daily budget,
// with a unique Message-ID so that test sends are never deduplicated. reportURL is its link
// ("": none).
func SampleAlert(now time.Time, loc *time.Location, currency, from string, to []string, domain, reportURL string) (*report.Email, error) {
	if loc == nil {
		loc = time.UTC
	}
	if domain == "" {
		domain = "aispend.invalid"
	}
	in := report.SampleAlertInput(now, loc)
	in.Currency, in.From, in.To, in.ReportURL = currency, from, to, reportURL
	in.MessageID = fmt.Sprintf("<alert-test.%d@%s>", now.UnixNano(), domain)
	return AlertEmail(in)
}
