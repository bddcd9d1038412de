package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/channel"
)

const channelsYAML = `channels:
  - {name: ops, type: webhook, url: "https://hooks.example.com/aispend"}
  - {name: finance-slack, type: slack}
  - {name: oncall, type: pagerduty}
budgets:
  - name: monthly-total
    period: monthly
    amount: 50000
    burn_rate: true
    channels: {default: [email, finance-slack], 95: [email, finance-slack, oncall], forecast: [ops], burn_rate: [ops, oncall]}
`

const (
	secretWebhook = "whsec-S3cret-0123456789"
	secretSlack   = "https://hooks.slack.example/services/T0/B0/S3cretSlackPath"
	secretPD      = "pd-routing-S3cret-key"
)

var channelsEnv = map[string]string{
	"AISPEND_CHANNEL_OPS_SECRET":           secretWebhook,
	"AISPEND_CHANNEL_FINANCE_SLACK_URL":    secretSlack,
	"AISPEND_CHANNEL_ONCALL_ROUTING_KEY":   secretPD,
	"AISPEND_CHANNEL_UNRELATED_ROUTINGKEY": "x",
}

// Ensures the contract's example loads: three channels with their secrets from the environment
// and a budget routed per threshold, forecast and burn rate apart.
func TestChannelsConfig(t *testing.T) {
	cfg, err := loadConfig(writeYAML(t, channelsYAML), envMap(channelsEnv))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.notifiers()
	if len(n) != 3 || n["ops"] == nil || n["finance-slack"] == nil || n["oncall"] == nil {
		t.Fatalf("notifiers %v", n)
	}
	if w := n["ops"].(*channel.Webhook); string(w.Secret) != secretWebhook || w.URL != "https://hooks.example.com/aispend" {
		t.Errorf("webhook %+v", w)
	}
	if s := n["finance-slack"].(*channel.Slack); s.URL != secretSlack {
		t.Errorf("slack URL %q", s.URL)
	}
	if p := n["oncall"].(*channel.PagerDuty); p.RoutingKey != secretPD {
		t.Errorf("routing key %q", p.RoutingKey)
	}
	bs, err := cfg.reportBudgets()
	if err != nil {
		t.Fatal(err)
	}
	r := bs[0].Routes
	if got := strings.Join(r.For(95, report.Actual), ","); got != "email,finance-slack,oncall" {
		t.Errorf("95 %%: %s", got)
	}
	if got := strings.Join(r.For(80, report.Actual), ","); got != "email,finance-slack" {
		t.Errorf("80 %%: %s", got)
	}
	if got := strings.Join(r.For(report.ForecastThreshold, report.Forecast), ","); got != "ops" || r.Email(100, report.Forecast) {
		t.Errorf("forecast: %s", got)
	}
	if got := strings.Join(r.For(report.BurnThreshold(report.Critical), report.BurnRate), ","); got != "ops,oncall" || !bs[0].BurnRate {
		t.Errorf("burn rate: %s (burn_rate %v)", got, bs[0].BurnRate)
	}
}

// Ensures every channel problem is refused at start-up, all listed at once, and that no secret
// appears in the refusal.
func TestChannelsConfigRefusals(t *testing.T) {
	yaml := `channels:
  - {name: ops, type: webhook}
  - {name: finance-slack, type: slack, url: "https://hooks.slack.example/services/T0/B0/InFileS3cret"}
  - {name: oncall, type: pagerduty}
  - {name: chat, type: teams}
  - {name: email, type: webhook, url: "https://x.example/"}
  - {name: Bad Name, type: webhook, url: "ftp://x"}
  - {name: ops, type: slack}
  - {name: short, type: webhook, url: "https://x.example/"}
budgets:
  - name: b
    amount: 10
    channels: {default: [email, nowhere], 90: [ops], anomaly: [ops], burn_rate: [ops], soon: [ops]}
`
	env := map[string]string{"AISPEND_CHANNEL_SHORT_SECRET": "S3cret-tiny"}
	_, err := loadConfig(writeYAML(t, yaml), envMap(env))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"channels[0] (ops): the webhook's signing secret is missing: set AISPEND_CHANNEL_OPS_SECRET",
		"channels[0] (ops).url: required for a webhook (or AISPEND_CHANNEL_OPS_URL)",
		"channels[1] (finance-slack).url: a Slack incoming webhook's URL is a secret: set it in AISPEND_CHANNEL_FINANCE_SLACK_URL, not in the file",
		"channels[1] (finance-slack): the Slack incoming webhook URL is missing: set AISPEND_CHANNEL_FINANCE_SLACK_URL",
		"channels[2] (oncall): the PagerDuty routing key is missing: set AISPEND_CHANNEL_ONCALL_ROUTING_KEY",
		`channels[3] (chat).type: "teams": want webhook, slack or pagerduty`,
		`channels[4] (email).name: "email" is the alert email's name in routes`,
		`channels[5] (Bad Name).name: "Bad Name": want lower-case letters`,
		"channels[5] (Bad Name).url: not an absolute http(s) URL",
		"channels[6] (ops).name: used by two channels",
		"channels[7] (short): AISPEND_CHANNEL_SHORT_SECRET is shorter than 16 characters",
		`budgets[0].channels: default: unknown channel "nowhere"`,
		"budgets[0].channels: 90: want default, forecast, burn_rate, anomaly or one of the budget's thresholds [50 80 95]",
		"budgets[0].channels: burn_rate: the budget makes no burn-rate alerts (set burn_rate: true)",
		"budgets[0].channels: soon: want default, forecast",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q:\n%s", want, msg)
		}
	}
	for _, s := range []string{"InFileS3cret", "S3cret-tiny"} {
		if strings.Contains(msg, s) {
			t.Errorf("the refusal shows a secret %q:\n%s", s, msg)
		}
	}
}

