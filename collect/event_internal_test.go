package collect

import (
	"math"
	"testing"
)

// Ensures the cache-token comparison is exact for counts of any size, with no wrap-around.
func TestCacheExceedsInput(t *testing.T) {
	const max = math.MaxInt64
	for _, tc := range []struct {
		cacheRead, cacheWrite, input int64
		want                         bool
	}{
		{0, 0, 0, false},
		{3, 2, 5, false},
		{3, 3, 5, true},
		{max, 1, 500, true},           // int64 sum wraps to MinInt64
		{max, max, 500, true},         // int64 sum wraps to -2
		{1 << 62, 1 << 62, 500, true}, // int64 sum wraps to MinInt64
		{max, 0, max, false},          // equal at the top of the range
		{max - 1, 1, max, false},      // sum exactly input
		{max - 1, 2, max, true},       // one above input, past int64
		{max / 2, max/2 + 1, max, false},
		{max / 2, max/2 + 2, max, true},
	} {
		if got := cacheExceedsInput(tc.cacheRead, tc.cacheWrite, tc.input); got != tc.want {
			t.Errorf("cacheExceedsInput(%d, %d, %d) = %v, want %v", tc.cacheRead, tc.cacheWrite, tc.input, got, tc.want)
		}
	}
}
