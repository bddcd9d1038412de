package channel

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// anomalyMessage is the message of a user's runaway Tuesday afternoon, as the batch job makes it.
func anomalyMessage() report.ChannelMessage {
	loc, _ := time.LoadLocation("Asia/Seoul")
	start := time.Date(2026, 12, 15, 14, 0, 0, 0, loc)
	a := report.Anomaly{Scope: "user_id", Value: "u-17", Window: report.Window{Kind: report.WindowHour, Start: start, End: start.Add(time.Hour)},
		Actual: decimal.NewFromInt(591), Usual: decimal.NewFromInt(179), Baseline: report.BaselineWeekday, Samples: 4,
		Drivers: []report.AnomalyDriver{{UserID: "u-17", Model: "claude-opus-4-1", Service: "<!channel>", Excess: decimal.RequireFromString("321.36"), Share: decimal.RequireFromString("78")}}}
	return report.ChannelMessage{Type: report.TypeAnomaly, Action: report.ActionTrigger, ID: report.AnomalyDeliveryID("inst-1", a, "ops"),
		DedupKey: report.AnomalyDeliveryID("inst-1", a, ""), Installation: "inst-1", Anomaly: &a,
		AlertInput: report.AlertInput{Currency: "KRW", AsOf: start.Add(65 * time.Minute), Location: loc, ReportURL: "https://reports.example.com/daily/2026-12-15/",
			Breach: report.Breach{Severity: report.Warning, Kind: report.AnomalyKind}}}
}

// Ensures an anomaly reaches a webhook as a signed spend.anomaly body that conforms to the JSON
// Schema and states the anomaly's facts and explanation, and that the schema requires them.
func TestWebhookAnomalyBody(t *testing.T) {
	schema := compileSchema(t, "webhook.v1.schema.json", WebhookSchema)
	secret := []byte("whsec-test-anomaly")
	var got []byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(secret, r.Header.Get(SignatureHeader), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	wh := &Webhook{ChannelName: "ops", URL: recv.URL, Secret: secret, Poster: fastPoster(nil)}
	if err := wh.Notify(context.Background(), anomalyMessage()); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, schema, got); err != nil {
		t.Fatalf("anomaly body does not conform to the schema: %v\n%s", err, got)
	}
	var b struct {
		Type    string         `json:"type"`
		Summary string         `json:"summary"`
		Anomaly map[string]any `json:"anomaly"`
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatal(err)
	}
	a := b.Anomaly
	want := "+₩412 (+230.1 %) against the usual ₩179 for Tuesdays 14:00; 78.0 % of it from user u-17 on claude-opus-4-1 in <!channel>"
	if b.Type != "spend.anomaly" || a["scope"] != "user_id" || a["value"] != "u-17" || a["actual"] != "591" || a["usual"] != "179" ||
		a["impact"] != "412" || a["increase_percent"] != "230.16" || a["window_start"] != "2026-12-15T05:00:00Z" || a["explanation"] != want {
		t.Errorf("anomaly body: %s", got)
	}
	if !strings.Contains(b.Summary, "user_id u-17 spent ₩591 on Tue 15 Dec 2026 14:00–15:00") {
		t.Errorf("summary %q", b.Summary)
	}
	// Without its anomaly object a spend.anomaly body is refused: the schema requires it.
	var loose map[string]any
	_ = json.Unmarshal(got, &loose)
	delete(loose, "anomaly")
	bad, _ := json.Marshal(loose)
	if err := validate(t, schema, bad); err == nil {
		t.Error("the schema accepts a spend.anomaly body without its anomaly")
	}
}

// Ensures the anomaly's Slack message type-checks against @slack/types and escapes names, and
// its PagerDuty event is a valid Events API v2 warning trigger of its own incident.
func TestAnomalySlackAndPagerDuty(t *testing.T) {
	m := anomalyMessage()
	sm := SlackMessage(m)
	if out, err := tscCheck(t, []SlackPayload{sm}); err != nil {
		t.Fatalf("anomaly Slack message does not type-check: %v\n%s", err, out)
	}
	js, _ := json.Marshal(sm)
	text := strings.ReplaceAll(string(js), `\u0026`, "&")
	for _, want := range []string{"Anomaly · user_id u-17", "₩591", "Tuesdays 14:00", "user u-17 on claude-opus-4-1", "78.0 %", "&lt;!channel&gt;", "Open the report"} {
		if !strings.Contains(text, want) {
			t.Errorf("Slack message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "<!channel>") {
		t.Error("a service's name reaches Slack unescaped")
	}
	ev, _ := json.Marshal(PagerDutyEvent(m, "R0UTINGKEY0123456789012345678901"))
	if err := validate(t, pagerDutySchema(t), ev); err != nil {
		t.Fatalf("not an Events API v2 event: %v\n%s", err, ev)
	}
	var pd map[string]any
	_ = json.Unmarshal(ev, &pd)
	p := pd["payload"].(map[string]any)
	if pd["event_action"] != "trigger" || pd["dedup_key"] != m.DedupKey || p["severity"] != "warning" || p["class"] != "spend.anomaly" ||
		!strings.Contains(p["custom_details"].(map[string]any)["explanation"].(string), "Tuesdays 14:00") {
		t.Errorf("PagerDuty event: %s", ev)
	}
}