// Ensures `aispend alert test --channel NAME` sends the sample alert through a webhook (signed,
// type test, valid against the schema's required fields), Slack and PagerDuty (a trigger, then
// its resolve), that an unknown channel is refused naming the configured ones, and that no secret
// is printed.
func TestAlertTestChannel(t *testing.T) {
	rc, recv := newChannelReceiver(t)
	got := rc.bodies
	yaml := strings.Replace(channelsYAML, "https://hooks.example.com/aispend", recv.URL+"/hook", 1)
	yaml = strings.Replace(yaml, "{name: oncall, type: pagerduty}", "{name: oncall, type: pagerduty, url: \""+recv.URL+"/pd\"}", 1)
	env := map[string]string{}
	for k, v := range channelsEnv {
		env[k] = v
	}
	env["AISPEND_CONFIG"] = writeYAML(t, yaml)
	env["AISPEND_CHANNEL_FINANCE_SLACK_URL"] = recv.URL + "/slack/S3cretSlackPath"
	for _, name := range []string{"ops", "finance-slack", "oncall"} {
		var out, logs bytes.Buffer
		if err := run(context.Background(), []string{"alert", "test", "--channel", name}, envMap(env), &out, &logs); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, logs.String())
		}
		if !strings.Contains(out.String(), "test alert sent through channel "+name) {
			t.Errorf("%s: output %q", name, out.String())
		}
		for _, s := range []string{secretWebhook, "S3cretSlackPath", secretPD} {
			if strings.Contains(out.String()+logs.String(), s) {
				t.Errorf("%s: a secret is printed", name)
			}
		}
	}
	if h := got("/hook"); len(h) != 1 || h[0]["type"] != "test" || h[0]["budget"] == nil {
		t.Errorf("webhook got %v", h)
	}
	if s := got("/slack/S3cretSlackPath"); len(s) != 1 || !strings.Contains(s[0]["text"].(string), "[TEST]") {
		t.Errorf("slack got %v", s)
	}
	pd := got("/pd")
	if len(pd) != 2 || pd[0]["event_action"] != "trigger" || pd[1]["event_action"] != "resolve" || pd[0]["dedup_key"] != pd[1]["dedup_key"] {
		t.Errorf("pagerduty got %v; want a trigger and its resolve", pd)
	}

	var out, logs bytes.Buffer
	err := run(context.Background(), []string{"alert", "test", "--channel", "nope"}, envMap(env), &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "no such channel; configured: ops, finance-slack, oncall") {
		t.Errorf("unknown channel: %v", err)
	}
	// A receiver that refuses: the command fails with its answer, not the URL's secret path.
	env["AISPEND_CHANNEL_FINANCE_SLACK_URL"] = recv.URL + "/missing/S3cretSlackPath"
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no_service", 404) })
	err = run(context.Background(), []string{"alert", "test", "--channel", "finance-slack"}, envMap(env), &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "S3cretSlackPath") {
		t.Errorf("refused test: %v", err)
	}
}

// channelReceiver is a loopback receiver of channel messages: it verifies the webhook signature
// (secretWebhook) of what comes to /hook, and keeps each JSON body it accepted by path.
type channelReceiver struct {
	mu  sync.Mutex
	got map[string][]map[string]any
}

func newChannelReceiver(t *testing.T) (*channelReceiver, *httptest.Server) {
	t.Helper()
	rc := &channelReceiver{got: map[string][]map[string]any{}}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/hook" {
			if err := channel.Verify([]byte(secretWebhook), r.Header.Get(channel.SignatureHeader), body, time.Now()); err != nil {
				http.Error(w, err.Error(), 401)
				return
			}
		}
		var b map[string]any
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, "not JSON", 400)
			return
		}
		rc.mu.Lock()
		rc.got[r.URL.Path] = append(rc.got[r.URL.Path], b)
		rc.mu.Unlock()
		w.WriteHeader(202)
	}))
	t.Cleanup(recv.Close)
	return rc, recv
}

// bodies are the bodies accepted on path, oldest first.
func (rc *channelReceiver) bodies(path string) []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.got[path]...)
}
