package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/readapi"
)

// readCacheFor is how long the read API reuses a computed report (as GET /v1/budgets does).
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

// readAPI serves the read API with report/readapi, on the batch job's own report code.
type readAPI struct {
	svc *readapi.Service
	loc *time.Location
}

var _ collect.ReadSource = readAPI{}

func newReadAPI(cfg *Config, pool *pgxpool.Pool) readAPI {
	return readAPI{loc: cfg.Location, svc: &readapi.Service{
		Source: pgquery.New(pool), Currency: cfg.Currency, Now: cfg.now, CacheFor: readCacheFor,
	}}
}

func (a readAPI) period(q collect.ReadQuery) report.Period {
	return readapi.Period(q.From.Year, q.From.Month, q.From.Day, q.To.Year, q.To.Month, q.To.Day, a.loc)
}

func (a readAPI) Stats(ctx context.Context, q collect.ReadQuery) (any, error) {
	return a.svc.Stats(ctx, a.period(q))
}

func (a readAPI) Daily(ctx context.Context, q collect.ReadQuery) (any, error) {
	return a.svc.Daily(ctx, a.period(q))
}

func (a readAPI) Top(ctx context.Context, q collect.ReadQuery) (any, error) {
	dim, ok := readapi.DimensionOf(q.Dimension)
	if !ok {
		return nil, fmt.Errorf("dimension %q", q.Dimension) // collect checked it: a programming error
	}
	return a.svc.Top(ctx, a.period(q), dim, q.Limit)
}

func (a readAPI) Alerts(ctx context.Context, q collect.ReadQuery) (any, error) {
	return a.svc.Alerts(ctx, a.period(q))
}

// budgetCacheFor is how long GET /v1/budgets reuses an answer.
const budgetCacheFor = 30 * time.Second

// budgetsAPI answers GET /v1/budgets with the batch job's own budget code (report.BudgetBoard),
// each budget stated as report.json states it (readapi.BudgetOf).
type budgetsAPI struct {
	board    *report.BudgetBoard
	currency string
}

var _ collect.BudgetSource = budgetsAPI{}

func newBudgetsAPI(cfg *Config, pool *pgxpool.Pool) (budgetsAPI, error) {
	budgets, err := cfg.reportBudgets()
	if err != nil {
		return budgetsAPI{}, err
	}
	return budgetsAPI{currency: cfg.Currency, board: &report.BudgetBoard{
		Source: pgquery.New(pool), Budgets: budgets, Location: cfg.Location, Now: cfg.now, CacheFor: budgetCacheFor,
	}}, nil
}

func (a budgetsAPI) Budgets(ctx context.Context) (collect.BudgetsResponse, error) {
	asOf, sts, err := a.board.Statuses(ctx)
	if err != nil {
		return collect.BudgetsResponse{}, err
	}
	return budgetsResponse(asOf, a.currency, sts), nil
}

// budgetsResponse is the body of GET /v1/budgets for statuses sts as of asOf.
func budgetsResponse(asOf time.Time, currency string, sts []report.Status) collect.BudgetsResponse {
	resp := collect.BudgetsResponse{AsOf: asOf, Currency: currency, Budgets: make([]collect.BudgetStatus, 0, len(sts))}
	for _, st := range sts {
		b := readapi.BudgetOf(st)
		var fc *collect.BudgetForecast
		if b.Forecast != nil {
			fc = &collect.BudgetForecast{Projected: b.Forecast.Projected, Exceeds: b.Forecast.Exceeds}
		}
		resp.Budgets = append(resp.Budgets, collect.BudgetStatus{
			Name: b.Name, Period: string(b.Period), PeriodLabel: b.PeriodLabel, PeriodStart: b.PeriodStart, PeriodEnd: b.PeriodEnd,
			Scope: collect.BudgetScope(b.Scope), Spent: b.Spent, Limit: b.Limit, Remaining: b.Remaining, Percent: b.Percent,
			State: string(b.State), Thresholds: b.Thresholds, Unpriced: b.Unpriced, Forecast: fc,
		})
	}
	return resp
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
