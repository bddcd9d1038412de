package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jordan-wright/email"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report/money"
	"github.com/aispend/aispend/templates"
)

// Sender sends one email; the caller has set its Message-ID header. Implemented by report/mail.
type Sender interface {
	Send(ctx context.Context, e *email.Email) error
}

// ErrNoRecipients means an alert has nowhere to go: neither the budget nor the configuration
// names a recipient.
var ErrNoRecipients = errors.New("no recipients: set the budget's recipients or AISPEND_ALERT_EMAILS")

// AlertInput is what an alert email is made of.
type AlertInput struct {
	Status    Status
	Breach    Breach
	MessageID string
	Drivers   map[Dimension][]Driver // top services, models, users in the budget's scope
	Currency  string
	From      string
	To        []string
	ReportURL string // empty: no link
	// WorkbookURL is the link to the period's workbook; empty: no link.
	WorkbookURL string
	// LocalLinks: the links are file:// URLs because no public URL is configured.
	LocalLinks bool
	// Also are the lower thresholds of the same period crossed with Breach's: this email
	// stands for them too.
	Also       []int
	AsOf       time.Time
	Location   *time.Location
	IsTestSend bool // "aispend alert test": says so in the subject
}

// driverTitles are the driver tables of an alert, in order.
var driverTitles = []struct {
	dim   Dimension
	title string
}{{ByService, "Top services"}, {ByModel, "Top models"}, {ByUser, "Top users"}}

// AlertView formats an alert for the email templates.
func AlertView(in AlertInput) templates.AlertEmail {
	st, br := in.Status, in.Breach
	loc := in.Location
	if loc == nil {
		loc = st.Period.Start.Location()
	}
	const layout = "2006-01-02 15:04"
	v := templates.AlertEmail{
		Budget:      st.Budget.Name,
		Severity:    string(br.Severity),
		Forecast:    br.Kind == Forecast,
		Threshold:   br.Threshold,
		Period:      st.Period.String(),
		PeriodRange: st.Period.Start.In(loc).Format(layout) + " – " + st.Period.End.In(loc).Format(layout) + " " + loc.String(),
		ResetsAt:    st.Period.End.In(loc).Format("Mon 2 Jan 2006 15:04 MST"),
		Scope:       st.Budget.Scope.String(),
		Spent:       money.Format(st.Spent, in.Currency),
		Limit:       money.Format(st.Limit, in.Currency),
		Remaining:   money.Format(st.Remaining, in.Currency),
		Percent:     money.Percent(st.Percent),
		ReportURL:   in.ReportURL,
		WorkbookURL: in.WorkbookURL,
		LocalLinks:  in.LocalLinks,
		AsOf:        in.AsOf.In(loc).Format("2006-01-02 15:04 MST"),
	}
	ended := !in.AsOf.Before(st.Period.End)
	if ended {
		v.EndedAt, v.ResetsAt = v.ResetsAt, ""
	}
	if st.HasForecast && in.AsOf.Before(st.Period.End) {
		v.Projected = money.Format(st.Projected, in.Currency)
	}
	if st.Unpriced > 0 {
		v.Unpriced = money.Count(st.Unpriced)
	}
	// The subject's figure: the spend so far, or for a forecast the projected period end.
	v.SubjectPercent = v.Percent
	if br.Kind == Forecast && st.HasForecast && st.Limit.IsPositive() {
		v.SubjectPercent = money.Percent(st.Projected.Mul(decimal.NewFromInt(100)).Div(st.Limit))
	}
	for _, t := range in.Also {
		v.Also = append(v.Also, fmt.Sprintf("%d %%", t))
	}
	bar := st.Percent.IntPart()
	v.BarPercent = int(min(max(bar, 0), 100))
	for _, d := range driverTitles {
		t := templates.DriverTable{Title: d.title}
		for _, r := range in.Drivers[d.dim] {
			share := "–"
			if st.Spent.IsPositive() {
				share = money.Percent(r.Cost.Mul(decimal.NewFromInt(100)).Div(st.Spent))
			}
			name := r.Key
			if name == "" {
				name = "(none)"
			}
			cost := money.Format(r.Cost, in.Currency)
			if r.Requests > 0 && r.Unpriced == r.Requests {
				cost, share = "unpriced", "–" // no price: its cost is unknown, not zero
			}
			t.Rows = append(t.Rows, templates.DriverRow{Name: name, Cost: cost,
				Requests: money.Count(r.Requests), Share: share})
		}
		v.Drivers = append(v.Drivers, t)
	}
	if (br.Severity == Critical || st.State == StateExceeded) && ended {
		// Nothing more can be spent in an ended period: no "until it resets" advice.
		v.Actions = []string{
			"Check the top services and users above for what drove the spend: loops, retries, a new feature or abuse.",
			"If the spend was expected, raise the budget's amount in the configuration for the coming periods.",
		}
	} else if br.Severity == Critical || st.State == StateExceeded {
		v.Actions = []string{
			"Check the top services and users above for unexpected traffic: loops, retries, a new feature or abuse.",
			"Move heavy callers to a cheaper model or serve repeated questions from a cache; applications can read GET /v1/budgets and degrade gracefully before the limit.",
			"If the spend is expected, raise the budget's amount in the configuration before the limit is reached.",
			"The budget resets " + v.ResetsAt + "; until then every further request adds to the overrun.",
		}
	}
	return v
}

