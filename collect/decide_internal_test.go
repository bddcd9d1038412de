package collect

import (
	"testing"
	"time"
)

// Ensures the pause between two reads of spend keeps reads to a fifth of the time once they are
// slower than Refresh, and never lets the spend age past half of max_staleness.
func TestRefreshPause(t *testing.T) {
	s, ms := time.Second, time.Millisecond
	for _, c := range []struct{ refresh, maxStale, took, want time.Duration }{
		{2 * s, 30 * s, 100 * ms, 2 * s}, // a quick read: every refresh
		{2 * s, 30 * s, 1 * s, 4 * s},    // a slow read: four times its length
		{2 * s, 30 * s, 5 * s, 10 * s},   // capped: 5 s + 10 s = half of 30 s
		{2 * s, 30 * s, 20 * s, 2 * s},   // slower than the cap: refresh still pauses
		{100 * ms, 10 * s, 300 * ms, 1200 * ms},
	} {
		if got := refreshPause(c.refresh, c.maxStale, c.took); got != c.want {
			t.Errorf("refreshPause(%v, %v, %v) = %v, want %v", c.refresh, c.maxStale, c.took, got, c.want)
		}
	}
}
