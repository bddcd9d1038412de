package pgquery

import (
	"encoding/binary"
	"fmt"

	"github.com/aispend/aispend/report"
)

// The latency histograms of a report arrive as one row per key and day, each with two arrays
// (report_latency.sql): a month of the 10 M demo is 92,000 rows. pgx decodes an array into a
// new slice through its generic array codec, which took more than half of the report's reading
// of them (200 of 365 ms of CPU); addHistogram reads the arrays' binary form (PostgreSQL's
// array_send) in place instead.

// binaryArray checks the binary form of a one-dimensional array without NULLs whose elements
// are width bytes wide, and returns its element count and elements (each a 4-byte length, then
// the value).
func binaryArray(src []byte, width int) (int, []byte, error) {
	if len(src) < 12 {
		return 0, nil, fmt.Errorf("array of %d bytes: shorter than its header", len(src))
	}
	switch ndim := int32(binary.BigEndian.Uint32(src)); ndim {
	case 0:
		return 0, nil, nil
	case 1:
	default:
		return 0, nil, fmt.Errorf("array of %d dimensions, want 1", ndim)
	}
	if len(src) < 20 {
		return 0, nil, fmt.Errorf("array of %d bytes: shorter than its header", len(src))
	}
	n, body := int(int32(binary.BigEndian.Uint32(src[12:]))), src[20:]
	if n < 0 {
		return 0, nil, fmt.Errorf("array of %d elements", n)
	}
	// Each element is its length (-1 for NULL), then its value.
	for i, at := 0, 0; i < n; i, at = i+1, at+4+width {
		if at+4 > len(body) {
			return 0, nil, fmt.Errorf("array of %d elements ends at element %d", n, i)
		}
		if l := int32(binary.BigEndian.Uint32(body[at:])); l != int32(width) {
			return 0, nil, fmt.Errorf("array element %d: %d bytes, want %d (-1: NULL)", i, l, width)
		}
	}
	if len(body) != n*(4+width) {
		return 0, nil, fmt.Errorf("array of %d elements of %d bytes in %d bytes", n, width, len(body))
	}
	return n, body, nil
}

// addHistogram adds one stored sparse histogram, its buckets (integer[]) and their counts
// (bigint[]) in binary form, to h.
func addHistogram(h report.Histogram, buckets, counts []byte) (report.Histogram, error) {
	nb, bs, err := binaryArray(buckets, 4)
	if err != nil {
		return h, fmt.Errorf("latency buckets: %w", err)
	}
	nc, cs, err := binaryArray(counts, 8)
	if err != nil {
		return h, fmt.Errorf("latency counts: %w", err)
	}
	if nb != nc {
		return h, fmt.Errorf("latency histogram: %d buckets, %d counts", nb, nc)
	}
	for i := 0; i < nb; i++ {
		b := int32(binary.BigEndian.Uint32(bs[i*8+4:]))
		if b < 0 || b > report.MaxHistogramBucket {
			return h, fmt.Errorf("latency histogram: bucket %d out of range", b)
		}
		if int(b) >= len(h) {
			h = append(h, make(report.Histogram, int(b)+1-len(h))...)
		}
		h[b] += int64(binary.BigEndian.Uint64(cs[i*12+4:]))
	}
	return h, nil
}
