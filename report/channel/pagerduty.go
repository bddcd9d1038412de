package channel

import (
	"context"
	"encoding/json"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// PagerDutyURL is the Events API v2 endpoint.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty triggers a PagerDuty incident for CRITICAL alerts through the Events API v2, one
// incident per budget period (the dedup key), and resolves it when the period resets.
type PagerDuty struct {
	ChannelName string
	URL         string // "": PagerDutyURL
	RoutingKey  string
	Poster      *Poster
}

var _ report.Notifier = (*PagerDuty)(nil)

func (p *PagerDuty) Name() string { return p.ChannelName }

// Accepts takes CRITICAL alerts only: a page wakes someone. Anomalies go to PagerDuty only
// where they are routed to it (report.Job.anomalyChannels), as warnings.
func (p *PagerDuty) Accepts(s report.Severity) bool { return s == report.Critical }
func (p *PagerDuty) Resolves() bool                 { return true }

func (p *PagerDuty) Notify(ctx context.Context, m report.ChannelMessage) error {
	body, err := json.Marshal(PagerDutyEvent(m, p.RoutingKey))
	if err != nil {
		return err
	}
	u := p.URL
	if u == "" {
		u = PagerDutyURL
	}
	return p.Poster.Post(ctx, u, body, nil)
}

// PagerDutyEvent is the Events API v2 event of m: a trigger with the alert's facts, or a
// resolve of the period's incident.
func PagerDutyEvent(m report.ChannelMessage, routingKey string) map[string]any {
	ev := map[string]any{"routing_key": routingKey, "event_action": m.Action, "dedup_key": m.DedupKey}
	if m.Action == report.ActionResolve {
		return ev
	}
	if m.Anomaly != nil {
		return anomalyPagerDuty(m, routingKey)
	}
	ev["event_action"] = "trigger"
	st := m.Status
	details := map[string]any{
		"budget": st.Budget.Name, "period": st.Period.String(), "resets_at": rfc(st.Period.End),
		"spent": format.Format(st.Spent, m.Currency), "limit": format.Format(st.Limit, m.Currency),
		"remaining": format.Format(st.Remaining, m.Currency), "percent": format.Percent(st.Percent),
		"threshold": m.Breach.Threshold, "kind": string(m.Breach.Kind),
	}
	if st.HasRunway {
		details["runs_out_at"] = rfc(st.Runway)
	}
	if !st.Budget.Scope.IsZero() {
		details["scope"] = st.Budget.Scope.String()
	}
	for _, dim := range report.AlertDimensions {
		var top []string
		for _, d := range m.Drivers[dim] {
			top = append(top, d.Key+": "+format.Format(d.Cost, m.Currency))
		}
		if len(top) > 0 {
			details["top_"+string(dim)] = top
		}
	}
	source := "aispend"
	if m.Installation != "" {
		source = "aispend " + m.Installation
	}
	ev["client"] = "aispend"
	ev["payload"] = map[string]any{
		"summary": clip(Summary(m), 1024), "source": source, "severity": lower(m.Breach.Severity),
		"timestamp": rfc(m.AsOf), "component": st.Budget.Name, "group": "budgets", "class": m.Type,
		"custom_details": details,
	}
	if u := publicLink(m.ReportURL, m.LocalLinks); u != "" {
		ev["client_url"] = u
		ev["links"] = []map[string]any{{"href": u, "text": "Report"}}
	}
	return ev
}
