package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
)

// The collector writes events in PostgreSQL's binary COPY format itself. pgx's generic CopyFrom
// boxes every value in an interface and looks up an encode plan for it; profiling the collector
// showed that as a third of its CPU. This encoder knows the column types and appends bytes.

var copyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putCopyBuf returns a COPY buffer to the pool; a variable so that tests can watch it.
var putCopyBuf = func(b *bytes.Buffer) { copyBufs.Put(b) }

// pgEpoch is PostgreSQL's timestamp origin.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// copySQL is the COPY statement for a table with the events columns.
func copySQL(table string) string {
	return fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", pgx.Identifier{table}.Sanitize(), strings.Join(columns, ", "))
}

// encodeRows appends the rows in binary COPY format, header and trailer included.
func encodeRows(b *bytes.Buffer, rows []*collect.Row) {
	encodeHeader(b)
	for _, r := range rows {
		encodeRow(b, r)
	}
	encodeTrailer(b)
}

func encodeHeader(b *bytes.Buffer) {
	b.WriteString("PGCOPY\n\377\r\n\000")
	putInt32(b, 0) // flags
	putInt32(b, 0) // header extension length
}

func encodeTrailer(b *bytes.Buffer) { putInt16(b, -1) }

// encodeRow appends one tuple: the events columns in the order of columns.
func encodeRow(b *bytes.Buffer, r *collect.Row) {
	{
		putInt16(b, int16(len(columns)))
		putText(b, r.EventID)
		putTime(b, r.OccurredAt)
		putText(b, r.Service)
		putText(b, r.Model)
		putText(b, r.Provider)
		putInt64(b, r.InputTokens)
		putInt64(b, r.OutputTokens)
		putInt64(b, r.CacheReadTokens)
		putInt64(b, r.CacheWriteTokens)
		putInt64(b, r.ReasoningTokens)
		putNumeric(b, r.Cost)
		putText(b, r.CostSource)
		putNumeric(b, r.SentCost)
		putNullText(b, r.SentCurrency)
		putNullText(b, r.PriceVersion)
		putNumeric(b, r.FXRate)
		if r.DurationMS >= 0 {
			putInt64(b, r.DurationMS)
		} else {
			putNull(b)
		}
		putBool(b, r.Success)
		putNullText(b, r.Error)
		putBool(b, r.CacheHit)
		putNullText(b, r.UserID)
		putNullText(b, r.OrgID)
		putNullText(b, r.Endpoint)
		if r.Tags == nil {
			putNull(b)
		} else {
			putInt32(b, int32(len(r.Tags)+1))
			b.WriteByte(1) // jsonb binary format version
			b.Write(r.Tags)
		}
		putInt64(b, r.CacheWrite1hTokens)
	}
}

// CopyInto COPYs rows into table (which has the events columns) on one pooled connection, with
// no duplicate handling, through the same encoder and buffer as the group commit: the
// benchmark's baseline for COPY with the collector's encoder (`make bench`).
func CopyInto(ctx context.Context, pool *pgxpool.Pool, table string, rows []collect.Row) error {
	if err := copyInto(ctx, poolCopier{pool}, table, ptrs(rows)); err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	return nil
}

func ptrs(rows []collect.Row) []*collect.Row {
	out := make([]*collect.Row, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out
}

// copyInto COPYs rows into table with q.
func copyInto(ctx context.Context, q copier, table string, rows []*collect.Row) error {
	b := copyBufs.Get().(*bytes.Buffer)
	b.Reset()
	encodeRows(b, rows)
	err := q.copy(ctx, copySQL(table), b)
	// When the server ends a COPY with a fatal error or the connection breaks, pgx returns
	// without waiting for the goroutine that reads b: it may still be reading. Only a buffer
	// whose COPY succeeded is certainly no longer read; any other is left to the collector.
	if err == nil {
		putCopyBuf(b)
	}
	return err
}

// copier runs a COPY … FROM STDIN with the given data on a pooled connection or in a transaction.
type copier interface {
	copy(ctx context.Context, sql string, data *bytes.Buffer) error
}

type poolCopier struct{ pool *pgxpool.Pool }

func (p poolCopier) copy(ctx context.Context, sql string, data *bytes.Buffer) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	_, err = conn.Conn().PgConn().CopyFrom(ctx, data, sql)
	return err
}

type txCopier struct{ tx pgx.Tx }

