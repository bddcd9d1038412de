package collect

import (
	stdjson "encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeEvents ensures that no body makes decoding or validation panic, and that every body
// the standard library accepts as a JSON array of objects decodes to the same events.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"a","occurred_at":"2026-10-15T11:00:00Z","service":"S","model":"m","input_tokens":1,"output_tokens":2}`,
		`[{"event_id":"a","tags":{"k":"v"},"cost":"1.5","success":false},{"event_id":"b","cost":2e3,"duration_ms":5}]`,
		`[{"event_id":"\u00e9\ud83d\ude00","input_tokens":1.5,"extra":{"deep":[1,{"x":null}]}}]`,
		`[{"event_id":"a"},]`, `[`, `{"a":}`, `[1,2]`, `{"tags":{"a":1}}`, "[{\"event_id\":\"a\\u0000b\"}]",
		`{"input_tokens":99999999999999999999}`, `{"cost":"1e999999999"}`, `[{}]   x`,
	} {
		f.Add([]byte(s))
	}
	rules := Rules{Now: time.Now(), FutureSkew: 5 * time.Minute, Prices: nil}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, status, _ := decodeEvents(body, false, 1000)
		if status == 0 {
			for i := range events {
				events[i].ev.Validate(i, Rules{Now: rules.Now, FutureSkew: rules.FutureSkew, Prices: testTable})
			}
		}
		decodeEvents(body, true, 1000)

		var std []map[string]stdjson.RawMessage
		if stdjson.Unmarshal(body, &std) != nil || len(std) == 0 || len(std) > 1000 {
			return
		}
		var want []Event
		for _, raw := range std {
			b, _ := stdjson.Marshal(raw)
			e := NewEvent()
			if err := stdjson.Unmarshal(b, &e); err != nil {
				return // type errors are reported, compared elsewhere
			}
			want = append(want, e)
		}
		if status != 0 {
			t.Fatalf("standard library accepts %q, decodeEvents refused it (%d)", body, status)
		}
		for i := range want {
			if events[i].typeErr != nil || !reflect.DeepEqual(events[i].ev, want[i]) {
				t.Fatalf("event %d of %q: got %+v want %+v", i, body, events[i].ev, want[i])
			}
		}
	})
}
