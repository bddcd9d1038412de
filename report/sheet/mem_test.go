package sheet

import (
	"fmt"
	"github.com/aispend/aispend/report"
	"os"
	"runtime"
	"testing"
	"time"
)

// countingWriter records how the workbook reaches its writer.
type countingWriter struct {
	n, writes, maxWrite int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.writes++
	w.maxWrite = max(w.maxWrite, len(p))
	return len(p), nil
}

func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Ensures memory does not grow with the number of events: the heap is the same after 30,000
// and after 90,000 rows (about 40 MB more sheet XML, which went to a temporary file), the
// temporary files are removed afterwards, and the zip reaches the writer in small pieces
// rather than as one buffered file.
func TestMemoryStaysFlat(t *testing.T) {
	const first, last = 30_000, 90_000
	tmp := t.TempDir()
	wb := fixture()
	ms := int64(900)
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, seoul)
	var heapFirst, heapLast uint64
	var spilled int
	wb.Events = func(emit func(report.Event) error) error {
		for i := range last {
			switch i {
			case first:
				heapFirst = heapBytes()
			case last - 1:
				heapLast = heapBytes()
				ents, err := os.ReadDir(tmp)
				if err != nil {
					return err
				}
				spilled = len(ents)
			}
			err := emit(report.Event{
				OccurredAt: base.Add(time.Duration(i) * time.Second), EventID: fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i),
				Service: "QA_CHAT", Model: "claude-sonnet-4", Provider: "anthropic", InputTokens: 1234, OutputTokens: 567,
				CacheReadTokens: 800, Cost: priced("12.3456"), CostSource: "local", DurationMS: &ms, Success: true,
				UserID: fmt.Sprintf("user-%d", i%1000), OrgID: "org-7", Endpoint: "/v1/messages", Tags: `{"team":"search"}`,
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	w := &countingWriter{}
	if err := Write(w, wb, Options{TmpDir: tmp}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	t.Logf("heap %.1f MB at row %d, %.1f MB at row %d; %d temp files; %d bytes in %d writes (max %d)",
		float64(heapFirst)/(1<<20), first, float64(heapLast)/(1<<20), last, spilled, w.n, w.writes, w.maxWrite)
	if grow := int64(heapLast) - int64(heapFirst); grow > 8<<20 {
		t.Errorf("heap grew by %.1f MB between rows %d and %d; streaming should keep it flat", float64(grow)/(1<<20), first, last)
	}
	if spilled == 0 {
		t.Errorf("no temporary file in %s: the events sheet was kept in memory", tmp)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("%d temporary files left after Write", len(ents))
	}
	if w.n < 4<<20 || w.maxWrite > 64<<10 {
		t.Errorf("workbook reached the writer as %d bytes with writes up to %d bytes; want it streamed in small pieces", w.n, w.maxWrite)
	}
}
