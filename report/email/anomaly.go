package email

import (
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// anomalyDriver is one driver as the anomaly email shows it.
type anomalyDriver struct {
	Label, Excess, Share string
}

// anomalyView is the email of one anomaly: the facts report.Anomaly states, formatted.
type anomalyView struct {
	Subject, Scope, Actual, Window, Explain, Usual, UsualFor, ReportURL string
	Samples                                                             int
	Drivers                                                             []anomalyDriver
}

func newAnomalyView(in report.AnomalyInput) anomalyView {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	a := in.Anomaly
	v := anomalyView{
		Subject: "[aispend WARNING] " + a.Summary(in.Currency, loc), Scope: a.ScopeLabel(),
		Actual: format.Format(a.Actual, in.Currency), Window: a.WindowLabel(loc), Explain: a.Explain(in.Currency, loc),
		Usual: format.Format(a.Usual, in.Currency), UsualFor: a.UsualLabel(loc), Samples: a.Samples, ReportURL: in.ReportURL,
	}
	for _, d := range a.Drivers {
		v.Drivers = append(v.Drivers, anomalyDriver{Label: d.Label(), Excess: format.Signed(d.Excess, in.Currency), Share: format.Percent(d.Share)})
	}
	return v
}

var anomalyTemplates = parse("anomaly")

// AnomalyEmail builds the email of an anomaly (report.AnomalyComposer).
func AnomalyEmail(in report.AnomalyInput) (*report.Email, error) {
	if len(in.To) == 0 {
		return nil, report.ErrNoRecipients
	}
	subject, text, html, err := anomalyTemplates().render(newAnomalyView(in))
	if err != nil {
		return nil, err
	}
	e := newAutomated()
	e.From = in.From
	e.To = append([]string(nil), in.To...)
	e.Subject = subject
	e.Text, e.HTML = []byte(text), []byte(html)
	e.Headers.Set("Message-ID", in.MessageID)
	e.Headers.Set("X-Aispend-Alert", "anomaly "+in.Anomaly.Key())
	return e, nil
}
