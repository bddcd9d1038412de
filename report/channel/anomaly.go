package channel

import (
	"fmt"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// The messages of anomalies (type spend.anomaly): the facts of report.Anomaly, as the anomaly
// email states them.

// webhookAnomaly is the "anomaly" object of a spend.anomaly body.
type webhookAnomaly struct {
	Scope       string                 `json:"scope"`
	Value       string                 `json:"value"`
	Window      string                 `json:"window"`
	WindowStart string                 `json:"window_start"`
	WindowEnd   string                 `json:"window_end"`
	Actual      string                 `json:"actual"`
	Usual       string                 `json:"usual"`
	Impact      string                 `json:"impact"`
	Increase    *string                `json:"increase_percent"`
	Baseline    string                 `json:"baseline"`
	UsualFor    string                 `json:"usual_for"`
	Samples     int                    `json:"samples"`
	Currency    string                 `json:"currency"`
	Explanation string                 `json:"explanation"`
	Drivers     []report.AnomalyDriver `json:"drivers"`
}

func loc(m report.ChannelMessage) *time.Location {
	if m.Location == nil {
		return time.UTC
	}
	return m.Location
}

// anomalyWebhookBody is the body of an anomaly message.
func anomalyWebhookBody(m report.ChannelMessage, createdAt time.Time) WebhookBody {
	a := m.Anomaly
	w := &webhookAnomaly{
		Scope: a.Scope, Value: a.Value, Window: string(a.Window.Kind), WindowStart: rfc(a.Window.Start), WindowEnd: rfc(a.Window.End),
		Actual: a.Actual.String(), Usual: a.Usual.String(), Impact: a.Impact().String(), Baseline: string(a.Baseline),
		UsualFor: a.UsualLabel(loc(m)), Samples: a.Samples, Currency: m.Currency, Explanation: a.Explain(m.Currency, loc(m)),
		Drivers: a.Drivers,
	}
	if inc, ok := a.Increase(); ok {
		s := inc.StringFixed(2)
		w.Increase = &s
	}
	if w.Drivers == nil {
		w.Drivers = []report.AnomalyDriver{}
	}
	return WebhookBody{
		Version: WebhookVersion, ID: m.ID, Type: m.Type, Action: m.Action, Installation: m.Installation,
		CreatedAt: createdAt.UTC().Format(time.RFC3339), Summary: Summary(m), Anomaly: w,
		Links: webhookLinks{Report: publicLink(m.ReportURL, m.LocalLinks)},
	}
}

// anomalySlack is the Block Kit message of an anomaly.
func anomalySlack(m report.ChannelMessage) SlackPayload {
	a, l := m.Anomaly, loc(m)
	fields := []map[string]any{
		mrkdwn(fmt.Sprintf("*Scope*\n%s", escape(a.ScopeLabel())), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Window*\n%s", escape(a.WindowLabel(l))), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Spent*\n%s", escape(format.Format(a.Actual, m.Currency))), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Usual*\n%s (%s)", escape(format.Format(a.Usual, m.Currency)), escape(a.UsualLabel(l))), slackFieldMax),
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip("Anomaly · "+a.ScopeLabel(), slackHeaderMax), "emoji": false}},
		{"type": "section", "text": mrkdwn(escape(Summary(m)), slackSectionMax), "fields": fields},
	}
	if len(a.Drivers) > 0 {
		text := "*What made the excess*"
		for _, d := range a.Drivers {
			text += fmt.Sprintf("\n• %s: %s (%s)", escape(d.Label()), escape(format.Signed(d.Excess, m.Currency)), format.Percent(d.Share))
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn(text, slackSectionMax)})
	}
	if u := publicLink(m.ReportURL, m.LocalLinks); u != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{
			{"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open the report"}, "url": u, "action_id": "aispend-report"},
		}})
	}
	return SlackPayload{Text: Summary(m), Blocks: blocks}
}

// anomalyPagerDuty is the Events API v2 trigger of an anomaly (severity warning; its own
// incident, dedup key per anomaly).
func anomalyPagerDuty(m report.ChannelMessage, routingKey string) map[string]any {
	a := m.Anomaly
	details := map[string]any{
		"scope": a.ScopeLabel(), "window": a.WindowLabel(loc(m)), "spent": format.Format(a.Actual, m.Currency),
		"usual": format.Format(a.Usual, m.Currency), "usual_for": a.UsualLabel(loc(m)), "explanation": a.Explain(m.Currency, loc(m)),
	}
	source := "aispend"
	if m.Installation != "" {
		source = "aispend " + m.Installation
	}
	ev := map[string]any{"routing_key": routingKey, "event_action": "trigger", "dedup_key": m.DedupKey, "client": "aispend",
		"payload": map[string]any{
			"summary": clip(Summary(m), 1024), "source": source, "severity": "warning", "timestamp": rfc(m.AsOf),
			"component": a.ScopeLabel(), "group": "anomalies", "class": m.Type, "custom_details": details,
		}}
	if u := publicLink(m.ReportURL, m.LocalLinks); u != "" {
		ev["client_url"] = u
		ev["links"] = []map[string]any{{"href": u, "text": "Report"}}
	}
	return ev
}
