package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
)

// Summary is the one-line account of a message: a webhook's "summary", Slack's notification
// text, PagerDuty's incident title.
func Summary(m report.ChannelMessage) string {
	st, br := m.Status, m.Breach
	name, period := st.Budget.Name, st.Period.String()
	var s string
	switch {
	case m.Anomaly != nil:
		s = "[" + string(report.Warning) + "] " + m.Anomaly.Summary(m.Currency, loc(m))
	case m.Action == report.ActionResolve:
		s = fmt.Sprintf("budget %s: %s has ended and its spend reset", name, period)
	case br.Kind == report.BurnRate:
		runs := "was running out before the period ends"
		if st.HasRunway {
			runs = "runs out " + runwayText(m)
		}
		s = fmt.Sprintf("[%s] budget %s %s at the pace of the last hours, in %s (%s of %s spent)",
			br.Severity, name, runs, period, format.Format(st.Spent, m.Currency), format.Format(st.Limit, m.Currency))
	case br.Kind == report.Forecast:
		s = fmt.Sprintf("[%s] budget %s projected at %s of %s by the end of %s (%s spent so far)",
			br.Severity, name, format.Percent(percentOf(m)), format.Format(st.Limit, m.Currency), period, format.Format(st.Spent, m.Currency))
	default:
		s = fmt.Sprintf("[%s] budget %s at %s of %s in %s (%s spent, threshold %d %%)",
			br.Severity, name, format.Percent(st.Percent), format.Format(st.Limit, m.Currency), period, format.Format(st.Spent, m.Currency), br.Threshold)
	}
	if m.IsTestSend || m.Type == report.TypeTest {
		s = "[TEST] " + s
	}
	return s
}

// runwayText is when m's budget runs out at the pace of the last hours (report.Runway), in
// m's location.
func runwayText(m report.ChannelMessage) string {
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	return m.Status.Runway.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// Slack posts Block Kit messages to a Slack incoming webhook; its URL is the secret.
type Slack struct {
	ChannelName string
	URL         string
	Poster      *Poster
}

var _ report.Notifier = (*Slack)(nil)

func (s *Slack) Name() string                 { return s.ChannelName }
func (s *Slack) Accepts(report.Severity) bool { return true }
func (s *Slack) Resolves() bool               { return false }

func (s *Slack) Notify(ctx context.Context, m report.ChannelMessage) error {
	body, err := json.Marshal(SlackMessage(m))
	if err != nil {
		return err
	}
	return s.Poster.Post(ctx, s.URL, body, nil)
}

// SlackPayload is an incoming webhook's body: the notification text and the Block Kit blocks
// (checked against @slack/types by slack_types_test.go).
type SlackPayload struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks"`
}

// Slack's limits on block texts (Block Kit reference): a header's plain text 150 characters, a
// section's text 3000, a field 2000, a button's text 75.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
)

// SlackMessage is the Block Kit message of m: the same facts as the alert email (budget, period
// and when it resets, spent / limit / remaining / percent, the drivers, the link to the report).
func SlackMessage(m report.ChannelMessage) SlackPayload {
	if m.Anomaly != nil {
		return anomalySlack(m)
	}
	st, br := m.Status, m.Breach
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	head := fmt.Sprintf("%s · budget %s at %s", br.Severity, st.Budget.Name, format.Percent(st.Percent))
	switch br.Kind {
	case report.Forecast:
		head = fmt.Sprintf("%s · budget %s projected at %s", br.Severity, st.Budget.Name, format.Percent(percentOf(m)))
	case report.BurnRate:
		head = fmt.Sprintf("%s · budget %s burn rate", br.Severity, st.Budget.Name)
	}
	if m.IsTestSend || m.Type == report.TypeTest {
		head = "TEST · " + head
	}
	fields := []map[string]any{
		mrkdwn(fmt.Sprintf("*Period*\n%s", escape(st.Period.String())), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Resets*\n%s", st.Period.End.In(loc).Format("Mon 2 Jan 2006 15:04 MST")), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Spent*\n%s", escape(format.Format(st.Spent, m.Currency))), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Limit*\n%s", escape(format.Format(st.Limit, m.Currency))), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Remaining*\n%s", escape(format.Format(st.Remaining, m.Currency))), slackFieldMax),
		mrkdwn(fmt.Sprintf("*Percent*\n%s", format.Percent(st.Percent)), slackFieldMax),
	}
	if st.HasForecast {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Projected*\n%s", escape(format.Format(st.Projected, m.Currency))), slackFieldMax))
	}
	if st.HasRunway {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Runs out*\n%s", runwayText(m)), slackFieldMax))
	}
	if !st.Budget.Scope.IsZero() {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Scope*\n%s", escape(st.Budget.Scope.String())), slackFieldMax))
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip(head, slackHeaderMax), "emoji": false}},
		{"type": "section", "text": mrkdwn(escape(Summary(m)), slackSectionMax), "fields": fields},
	}
	if d := slackDrivers(m); d != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn(d, slackSectionMax)})
	}
	if u := publicLink(m.ReportURL, m.LocalLinks); u != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{
			{"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open the report"}, "url": u, "action_id": "aispend-report"},
		}})
	}
	return SlackPayload{Text: Summary(m), Blocks: blocks}
}

// slackDrivers lists the top services, models and users, each with its cost and share.
func slackDrivers(m report.ChannelMessage) string {
	titles := map[report.Dimension]string{report.ByService: "Top services", report.ByModel: "Top models", report.ByUser: "Top users"}
	var b strings.Builder
	for _, dim := range report.AlertDimensions {
		rows := m.Drivers[dim]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s*\n", titles[dim])
		for _, r := range rows {
			name := r.Key
			if name == "" {
				name = "(none)"
			}
			cost := format.Format(r.Cost, m.Currency)
			share := ""
			if m.Status.Spent.IsPositive() {
				share = " (" + format.Percent(report.PercentOf(r.Cost, m.Status.Spent)) + ")"
			}
			if r.Requests > 0 && r.Unpriced == r.Requests {
				cost, share = "unpriced", ""
			}
			fmt.Fprintf(&b, "• %s: %s%s\n", escape(name), escape(cost), share)
		}
	}
	return strings.TrimSpace(b.String())
}

func mrkdwn(text string, limit int) map[string]any {
	return map[string]any{"type": "mrkdwn", "text": clip(text, limit)}
}

// escape escapes the three characters Slack's mrkdwn gives meaning to: a service called
// "<!channel>" must not notify a whole channel.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
