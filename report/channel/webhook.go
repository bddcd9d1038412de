package channel

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// WebhookVersion is the version of the webhook body (its "version"): a field added keeps it, a
// field removed or changed in meaning raises it.
const WebhookVersion = 1

// WebhookSchema is the JSON Schema of the webhook body (webhook.v1.schema.json).
//
//go:embed webhook.v1.schema.json
var WebhookSchema []byte

// WebhookBody is the JSON body of a webhook (webhook.v1.schema.json documents every field).
// Money is a decimal string in the reporting currency, exact; times are RFC 3339.
type WebhookBody struct {
	Version      int                        `json:"version"`
	ID           string                     `json:"id"`
	Type         string                     `json:"type"`
	Action       string                     `json:"action"`
	CreatedAt    string                     `json:"created_at"`
	Installation string                     `json:"installation"`
	Summary      string                     `json:"summary"`
	Budget       *webhookBudget             `json:"budget,omitempty"`
	Alert        *webhookAlert              `json:"alert,omitempty"`
	Spend        *webhookSpend              `json:"spend,omitempty"`
	Drivers      map[string][]webhookDriver `json:"drivers,omitempty"`
	Anomaly      *webhookAnomaly            `json:"anomaly,omitempty"`
	Links        webhookLinks               `json:"links"`
}

type webhookBudget struct {
	Name        string       `json:"name"`
	Period      string       `json:"period"`
	PeriodStart string       `json:"period_start"`
	PeriodEnd   string       `json:"period_end"`
	Amount      string       `json:"amount"`
	Currency    string       `json:"currency"`
	Scope       report.Scope `json:"scope"`
}

type webhookAlert struct {
	Severity  string `json:"severity"`
	Threshold int    `json:"threshold"`
	Kind      string `json:"kind"`
	Also      []int  `json:"also"`
	DedupKey  string `json:"dedup_key"`
}

type webhookSpend struct {
	AsOf      string  `json:"as_of"`
	Spent     string  `json:"spent"`
	Limit     string  `json:"limit"`
	Remaining string  `json:"remaining"`
	Over      string  `json:"over"`
	Percent   string  `json:"percent"`
	Projected *string `json:"projected"`
	RunwayAt  *string `json:"runway_at"`
	Unpriced  int64   `json:"unpriced_events"`
}

type webhookDriver struct {
	Key      string `json:"key"`
	Cost     string `json:"cost"`
	Requests int64  `json:"requests"`
	Unpriced int64  `json:"unpriced_requests"`
}

type webhookLinks struct {
	Report   string `json:"report,omitempty"`
	Workbook string `json:"workbook,omitempty"`
}

// NewWebhookBody is the body of message m.
func NewWebhookBody(m report.ChannelMessage) WebhookBody {
	st, br := m.Status, m.Breach
	asOf := m.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	if m.Anomaly != nil {
		return anomalyWebhookBody(m, asOf)
	}
	b := WebhookBody{
		Version: WebhookVersion, ID: m.ID, Type: m.Type, Action: m.Action, Installation: m.Installation,
		CreatedAt: asOf.UTC().Format(time.RFC3339), Summary: Summary(m),
		Budget: &webhookBudget{
			Name: st.Budget.Name, Period: string(st.Period.Kind), PeriodStart: rfc(st.Period.Start), PeriodEnd: rfc(st.Period.End),
			Amount: st.Budget.Amount.String(), Currency: m.Currency, Scope: st.Budget.Scope,
		},
		Alert: &webhookAlert{Severity: lower(br.Severity), Threshold: br.Threshold, Kind: string(br.Kind), Also: m.Also, DedupKey: m.DedupKey},
		Spend: &webhookSpend{
			AsOf: rfc(st.AsOf), Spent: st.Spent.String(), Limit: st.Limit.String(), Remaining: st.Remaining.String(),
			Over: st.Over.String(), Percent: st.Percent.StringFixed(2), Unpriced: st.Unpriced,
		},
		Links: webhookLinks{Report: publicLink(m.ReportURL, m.LocalLinks), Workbook: publicLink(m.WorkbookURL, m.LocalLinks)},
	}
	if b.Alert.Also == nil {
		b.Alert.Also = []int{}
	}
	if st.HasForecast {
		p := st.Projected.String()
		b.Spend.Projected = &p
	}
	if st.HasRunway {
		r := rfc(st.Runway)
		b.Spend.RunwayAt = &r
	}
	b.Drivers = map[string][]webhookDriver{}
	for _, dim := range report.AlertDimensions {
		rows := []webhookDriver{}
		for _, d := range m.Drivers[dim] {
			rows = append(rows, webhookDriver{Key: d.Key, Cost: d.Cost.String(), Requests: d.Requests, Unpriced: d.Unpriced})
		}
		b.Drivers[string(dim)] = rows
	}
	return b
}

// publicLink is a link a receiver can follow: not a file:// URL of the machine that made it.
func publicLink(u string, local bool) string {
	if local {
		return ""
	}
	return u
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func lower(s report.Severity) string {
	switch s {
	case report.Critical:
		return "critical"
	case report.Warning:
		return "warning"
	}
	return "info"
}

// Webhook posts signed JSON bodies to a URL.
type Webhook struct {
	ChannelName string
	URL         string
	Secret      []byte
	Poster      *Poster
	Now         func() time.Time // nil: time.Now (the signature's timestamp)
}

var _ report.Notifier = (*Webhook)(nil)

func (w *Webhook) Name() string                 { return w.ChannelName }
func (w *Webhook) Accepts(report.Severity) bool { return true }
func (w *Webhook) Resolves() bool               { return false }

// Notify posts m's body, signed afresh at each attempt (a retry after a long Retry-After must not
// carry a timestamp its receiver already finds too old).
func (w *Webhook) Notify(ctx context.Context, m report.ChannelMessage) error {
	body, err := json.Marshal(NewWebhookBody(m))
	if err != nil {
		return err
	}
	return w.Poster.Post(ctx, w.URL, body, func() http.Header {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		h := http.Header{}
		h.Set(SignatureHeader, Sign(w.Secret, now(), body))
		h.Set("Aispend-Delivery", m.ID)
		return h
	})
}

// percentOf is p of a status as a decimal, for summaries: the projection's for a forecast.
func percentOf(m report.ChannelMessage) decimal.Decimal {
	st := m.Status
	if m.Breach.Kind == report.Forecast && st.HasForecast && st.Limit.IsPositive() {
		return report.PercentOf(st.Projected, st.Limit)
	}
	return st.Percent
}
