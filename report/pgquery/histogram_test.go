package pgquery

import (
	"slices"
	"strings"
	"testing"

	"github.com/aispend/aispend/report"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Ensures addHistogram reads the binary arrays pgx writes (PostgreSQL's array_send format) as
// pgx's own decoding does, and refuses what a histogram cannot be.
func TestAddHistogramReadsBinaryArrays(t *testing.T) {
	m := pgtype.NewMap()
	enc := func(oid uint32, v any) []byte {
		b, err := m.Encode(oid, pgx.BinaryFormatCode, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h := report.Histogram{0, 5}
	h, err := addHistogram(h, enc(pgtype.Int4ArrayOID, []int32{0, 3, 1999}), enc(pgtype.Int8ArrayOID, []int64{7, 1 << 40, 2}))
	if err != nil {
		t.Fatal(err)
	}
	want := make(report.Histogram, 2000)
	want[0], want[1], want[3], want[1999] = 7, 5, 1<<40, 2
	if !slices.Equal(h, want) {
		t.Errorf("histogram differs from the arrays added")
	}
	if h2, err := addHistogram(report.Histogram{1}, enc(pgtype.Int4ArrayOID, []int32{}), enc(pgtype.Int8ArrayOID, []int64{})); err != nil || !slices.Equal(h2, report.Histogram{1}) {
		t.Errorf("empty arrays: %v, %v", h2, err)
	}
	for name, c := range map[string]struct {
		buckets, counts []byte
		want            string
	}{
		"a NULL count":        {enc(pgtype.Int4ArrayOID, []int32{1}), enc(pgtype.Int8ArrayOID, []*int64{nil}), "-1 bytes, want 8"},
		"fewer counts":        {enc(pgtype.Int4ArrayOID, []int32{1, 2}), enc(pgtype.Int8ArrayOID, []int64{1}), "2 buckets, 1 counts"},
		"a bucket past 2000":  {enc(pgtype.Int4ArrayOID, []int32{2001}), enc(pgtype.Int8ArrayOID, []int64{1}), "out of range"},
		"a negative bucket":   {enc(pgtype.Int4ArrayOID, []int32{-1}), enc(pgtype.Int8ArrayOID, []int64{1}), "out of range"},
		"two dimensions":      {enc(pgtype.Int4ArrayOID, [][]int32{{1}, {2}}), enc(pgtype.Int8ArrayOID, []int64{1, 2}), "2 dimensions"},
		"counts as integer[]": {enc(pgtype.Int4ArrayOID, []int32{1}), enc(pgtype.Int4ArrayOID, []int32{1}), "4 bytes, want 8"},
		"a truncated header":  {[]byte{0, 0, 0, 1}, enc(pgtype.Int8ArrayOID, []int64{1}), "shorter than its header"},
		"a truncated element": {enc(pgtype.Int4ArrayOID, []int32{1})[:23], enc(pgtype.Int8ArrayOID, []int64{1}), "ends at element 0"},
	} {
		if _, err := addHistogram(nil, c.buckets, c.counts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
		}
	}
}
