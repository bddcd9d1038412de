package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/client"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// decidingCollector is a real collector whose POST /v1/decide enforces a daily envelope of 10
// per user, degrading big to small from 80 % and denying from 100 %; alice has spent 8.5.
func decidingCollector(t *testing.T) *collector {
	t.Helper()
	c := newCollector(t, collect.Config{})
	now := time.Now()
	r := eventtest.Row(eventtest.ID(t), now.Add(-time.Minute))
	r.UserID = "alice"
	eventtest.Price(&r, "8.5")
	eventtest.Insert(t, c.pool, r)
	d := collect.NewDecider(collect.DecideConfig{
		Budgets: []report.Budget{{Name: "per-user", Period: report.Daily, Amount: testkit.Dec("10"), Per: report.Per{Field: report.PerUserID},
			Overrides: map[string]decimal.Decimal{"carol": decimal.Zero},
			Enforce:   &report.Enforce{DegradeAt: 80, DegradeTo: map[string]string{"big": "small"}, DenyAt: 100}}},
		Location: time.Local, Source: pgquery.New(c.pool), Refresh: time.Second, MaxStaleness: time.Minute, EstimateTTL: time.Minute,
		OnStale: "allow", Prices: pricing.New("USD", nil, nil),
	})
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.stop()
	c.cfg.Decide = d
	c.start()
	return c
}

// Ensures Decide returns the collector's decision (degrade with the model to use, deny for an
// envelope of 0), reuses an answer for the same who and what without an estimate, never reuses
// an allow or degrade for a request with an estimate (the collector must hold it), and reuses a
// denial for any request of the same who and what.
func TestDecideAsksTheCollector(t *testing.T) {
	col := decidingCollector(t)
	c, err := client.New(client.Config{URL: col.url(), Token: token, DecideTimeout: 5 * time.Second, DecideCacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := context.Background()
	alice := client.DecideRequest{UserID: "alice", Model: "big"}
	d := c.Decide(ctx, alice)
	if d.Decision != client.Degrade || d.Model != "small" || d.Cached || d.Unanswered || len(d.Budgets) != 1 || d.Budgets[0].Spent != "8.5" {
		t.Fatalf("alice: %+v", d)
	}
	if d := c.Decide(ctx, alice); !d.Cached || d.Decision != client.Degrade {
		t.Errorf("the same question again: %+v; want the cached answer", d)
	}
	withEstimate := alice
	withEstimate.EstimatedCost = "1.4"
	if d := c.Decide(ctx, withEstimate); d.Cached || d.Decision != client.Degrade || d.Estimate != "1.4" {
		t.Errorf("with an estimate: %+v; want the collector's answer", d)
	}
	// The collector holds 1.4 against alice: 9.9 of 10; the next 0.2 would pass the limit.
	withEstimate.EstimatedCost = "0.2"
	if d := c.Decide(ctx, withEstimate); d.Cached || d.Decision != client.Deny {
		t.Errorf("past the limit with the estimate held: %+v; want deny", d)
	}
	carol := client.DecideRequest{UserID: "carol", Model: "big"}
	if d := c.Decide(ctx, carol); d.Decision != client.Deny || d.Cached {
		t.Errorf("carol: %+v", d)
	}
	carol.EstimatedCost = "0.01"
	if d := c.Decide(ctx, carol); d.Decision != client.Deny || !d.Cached {
		t.Errorf("carol again, with an estimate: %+v; want the cached denial", d)
	}
}

// Ensures Decide fails open by default when the collector is down or does not answer within
// DecideTimeout (the decision allow, marked unanswered with the reason), and fails closed with
// DecideFailClosed.
func TestDecideFailsOpen(t *testing.T) {
	col := decidingCollector(t)
	col.stop()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hung.Close()
	defer close(release) // before Close, which waits for the handlers
	for _, tc := range []struct {
		name, url  string
		failClosed bool
		want       string
	}{
		{"down", col.url(), false, client.Allow},
		{"down, fail closed", col.url(), true, client.Deny},
		{"no answer in time", hung.URL, false, client.Allow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(client.Config{URL: tc.url, Token: token, DecideTimeout: 100 * time.Millisecond, DecideFailClosed: tc.failClosed})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			d := c.Decide(context.Background(), client.DecideRequest{UserID: "carol", Model: "big"})
			if d.Decision != tc.want || !d.Unanswered || d.Err == nil {
				t.Errorf("%+v; want %s, unanswered", d, tc.want)
			}
			if tc.url == hung.URL && !errors.Is(d.Err, context.DeadlineExceeded) {
				t.Errorf("error %v; want the time-out", d.Err)
			}
		})
	}
}
