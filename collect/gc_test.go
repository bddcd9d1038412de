package collect

import (
	"runtime/debug"
	"testing"
)

// Ensures the collector sets its GC target (400 %) and soft memory limit (150 MB) only where the
// environment sets neither GOGC nor GOMEMLIMIT.
func TestTuneGCLeavesConfiguredSettings(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(1 << 40)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	TuneGC(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC set: GC percent %d, want it left at 100", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 150<<20 {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", l, 150<<20)
	}

	debug.SetMemoryLimit(1 << 40)
	TuneGC(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1TiB"
		}
		return ""
	})
	if p := debug.SetGCPercent(100); p != 400 {
		t.Errorf("GOGC unset: GC percent %d, want 400", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<40 {
		t.Errorf("GOMEMLIMIT set: memory limit %d, want it left at %d", l, int64(1<<40))
	}
}
