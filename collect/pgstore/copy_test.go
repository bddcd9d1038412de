package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures the binary COPY encoder stores every column exactly: numerics of every shape read
// back equal to the decimal written, times to the microsecond, NULLs where fields are absent.
func TestCopyEncodesEveryColumn(t *testing.T) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 9, 30, 15, 123456000, time.FixedZone("KST", 9*3600))

	var amounts []string
	for _, a := range []string{"0", "7.80", "7.8", "0.0001", "0.00001234", "12345678.9", "10000", "100000000",
		"1e-20", "123456789012345678901234567890", "0.1", "9999.9999", "1000.0001", "-0", "5e3", "0.000000000000000001"} {
		amounts = append(amounts, a)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		d := decimal.New(rng.Int64N(1_000_000_000_000), -int32(rng.IntN(25))+int32(rng.IntN(6)))
		amounts = append(amounts, d.String())
	}
	var rows []collect.Row
	for i, a := range amounts {
		r := eventtest.Row(fmt.Sprintf("n%d", i), at)
		r.Cost = decimal.NewNullDecimal(decimal.RequireFromString(a))
		rows = append(rows, r)
	}
	full := eventtest.Row("full", at)
	full.Provider, full.CacheReadTokens, full.CacheWriteTokens, full.ReasoningTokens = "anthropic", 11, 12, 13
	full.Cost, full.CostSource = decimal.NullDecimal{}, "provider"
	full.SentCost, full.SentCurrency = decimal.NewNullDecimal(decimal.RequireFromString("0.0123")), "USD"
	full.PriceVersion, full.FXRate = "v@2025-01-01", decimal.NewNullDecimal(decimal.RequireFromString("1387.25"))
	full.DurationMS, full.Success, full.Error, full.CacheHit = 1500, false, "timeout \"x\" <b>", true
	full.UserID, full.OrgID, full.Endpoint, full.Tags = "u-é", "org", "/v1", []byte(`{"team": "ml"}`)
	empty := eventtest.Row("empty", at)
	empty.DurationMS = -1 << 63
	rows = append(rows, full, empty)
	if acc, _, err := s.Insert(ctx, rows); err != nil || acc != len(rows) {
		t.Fatalf("accepted %d of %d: %v", acc, len(rows), err)
	}

	for i, a := range amounts {
		var got string
		if err := pool.QueryRow(ctx, "SELECT cost::text FROM events WHERE event_id=$1", fmt.Sprintf("n%d", i)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := decimal.RequireFromString(a)
		if g := decimal.RequireFromString(got); !g.Equal(want) {
			t.Fatalf("cost %s stored as %s", a, got)
		}
	}
	var (
		occurred                                    time.Time
		prov, src, cur, ver, errText, user, org, ep string
		tags, sent, fx                              string
		cr, cw, rs, dur                             int64
		success, hit                                bool
		costNull                                    bool
	)
	err := pool.QueryRow(ctx, `SELECT occurred_at, provider, cost_source, sent_currency, price_version, error, user_id, org_id, endpoint,
		tags::text, sent_cost::text, fx_rate::text, cache_read_tokens, cache_write_tokens, reasoning_tokens, duration_ms, success, cache_hit, cost IS NULL
		FROM events WHERE event_id='full'`).Scan(&occurred, &prov, &src, &cur, &ver, &errText, &user, &org, &ep,
		&tags, &sent, &fx, &cr, &cw, &rs, &dur, &success, &hit, &costNull)
	if err != nil {
		t.Fatal(err)
	}
	if !occurred.Equal(at) || prov != "anthropic" || src != "provider" || cur != "USD" || ver != "v@2025-01-01" ||
		errText != `timeout "x" <b>` || user != "u-é" || org != "org" || ep != "/v1" || tags != `{"team": "ml"}` ||
		sent != "0.0123" || fx != "1387.25" || cr != 11 || cw != 12 || rs != 13 || dur != 1500 || success || !hit || !costNull {
		t.Fatalf("full row read back wrong: %v %q %q %q %q %q %q %q %q %q %q %q %d %d %d %d %v %v %v",
			occurred, prov, src, cur, ver, errText, user, org, ep, tags, sent, fx, cr, cw, rs, dur, success, hit, costNull)
	}
	var nulls int
	err = pool.QueryRow(ctx, `SELECT num_nulls(sent_cost, sent_currency, price_version, fx_rate, duration_ms, error, user_id, org_id, endpoint, tags)
		FROM events WHERE event_id='empty'`).Scan(&nulls)
	if err != nil || nulls != 10 {
		t.Fatalf("absent fields: %d NULLs (err %v), want 10", nulls, err)
	}
}