// AlertEmail builds the email of an alert: HTML and plain text, the Message-ID derived from the
// ledger key, and the key in X-Aispend-Alert.
func AlertEmail(in AlertInput) (*email.Email, error) {
	if len(in.To) == 0 {
		return nil, ErrNoRecipients
	}
	subject, text, html, err := templates.RenderAlert(AlertView(in))
	if err != nil {
		return nil, fmt.Errorf("render alert: %w", err)
	}
	if in.IsTestSend {
		subject = "[TEST] " + subject
	}
	e := email.NewEmail()
	e.From = in.From
	e.To = append([]string(nil), in.To...)
	e.Subject = subject
	e.Text = []byte(text)
	e.HTML = []byte(html)
	e.Headers.Set("Message-ID", in.MessageID)
	e.Headers.Set("X-Aispend-Alert", strings.Join(strings.Fields(in.Breach.Key()), " "))
	e.Headers.Set("Auto-Submitted", "auto-generated")
	return e, nil
}

// SampleAlert is the email of `aispend alert test`: a WARNING at 80 % of a made-up daily budget,
// with a unique Message-ID so that test sends are never deduplicated.
func SampleAlert(now time.Time, loc *time.Location, currency, from string, to []string, domain, publicURL string) (*email.Email, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := PeriodContaining(Daily, now, loc)
	b := Budget{Name: "sample-daily-budget", Period: Daily, Amount: decimal.NewFromInt(50000)}
	st := Evaluate(b, p, decimal.NewFromInt(40000), now)
	br := Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: 80, Kind: Actual, Severity: Warning}
	if domain == "" {
		domain = "aispend.invalid"
	}
	in := AlertInput{
		Status: st, Breach: br, Currency: currency, From: from, To: to, AsOf: now, Location: loc, IsTestSend: true,
		MessageID: fmt.Sprintf("<alert-test.%d@%s>", now.UnixNano(), domain),
		Drivers: map[Dimension][]Driver{
			ByService: {{Key: "QA_CHAT", Cost: decimal.NewFromInt(30000), Requests: 1200}, {Key: "MATCH_EXPLANATION", Cost: decimal.NewFromInt(10000), Requests: 800}},
			ByModel:   {{Key: "claude-sonnet-4-5", Cost: decimal.NewFromInt(40000), Requests: 2000}},
			ByUser:    {{Key: "user-42", Cost: decimal.NewFromInt(12000), Requests: 300}},
		},
	}
	if publicURL != "" {
		in.ReportURL = strings.TrimRight(publicURL, "/") + "/" + p.Previous().Path()
	}
	return AlertEmail(in)
}
