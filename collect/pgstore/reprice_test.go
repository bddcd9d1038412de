package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures unpriced events are priced later, exactly as the collector would have priced them,
// once the price table (or the exchange rate) knows them, and that nothing is priced twice.
func TestReprice(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	before := pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, nil)

	var rows []collect.Row
	for i := 0; i < 7003; i++ { // more than one batch
		r := collect.Row{EventID: fmt.Sprintf("new-%d", i), OccurredAt: at.Add(time.Duration(i) * time.Second), Service: "S",
			Model: "brand-new", Provider: "acme", InputTokens: 500, OutputTokens: 300, Success: true, DurationMS: -1}
		r.Price(before)
		rows = append(rows, r)
	}
	eur := collect.Row{EventID: "eur", OccurredAt: at, Service: "S", Model: "m", InputTokens: 1, OutputTokens: 1, Success: true,
		SentCost: decimal.NewNullDecimal(decimal.RequireFromString("0.0123")), SentCurrency: "EUR", DurationMS: -1}
	eur.Price(before)
	rows = append(rows, eur)
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if n, err := pgstore.Reprice(ctx, pool, before); err != nil || n != 0 {
		t.Fatalf("reprice with the same table: %d (%v), want 0", n, err)
	}

	after := pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300), "EUR": decimal.RequireFromString("1500.5")},
		[]pricing.Price{{Model: "brand-new", From: at.AddDate(0, -1, 0), Input: decimal.NewFromInt(3), CacheRead: decimal.NewFromInt(3),
			CacheWrite: decimal.NewFromInt(3), Output: decimal.NewFromInt(15)}})
	if n, err := pgstore.Reprice(ctx, pool, after); err != nil || n != 7004 {
		t.Fatalf("reprice: %d (%v), want 7004", n, err)
	}
	var unpriced int
	var sum, eurCost, src, ver string
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE cost IS NULL), sum(cost) FILTER (WHERE model = 'brand-new')::text,
		max(cost::text) FILTER (WHERE event_id = 'eur'), max(cost_source) FILTER (WHERE event_id = 'new-5'),
		max(price_version) FILTER (WHERE event_id = 'new-5') FROM events`).Scan(&unpriced, &sum, &eurCost, &src, &ver); err != nil {
		t.Fatal(err)
	}
	if unpriced != 0 || !decimal.RequireFromString(sum).Equal(decimal.RequireFromString("7.80").Mul(decimal.NewFromInt(7003))) ||
		!decimal.RequireFromString(eurCost).Equal(decimal.RequireFromString("18.45615")) || src != "local" || ver != "brand-new@2026-09-01" {
		t.Fatalf("after reprice: %d unpriced, sum %s, eur %s, source %s, version %s", unpriced, sum, eurCost, src, ver)
	}
	if n, err := pgstore.Reprice(ctx, pool, after); err != nil || n != 0 {
		t.Fatalf("second reprice: %d (%v), want 0", n, err)
	}
}
