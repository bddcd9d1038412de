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
	if p, err := pgstore.Reprice(ctx, pool, before); err != nil || p.Priced != 0 {
		t.Fatalf("reprice with the same table: %+v (%v), want 0", p, err)
	}

	after := pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300), "EUR": decimal.RequireFromString("1500.5")},
		[]pricing.Price{{Model: "brand-new", From: at.AddDate(0, -1, 0), Input: decimal.NewFromInt(3), CacheRead: decimal.NewFromInt(3),
			CacheWrite: decimal.NewFromInt(3), Output: decimal.NewFromInt(15)}})
	if p, err := pgstore.Reprice(ctx, pool, after); err != nil || p.Priced != 7004 || !p.Full {
		t.Fatalf("reprice: %+v (%v), want 7004 priced in a full pass", p, err)
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
	if p, err := pgstore.Reprice(ctx, pool, after); err != nil || p.Priced != 0 {
		t.Fatalf("second reprice: %+v (%v), want 0", p, err)
	}
}

// Ensures a pass with the price table of the pass before reads only the unpriced events that
// arrived since, including those of a transaction that was still open when the last pass
// began, and still prices them; and that a changed table reads every unpriced event again. On
// Citus every pass reads every unpriced event (the rows' transaction ids are the workers').
func TestRepriceReadsWhatArrivedSince(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	usd := map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}
	known := []pricing.Price{{Model: "known", From: at.AddDate(0, -1, 0), Input: decimal.NewFromInt(3), CacheRead: decimal.NewFromInt(3),
		CacheWrite: decimal.NewFromInt(3), Output: decimal.NewFromInt(15)}}
	table := pricing.New("KRW", usd, known)
	// Stored unpriced: "unknown" no table prices, "known" as a collector with an older table
	// left it.
	unpriced := func(id, model string) collect.Row {
		return collect.Row{EventID: id, OccurredAt: at, Service: "S", Model: model, InputTokens: 500, OutputTokens: 300, Success: true, DurationMS: -1}
	}
	var rows []collect.Row
	for i := 0; i < 50; i++ {
		rows = append(rows, unpriced(fmt.Sprintf("old-%d", i), "unknown"))
	}
	if _, _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// pass runs a pass and wants plain on PostgreSQL; on Citus a full pass that reads the
	// unpriced events stored (unpriced) and prices priced of them.
	pass := func(plain pgstore.RepricePass, unpriced, priced int) {
		t.Helper()
		want := plain
		if pgtest.Citus() {
			want = pgstore.RepricePass{Read: unpriced, Priced: priced, Full: true}
		}
		if got, err := pgstore.Reprice(ctx, pool, table); err != nil || got != want {
			t.Fatalf("reprice: %+v (%v), want %+v", got, err, want)
		}
	}
	pass(pgstore.RepricePass{Read: 50, Full: true}, 50, 0)
	pass(pgstore.RepricePass{}, 50, 0)
	// A writer whose transaction is open while a pass begins, and commits after it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// An unpriced event of "known", as a collector whose table lacked it wrote it.
	var source string
	if err := pool.QueryRow(ctx, `SELECT cost_source FROM events WHERE event_id = 'old-0'`).Scan(&source); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost_source, success)
		VALUES ('late-known', $1, 'S', 'known', 500, 300, $2, true)`, at, source); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Insert(ctx, []collect.Row{unpriced("new-known", "known"), unpriced("new-unknown", "unknown")}); err != nil {
		t.Fatal(err)
	}
	pass(pgstore.RepricePass{Read: 2, Priced: 1}, 52, 1)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The open transaction's event is read by the next pass, with new-unknown again (its
	// transaction was not older than every open one when the last pass began).
	pass(pgstore.RepricePass{Read: 2, Priced: 1}, 52, 1)
	pass(pgstore.RepricePass{}, 51, 0)
	var cost string
	if err := pool.QueryRow(ctx, `SELECT cost::text FROM events WHERE event_id = 'late-known'`).Scan(&cost); err != nil || cost != "7.8000000000" && !decimal.RequireFromString(cost).Equal(decimal.RequireFromString("7.8")) {
		t.Fatalf("late-known cost %q (%v), want 7.8", cost, err)
	}
	// A changed table (a rate added) reads every unpriced event again.
	table = pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300), "EUR": decimal.NewFromInt(1500)}, known)
	pass(pgstore.RepricePass{Read: 51, Full: true}, 51, 0)
}
