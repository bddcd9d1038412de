package pgstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
)

// FuzzCopyEncoder ensures that our binary COPY encoder writes every column of a row exactly as
// pgx's own type map encodes the same value for the column's type (what pgx's CopyFrom would
// send), NULLs included.
func FuzzCopyEncoder(f *testing.F) {
	f.Add("e1", int64(844162215000000), "QA_CHAT", "claude-sonnet-4-5", "anthropic", int64(500), int64(300), int64(0), int64(0), int64(0),
		int64(780), int32(-2), true, int64(123), int32(-4), "USD", "v@2025-01-01", int64(13875), int32(-1),
		int64(1500), true, "", false, "u-42", "acme", "/v1", "team", "ml")
	f.Add("", int64(0), "", "", "", int64(0), int64(0), int64(0), int64(0), int64(0),
		int64(0), int32(0), false, int64(0), int32(0), "", "", int64(0), int32(0),
		int64(-1<<63), false, "", false, "", "", "", "", "")
	f.Add("é\x00", int64(-1<<62), "s", "m", "", int64(1e10), int64(-5), int64(1<<62), int64(7), int64(9),
		int64(-123456789012345678), int32(-30), true, int64(5), int32(3), "KRW", "", int64(1), int32(25),
		int64(86_400_000), false, "timeout \"x\"", true, "", "", "", "k\u2028", "<v>")
	types := pgtype.NewMap()
	f.Fuzz(func(t *testing.T, id string, atMicros int64, service, model, provider string, in, out, cr, cw, rs int64,
		costCoef int64, costExp int32, costValid bool, sentCoef int64, sentExp int32, sentCur, version string, fxCoef int64, fxExp int32,
		duration int64, success bool, errText string, hit bool, user, org, endpoint, tagKey, tagValue string) {
		// Exponents as the collector's amounts have them (the decoder bounds them to ±30).
		if costExp < -40 || costExp > 40 || sentExp < -40 || sentExp > 40 || fxExp < -40 || fxExp > 40 {
			return
		}
		r := collect.Row{
			EventID: id, OccurredAt: time.UnixMicro(atMicros).UTC(), Service: service, Model: model, Provider: provider,
			InputTokens: in, OutputTokens: out, CacheReadTokens: cr, CacheWriteTokens: cw, ReasoningTokens: rs,
			CostSource: "local", SentCurrency: sentCur, PriceVersion: version,
			DurationMS: duration, Success: success, Error: errText, CacheHit: hit, UserID: user, OrgID: org, Endpoint: endpoint,
			// Any int64, without a new fuzz argument, so that the seed corpus keeps its shape.
			CacheWrite1hTokens: cw ^ rs,
		}
		if costValid {
			r.Cost = decimal.NewNullDecimal(decimal.New(costCoef, costExp))
			r.SentCost = decimal.NewNullDecimal(decimal.New(sentCoef, sentExp))
			r.FXRate = decimal.NewNullDecimal(decimal.New(fxCoef, fxExp))
		}
		if tagKey != "" {
			r.Tags, _ = json.Marshal(map[string]string{tagKey: tagValue})
		}

		var b bytes.Buffer
		encodeRow(&b, &r)
		got := splitTuple(t, b.Bytes())

		text := func(s string) any { return s }
		nullText := func(s string) any {
			if s == "" {
				return nil
			}
			return s
		}
		num := func(d decimal.NullDecimal) any {
			if !d.Valid {
				return nil
			}
			return pgtype.Numeric{Int: d.Decimal.Coefficient(), Exp: d.Decimal.Exponent(), Valid: true}
		}
		var dur any
		if r.DurationMS >= 0 {
			dur = r.DurationMS
		}
		var tags any
		if r.Tags != nil {
			tags = r.Tags
		}
		want := []struct {
			oid uint32
			v   any
		}{
			{pgtype.TextOID, text(r.EventID)}, {pgtype.TimestamptzOID, r.OccurredAt}, {pgtype.TextOID, text(r.Service)},
			{pgtype.TextOID, text(r.Model)}, {pgtype.TextOID, text(r.Provider)},
			{pgtype.Int8OID, r.InputTokens}, {pgtype.Int8OID, r.OutputTokens}, {pgtype.Int8OID, r.CacheReadTokens},
			{pgtype.Int8OID, r.CacheWriteTokens}, {pgtype.Int8OID, r.ReasoningTokens},
			{pgtype.NumericOID, num(r.Cost)}, {pgtype.TextOID, text(r.CostSource)}, {pgtype.NumericOID, num(r.SentCost)},
			{pgtype.TextOID, nullText(r.SentCurrency)}, {pgtype.TextOID, nullText(r.PriceVersion)}, {pgtype.NumericOID, num(r.FXRate)},
			{pgtype.Int8OID, dur}, {pgtype.BoolOID, r.Success}, {pgtype.TextOID, nullText(r.Error)}, {pgtype.BoolOID, r.CacheHit},
			{pgtype.TextOID, nullText(r.UserID)}, {pgtype.TextOID, nullText(r.OrgID)}, {pgtype.TextOID, nullText(r.Endpoint)},
			{pgtype.JSONBOID, tags}, {pgtype.Int8OID, r.CacheWrite1hTokens},
		}
		if len(want) != len(columns) || len(got) != len(columns) {
			t.Fatalf("%d fields encoded, %d expected, %d columns", len(got), len(want), len(columns))
		}
		for i, w := range want {
			exp, err := types.Encode(w.oid, pgtype.BinaryFormatCode, w.v, make([]byte, 0, 16)) // nil only for NULL
			if err != nil {
				t.Fatalf("pgx cannot encode %s = %#v: %v", columns[i], w.v, err)
			}
			if w.oid == pgtype.NumericOID && exp != nil && got[i] != nil {
				// pgx may keep leading zero digits (a lower weight), which PostgreSQL strips:
				// compare the values read back, and the display scale, not the digits.
				if g, e := decodeNumeric(t, types, got[i]), decodeNumeric(t, types, exp); g.Cmp(e) != 0 || !bytes.Equal(got[i][6:8], exp[6:8]) {
					t.Fatalf("column %s of %+v: ours %x = %s, pgx %x = %s", columns[i], r, got[i], g.RatString(), exp, e.RatString())
				}
				continue
			}
			if (exp == nil) != (got[i] == nil) || !bytes.Equal(exp, got[i]) {
				t.Fatalf("column %s of %+v:\nours %x\npgx  %x", columns[i], r, got[i], exp)
			}
		}
	})
}

// decodeNumeric reads a binary numeric with pgx as an exact rational.
func decodeNumeric(t *testing.T, types *pgtype.Map, b []byte) *big.Rat {
	t.Helper()
	var n pgtype.Numeric
	if err := types.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, b, &n); err != nil {
		t.Fatalf("pgx cannot decode numeric %x: %v", b, err)
	}
	r := new(big.Rat).SetInt(n.Int)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil))
	if n.Exp < 0 {
		return r.Quo(r, p)
	}
	return r.Mul(r, p)
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// splitTuple splits one binary COPY tuple into its fields; a NULL is nil.
func splitTuple(t *testing.T, b []byte) [][]byte {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("tuple of %d bytes", len(b))
	}
	n := int(int16(binary.BigEndian.Uint16(b)))
	b = b[2:]
	var fields [][]byte
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			t.Fatalf("field %d: truncated tuple", i)
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			fields = append(fields, nil)
			continue
		}
		if int(l) > len(b) {
			t.Fatalf("field %d: length %d past the end", i, l)
		}
		fields = append(fields, append([]byte{}, b[:l]...))
		b = b[l:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the last field", len(b))
	}
	return fields
}