func (t txCopier) copy(ctx context.Context, sql string, data *bytes.Buffer) error {
	_, err := t.tx.Conn().PgConn().CopyFrom(ctx, data, sql)
	return err
}

func putInt16(b *bytes.Buffer, v int16) { b.Write(binary.BigEndian.AppendUint16(nil, uint16(v))) }

func putInt32(b *bytes.Buffer, v int32) {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(v))
	b.Write(a[:])
}

func putInt64(b *bytes.Buffer, v int64) {
	var a [12]byte
	binary.BigEndian.PutUint32(a[:4], 8)
	binary.BigEndian.PutUint64(a[4:], uint64(v))
	b.Write(a[:])
}

func putNull(b *bytes.Buffer) { putInt32(b, -1) }

func putBool(b *bytes.Buffer, v bool) {
	putInt32(b, 1)
	if v {
		b.WriteByte(1)
	} else {
		b.WriteByte(0)
	}
}

func putText(b *bytes.Buffer, s string) {
	putInt32(b, int32(len(s)))
	b.WriteString(s)
}

// putNullText writes an empty string as NULL: optional text columns are NULL when absent.
func putNullText(b *bytes.Buffer, s string) {
	if s == "" {
		putNull(b)
		return
	}
	putText(b, s)
}

// putTime writes microseconds since PostgreSQL's epoch. It counts from Unix seconds, not with
// t.Sub(pgEpoch), which saturates at ±292 years (found by FuzzCopyEncoder; the collector only
// accepts recent times, bulk loads may not).
func putTime(b *bytes.Buffer, t time.Time) {
	putInt64(b, t.Unix()*1_000_000+int64(t.Nanosecond()/1000)-pgEpoch.UnixMicro())
}

// putNumeric writes a decimal in PostgreSQL's binary numeric format: base-10000 digits, the
// weight of the first digit, the sign, and the display scale.
func putNumeric(b *bytes.Buffer, n decimal.NullDecimal) {
	if !n.Valid {
		putNull(b)
		return
	}
	var digitBuf [48]uint16
	digits, weight, neg, dscale := numericDigits(n.Decimal, digitBuf[:0])
	putInt32(b, int32(8+2*len(digits)))
	var h [8]byte
	binary.BigEndian.PutUint16(h[0:], uint16(len(digits)))
	binary.BigEndian.PutUint16(h[2:], uint16(weight))
	if neg {
		binary.BigEndian.PutUint16(h[4:], 0x4000)
	}
	binary.BigEndian.PutUint16(h[6:], uint16(dscale))
	b.Write(h[:])
	var d2 [2]byte
	for _, d := range digits {
		binary.BigEndian.PutUint16(d2[:], d)
		b.Write(d2[:])
	}
}

// numericDigits splits d = coefficient × 10^exponent into base-10000 digits aligned on the
// decimal point, appending them to digits.
func numericDigits(d decimal.Decimal, digits []uint16) (_ []uint16, weight int16, neg bool, dscale int16) {
	coef := d.Coefficient()
	neg = coef.Sign() < 0
	var dec [64]byte
	var s []byte
	if coef.IsInt64() {
		// The magnitude in uint64: -v overflows for math.MinInt64 (found by FuzzCopyEncoder).
		v := coef.Int64()
		u := uint64(v)
		if v < 0 {
			u = -u
		}
		s = strconv.AppendUint(dec[:0], u, 10)
	} else {
		s = coef.Abs(coef).Append(dec[:0], 10)
	}
	exp := int(d.Exponent())
	if exp < 0 {
		dscale = int16(-exp)
	}
	// Decimal digit i of s has the power 10^(len(s)-1-i+exp). Group positions by powers of
	// 10^4: the group of power p is p div 4 (rounding towards minus infinity).
	top := len(s) - 1 + exp // power of the first digit
	bottom := exp           // power of the last digit
	gTop, gBottom := floorDiv(top, 4), floorDiv(bottom, 4)
	for g := gTop; g >= gBottom; g-- {
		var v uint16
		for p := 4*g + 3; p >= 4*g; p-- {
			i := len(s) - 1 - (p - exp) // index in s of the digit of power p
			var digit uint16
			if i >= 0 && i < len(s) {
				digit = uint16(s[i] - '0')
			}
			v = v*10 + digit
		}
		digits = append(digits, v)
	}
	weight = int16(gTop)
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		weight, neg = 0, false
	}
	return digits, weight, neg, dscale
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
