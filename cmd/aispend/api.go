package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
)

// readCacheFor is how long the read API reuses a computed report and GET /v1/budgets an
// answer: applications and dashboards polling them share one computation.
const readCacheFor = 30 * time.Second

// checkTokenKinds refuses a token listed as two kinds: an application's ingest token that is
// also a read or admin token would defeat the separation. The token itself is never named.
func checkTokenKinds(in IngestConfig) []string {
	kinds := []struct {
		name   string
		tokens []string
	}{{"AISPEND_INGEST_TOKENS", in.Tokens}, {"AISPEND_READ_TOKENS", in.ReadTokens}, {"AISPEND_ADMIN_TOKENS", in.AdminTokens}}
	var problems []string
	for i := range kinds {
		for j := i + 1; j < len(kinds); j++ {
			for n, a := range kinds[i].tokens {
				for _, b := range kinds[j].tokens {
					if a == b {
						problems = append(problems, fmt.Sprintf("%s: token %d of %s is also listed in %s; use a different token for each kind",
							kinds[j].name, n+1, kinds[i].name, kinds[j].name))
					}
				}
			}
		}
	}
	return problems
}

// newReadAPI serves the read API with report/api, on the batch job's own report code.
func newReadAPI(cfg *Config, pool *pgxpool.Pool) *api.Service {
	return &api.Service{Source: cfg.store(pool), TagKeys: cfg.Reports.TagKeys, Currency: cfg.Currency, Location: cfg.Location, Now: cfg.now, CacheFor: readCacheFor}
}

// newBudgetsAPI answers GET /v1/budgets with the batch job's own budget code (report.BudgetBoard).
func newBudgetsAPI(cfg *Config, pool *pgxpool.Pool) (api.BudgetService, error) {
	budgets, err := cfg.reportBudgets()
	if err != nil {
		return api.BudgetService{}, err
	}
	return api.BudgetService{Currency: cfg.Currency, Board: &report.BudgetBoard{
		Source: cfg.store(pool), Budgets: budgets, Location: cfg.Location, Now: cfg.now, CacheFor: readCacheFor,
	}, Entities: &report.EntityBoard{
		Source: cfg.store(pool), Budgets: budgets, Location: cfg.Location, Now: cfg.now, CacheFor: readCacheFor,
	}}, nil
}

// testAlerter sends POST /v1/alerts/test's sample alert, as `aispend alert test` does. The
// transport is made per send, so that a collector starts (and serves events) whatever the state
// of the mail settings, and an outbox directory is only created when a test alert is sent.
type testAlerter struct {
	cfg *Config
}

var _ collect.AlertTester = testAlerter{}

func (t testAlerter) SendTestAlert(ctx context.Context, to []string) (collect.TestAlertSent, error) {
	rcpt := t.cfg.Mail.Recipients
	if len(to) > 0 {
		for _, a := range to {
			if err := checkAddress(a, t.cfg.Mail.AllowedDomains); err != nil {
				return collect.TestAlertSent{}, fmt.Errorf("%w: %v", collect.ErrRecipients, err)
			}
		}
		rcpt = to
	}
	if len(rcpt) == 0 {
		return collect.TestAlertSent{}, fmt.Errorf("%w: none given and none configured (AISPEND_ALERT_EMAILS)", collect.ErrRecipients)
	}
	sender, err := t.cfg.newMailer()
	if err != nil {
		return collect.TestAlertSent{}, err
	}
	// The real clock, not AISPEND_NOW: the Message-ID is made of it and must differ per send.
	msg, err := t.cfg.sampleAlert(time.Now(), rcpt)
	if err != nil {
		return collect.TestAlertSent{}, err
	}
	if err := sender.Send(ctx, msg); err != nil {
		return collect.TestAlertSent{}, err
	}
	return collect.TestAlertSent{To: rcpt, MessageID: msg.Headers.Get("Message-ID")}, nil
}
