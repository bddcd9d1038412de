package collect

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func alloc(f func()) uint64 {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

func TestZZCost(t *testing.T) {
	filler := strings.Repeat("x", 840)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var b bytes.Buffer
	b.WriteString("[")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"event_id":"x-%04d","occurred_at":%q,"service":"QA_CHAT","model":"claude-sonnet-4-5","input_tokens":500,"output_tokens":300,"success":false,"error":%q,"tags":{"a":"b"}}`, i, at, filler)
	}
	b.WriteString("]")
	body := b.Bytes()
	a := alloc(func() {
		evs, _, _ := decodeEvents(body, false, 1000)
		rules := Rules{Now: time.Now(), FutureSkew: time.Minute, Prices: fuzzTable}
		for i := range evs {
			evs[i].ev.Validate(i, rules)
		}
	})
	t.Logf("events: body %d alloc %d (%.1fx)", len(body), a, float64(a)/float64(len(body)))
	// small events
	b.Reset()
	b.WriteString("[")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"event_id":"x-%04d","occurred_at":%q,"service":"QA_CHAT","model":"claude-sonnet-4-5","input_tokens":500,"output_tokens":300}`, i, at)
	}
	b.WriteString("]")
	body = b.Bytes()
	a = alloc(func() {
		evs, _, _ := decodeEvents(body, false, 1000)
		rules := Rules{Now: time.Now(), FutureSkew: time.Minute, Prices: fuzzTable}
		for i := range evs {
			evs[i].ev.Validate(i, rules)
		}
	})
	t.Logf("small events: body %d alloc %d (%.1fx)", len(body), a, float64(a)/float64(len(body)))
	b.Reset()
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{}`)
	for b.Len() < 1040000 {
		b.WriteString(`,{}`)
	}
	b.WriteString(`]}]}]}]}`)
	body = b.Bytes()
	a = alloc(func() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("json bomb: body %d objects %d alloc %d (%.1fx) per object %d", len(body), len(body)/3, a, float64(a)/float64(len(body)), a/uint64(len(body)/3))
	b.Reset()
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{}`)
	for b.Len() < 1040000 {
		b.WriteString(`,{}`)
	}
	b.WriteString(`]}]}]}`)
	body = b.Bytes()
	a = alloc(func() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("json span bomb: body %d objects %d alloc %d (%.1fx) per object %d", len(body), len(body)/3, a, float64(a)/float64(len(body)), a/uint64(len(body)/3))
}
