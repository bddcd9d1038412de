package main

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures every problem of the anomaly block is refused at start-up, all listed at once.
func TestAnomalyConfigRefusals(t *testing.T) {
	yaml := `anomaly:
  scopes: [service, team, "tag:", user_id, user_id]
  min_increase: 0
  deviations: -1
  windows: [hour, week]
  recipients: [not-an-address]
  channels: [email, nowhere]
`
	_, err := loadConfig(writeYAML(t, yaml), envMap(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`anomaly.scopes[1]: "team": want service, model, provider, org_id, user_id or tag:<key>`,
		"anomaly.scopes[2]: tag: needs a key, e.g. tag:team",
		`anomaly.scopes[4]: "user_id" is listed twice`,
		"anomaly.min_impact: required: the least money above the usual level worth an alert, in USD",
		"anomaly.min_increase: 0: want a percent from 1 to 100000",
		"anomaly.deviations: -1: want more than 0 and at most 100",
		`anomaly.windows[1]: "week": want hour or day`,
		`anomaly.recipients[0]: "not-an-address" is not an email address`,
		`anomaly.channels[1]: unknown channel "nowhere" (configured: email)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%s", want, err)
		}
	}
}

// Ensures a valid anomaly block reaches the job with its defaults, and that a budget's anomaly
// route names a channel for the anomalies within its scope.
func TestAnomalyConfigDefaultsAndRoute(t *testing.T) {
	yaml := `currency: KRW
channels:
  - {name: ops, type: webhook, url: "https://hooks.example.com/aispend"}
anomaly:
  min_impact: 2000
budgets:
  - name: qa
    amount: 10000
    scope: {service: QA_CHAT}
    channels: {anomaly: [ops]}
`
	cfg, err := loadConfig(writeYAML(t, yaml), envMap(map[string]string{"AISPEND_CHANNEL_OPS_SECRET": "0123456789abcdef0123"}))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.anomalyConfig()
	if a == nil || !a.MinImpact.Equal(decimal.NewFromInt(2000)) || a.MinIncrease != 100 || !a.Deviations.Equal(decimal.NewFromInt(5)) ||
		strings.Join(a.Scopes, ",") != "service,model,org_id,user_id" || a.Windows != nil || a.Channels != nil {
		t.Fatalf("anomaly config %+v", a)
	}
	routes, err := cfg.Budgets[0].routes(nil)
	if err != nil || strings.Join(routes.Anomaly, ",") != "ops" || !routes.Email(50, report.Actual) {
		t.Fatalf("routes %+v, %v: want anomalies to ops, thresholds by email as without routes", routes, err)
	}
}
