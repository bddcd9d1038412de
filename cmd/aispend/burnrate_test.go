package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

const burnConfig = `currency: KRW
timezone: Asia/Seoul
channels:
  - {name: ops, type: webhook, url: "%s"}
budgets:
  - name: qa-monthly
    period: monthly
    amount: 10000
    thresholds: [95]
    burn_rate: true
    scope: {service: QA_CHAT}
    channels: {default: [email], burn_rate: [email, ops]}
  - name: steady-monthly
    period: monthly
    amount: 10000
    thresholds: [95]
    burn_rate: true
    scope: {service: STEADY}
  - name: qa-plain
    period: monthly
    amount: 10000
    thresholds: [95]
    scope: {service: QA_CHAT}
`

// Ensures the burn-rate alert end to end, with hand-computed runways: two monthly budgets of
// ₩10,000 spend ₩10 an hour from 1 October (₩3,480 by 15 October 12:00 KST). STEADY keeps that
// pace (₩6,520 left at ₩10/h: 652 h, past the month's end): no runway, no alert. QA_CHAT spends
// ₩3,000 more at 11:45: ₩3,520 left; the last hour ₩3,010, the last 6 hours ₩3,060 (₩510/h,
// the slower): 3,520 × 21,600 ÷ 3,060 = 24,847.06 s, so it runs out at 18:54:08 KST, more than 6
// hours away: one WARNING, by email and webhook, once across two runs; GET /v1/budgets, the
// month's page and its digest state that runway. At 12:30, after ₩2,000 more at 12:10, ₩1,520 is
// left at ₩5,060 in 6 hours: 6,489 s, 14:18:09 KST, within 6 hours: one CRITICAL. qa-plain, the
// same spend without burn_rate, reads no pace: no runway, no alert.
func TestBurnRateAlertEndToEnd(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	rc, recv := newChannelReceiver(t)
	env["AISPEND_CONFIG"] = writeYAML(t, fmt.Sprintf(burnConfig, recv.URL+"/hook"))
	env["AISPEND_CHANNEL_OPS_SECRET"] = secretWebhook
	delete(env, "AISPEND_ALERTS_GRACE")

	seoul, _ := time.LoadLocation("Asia/Seoul")
	noon := time.Date(2026, 10, 15, 12, 0, 0, 0, seoul)
	var rows []collect.Row
	add := func(at time.Time, service, cost string) {
		r := eventtest.Row(fmt.Sprintf("%s-%s-%d-%d", t.Name(), service, at.UnixNano(), len(rows)), at)
		r.Service, r.Model, r.CostSource = service, "m", "provider"
		eventtest.Price(&r, cost)
		rows = append(rows, r)
	}
	for at := time.Date(2026, 10, 1, 0, 30, 0, 0, seoul); at.Before(noon); at = at.Add(time.Hour) {
		add(at, "QA_CHAT", "10")
		add(at, "STEADY", "10")
	}
	for range 30 {
		add(noon.Add(-15*time.Minute), "QA_CHAT", "100")
	}
	eventtest.Insert(t, pgtest.Connect(t, url), rows...)

	env["AISPEND_NOW"] = noon.Format(time.RFC3339)
	for i := range 2 {
		runCmd(t, env, "run", "--alerts-only")
		if i == 0 {
			srv.WaitFor(t, 1, 30*time.Second)
		}
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[aispend WARNING] Burn rate: qa-monthly runs out Thu 15 Oct 2026 18:54 KST") {
		t.Fatalf("emails after two runs: %+v; want one WARNING burn-rate alert of qa-monthly", msgs)
	}
	hooks := rc.bodies("/hook")
	if len(hooks) != 1 || hooks[0]["type"] != "budget.burn_rate" || hooks[0]["spend"].(map[string]any)["runway_at"] != "2026-10-15T09:54:08Z" ||
		hooks[0]["alert"].(map[string]any)["severity"] != "warning" {
		t.Errorf("webhooks after two runs: %v; want one budget.burn_rate, runway 09:54:08Z", hooks)
	}

	budgets := runways(t, env)
	if got := budgets["qa-monthly"]; got != "2026-10-15T09:54:08Z" {
		t.Errorf("GET /v1/budgets qa-monthly runway_at %v, want 2026-10-15T09:54:08Z", got)
	}
	if got, ok := budgets["steady-monthly"]; !ok || got != nil {
		t.Errorf("GET /v1/budgets steady-monthly runway_at %v (present %v), want null", got, ok)
	}
	if got, ok := budgets["qa-plain"]; !ok || got != nil {
		t.Errorf("GET /v1/budgets qa-plain (no burn_rate) runway_at %v (present %v), want null", got, ok)
	}

	// The month so far: its page and digest state the same runway; nothing new is alerted.
	srv.DeleteAll(t)
	runCmd(t, env, "run", "--period", "monthly", "--date", "2026-10-15")
	if !outputHas(t, env["AISPEND_OUTPUT"], "Runs out 15 Oct 2026, 18:54 at the pace of the last hours") {
		t.Error("no page states qa-monthly's runway 15 Oct 2026, 18:54")
	}
	msgs = srv.Messages(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "digest") {
		t.Fatalf("emails of the monthly run: %+v; want only the digest", msgs)
	}
	digest := srv.Message(t, msgs[0].ID)
	for part, body := range map[string]string{"text": digest.Text, "html": digest.HTML} {
		if strings.Count(body, "runs out Thu 15 Oct 2026 18:54") != 1 {
			t.Errorf("digest %s part: want qa-monthly's runway once:\n%s", part, body)
		}
	}

	// Faster: CRITICAL, a new alert of the same period.
	srv.DeleteAll(t)
	rows = nil
	for range 20 {
		add(noon.Add(10*time.Minute), "QA_CHAT", "100")
	}
	eventtest.Insert(t, pgtest.Connect(t, url), rows...)
	env["AISPEND_NOW"] = noon.Add(30 * time.Minute).Format(time.RFC3339)
	runCmd(t, env, "run", "--alerts-only")
	runCmd(t, env, "run", "--alerts-only")
	srv.WaitFor(t, 1, 30*time.Second)
	msgs = srv.Messages(t)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[aispend CRITICAL] Burn rate: qa-monthly runs out Thu 15 Oct 2026 14:18 KST") {
		t.Fatalf("emails at 12:30: %+v; want one CRITICAL burn-rate alert", msgs)
	}
	hooks = rc.bodies("/hook")
	if len(hooks) != 2 || hooks[1]["spend"].(map[string]any)["runway_at"] != "2026-10-15T05:18:09Z" || hooks[1]["alert"].(map[string]any)["severity"] != "critical" {
		t.Errorf("webhooks: %v; want a second, CRITICAL, runway 05:18:09Z", hooks)
	}
}

// runCmd runs the aispend command args with env, failing the test on an error.
func runCmd(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	var out, logs bytes.Buffer
	if err := run(context.Background(), args, envMap(env), &out, &logs); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, logs.String())
	}
}

// runways are each budget's runway_at in GET /v1/budgets, served with env.
func runways(t *testing.T, env map[string]string) map[string]any {
	t.Helper()
	var body struct {
		Budgets []map[string]any `json:"budgets"`
	}
	getBudgets(t, env, &body)
	out := map[string]any{}
	for _, b := range body.Budgets {
		out[b["name"].(string)] = b["runway_at"]
	}
	return out
}

// outputHas reports whether an HTML file under dir contains s.
func outputHas(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".html" {
			return err
		}
		b, err := os.ReadFile(path)
		found = found || bytes.Contains(b, []byte(s))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
