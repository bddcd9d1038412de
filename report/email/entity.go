package email

import (
	"fmt"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// entityRow is one entity alert as the email shows it.
type entityRow struct {
	Entity, Severity, Threshold, Kind, Spent, Limit string
}

// entityView is the email of an envelope budget period's entity alerts.
type entityView struct {
	Subject, Budget, Per, Period, Resets, ReportURL string
	Rows                                            []entityRow
}

func newEntityView(in report.EntityAlertInput) entityView {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	entities := map[string]bool{}
	v := entityView{
		Budget: in.Budget.Name, Per: in.Budget.Per.String(), Period: in.Period.String(),
		Resets: in.Period.End.In(loc).Format("2006-01-02 15:04 MST"), ReportURL: in.ReportURL,
	}
	for _, a := range in.Alerts {
		entities[a.Entity] = true
		kind := "reached"
		if a.Kind == report.Forecast {
			kind = "forecast to exceed"
		}
		v.Rows = append(v.Rows, entityRow{
			Entity: a.Entity, Severity: string(a.Severity), Threshold: fmt.Sprintf("%d %%", a.Threshold), Kind: kind,
			Spent: format.Format(a.Spent, in.Currency), Limit: format.Format(a.Amount, in.Currency),
		})
	}
	noun := "entities"
	if len(entities) == 1 {
		noun = "entity"
	}
	v.Subject = fmt.Sprintf("Budget “%s”: %s %s over thresholds of their %s envelope (%s)",
		in.Budget.Name, format.Count(int64(len(entities))), noun, v.Per, v.Period)
	return v
}

// EntityAlertEmail builds the one email of an envelope budget period's entity alerts: every
// entity it alerts about, highest threshold first.
func EntityAlertEmail(in report.EntityAlertInput) (*report.Email, error) {
	if len(in.To) == 0 {
		return nil, report.ErrNoRecipients
	}
	subject, text, html, err := entityTemplates().render(newEntityView(in))
	if err != nil {
		return nil, fmt.Errorf("render entity alerts: %w", err)
	}
	e := newAutomated()
	e.From = in.From
	e.To = append([]string(nil), in.To...)
	e.Subject = subject
	e.Text, e.HTML = []byte(text), []byte(html)
	e.Headers.Set("Message-ID", in.MessageID)
	e.Headers.Set("X-Aispend-Alert", "entities "+in.Budget.Name+" "+in.Period.Start.UTC().Format(time.RFC3339))
	return e, nil
}
