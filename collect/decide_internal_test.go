package collect

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Ensures the pause between two reads of spend keeps reads to a fifth of the time once they are
// slower than Refresh, is longer by up to refreshSpread at random, and never lets the spend age
// past half of max_staleness.
func TestRefreshPause(t *testing.T) {
	s, ms := time.Second, time.Millisecond
	for _, c := range []struct {
		refresh, maxStale, took time.Duration
		spread                  float64
		want                    time.Duration
	}{
		{2 * s, 30 * s, 100 * ms, 0, 2 * s},         // a quick read: every refresh
		{2 * s, 30 * s, 100 * ms, 0.5, 2400 * ms},   // drawn half way: 20 % longer
		{2 * s, 30 * s, 100 * ms, 0.999, 2799 * ms}, // at most 40 % longer
		{2 * s, 30 * s, 1 * s, 0, 4 * s},            // a slow read: four times its length
		{2 * s, 30 * s, 1 * s, 0.5, 4800 * ms},
		{2 * s, 30 * s, 5 * s, 0, 10 * s},   // capped: 5 s + 10 s = half of 30 s
		{2 * s, 30 * s, 4 * s, 0.9, 11 * s}, // 16 s × 1.36, capped at 15 s − 4 s
		{2 * s, 30 * s, 20 * s, 0.9, 2 * s}, // slower than the cap: refresh still pauses
		{100 * ms, 10 * s, 300 * ms, 0, 1200 * ms},
	} {
		if got := refreshPause(c.refresh, c.maxStale, c.took, c.spread); got.Round(ms) != c.want {
			t.Errorf("refreshPause(%v, %v, %v, %v) = %v, want %v", c.refresh, c.maxStale, c.took, c.spread, got, c.want)
		}
	}
}

// decideBodies are decide requests the fast path reads (fast) or leaves to the general one.
var decideBodies = []struct {
	body string
	fast bool
}{
	{`{"user_id":"user-7","service":"QA_CHAT","model":"gpt-4o","input_tokens":800,"max_output_tokens":400}`, true},
	{` { "event_id" : "e-1", "user_id":"ü-ß", "org_id":"o", "provider":"openai", "endpoint":"/v1/chat",
	   "estimated_cost":"0.0125", "tags":{"team":"search","env":"prod"} } `, true},
	{`{"estimated_cost":12.5e-3}`, true},
	{`{"estimated_cost":0,"input_tokens":0}`, true},
	{`{}`, true},
	{`{"tags":{}}`, true},
	{`{"user_id":"a","user_id":"b"}`, true},
	{`{"user_id":"caf\u00e9"}`, false},  // an escape
	{`{"USER_ID":"a"}`, false},          // an unknown field: a problem
	{`{"input_tokens":-1}`, false},      // a problem
	{`{"input_tokens":1.0}`, false},     // a problem
	{`{"input_tokens":0123}`, false},    // not JSON
	{`{"estimated_cost":"-1"}`, false},  // a problem
	{`{"estimated_cost":"abc"}`, false}, // a problem
	{`{"estimated_cost":01}`, false},    // not JSON
	{`{"user_id":null}`, false},         // allowed, the general way
	{`{"user_id":"a"} x`, false},        // not JSON
	{`{"user_id":"a",}`, false},         // not JSON
	{"{\"user_id\":\"\xff\"}", false},   // invalid UTF-8: the general path replaces it
	{`{"tags":{"a":1}}`, false},         // a problem
	{`[]`, false},
}

// Ensures the fast path reads the common requests, leaves the rest, and agrees with the general
// path on each it reads.
func TestDecodeDecideFast(t *testing.T) {
	for _, c := range decideBodies {
		fast, ok := decodeDecideFast([]byte(c.body))
		if ok != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.body, ok, c.fast)
		}
		if ok {
			agreeDecide(t, []byte(c.body), fast)
		}
	}
}

// FuzzDecodeDecideFast ensures that whenever the fast path reads a body, the general path reads
// it too, without a problem, to the same request.
func FuzzDecodeDecideFast(f *testing.F) {
	for _, c := range decideBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if fast, ok := decodeDecideFast(body); ok {
			agreeDecide(t, body, fast)
		}
	})
}

func agreeDecide(t *testing.T, body []byte, fast DecideRequest) {
	t.Helper()
	general, problems, err := decodeDecideGeneral(body)
	if err != nil || problems != nil {
		t.Fatalf("%q: the fast path read it, the general one refused it: %v %v", body, err, problems)
	}
	if !reflect.DeepEqual(fast, general) {
		t.Fatalf("%q: fast %+v, general %+v", body, fast, general)
	}
}

// FuzzDecideAnswerJSON ensures a decide answer is written byte for byte as encoding/json writes
// it, whatever the text in it: entity names and models are what clients send.
func FuzzDecideAnswerJSON(f *testing.F) {
	f.Add("per-user", "user-1", "gpt-4o-mini", "12.5", int64(1_700_000_000_123_456_789), int64(1500), true, 2)
	f.Add(`<b>"x"&\`, "\x00\x1f\b\f\n\r\t\x7f", "\u2028\u2029é\xff\xfe", "", int64(0), int64(-1), false, 1)
	f.Add("", "", "", "0", int64(-62135596800), int64(0), false, 0)
	f.Fuzz(func(t *testing.T, name, entity, model, amount string, nanos, ms int64, stale bool, budgets int) {
		at := time.Unix(0, nanos).In(time.FixedZone("", int(ms%50_000)))
		if at.Year() < 0 || at.Year() > 9999 {
			return // never a period's end or a read's start; encoding/json refuses it
		}
		a := DecideAnswer{Decision: Degrade, Model: model, Estimate: amount, StalenessMS: ms, MaxStaleness: -ms, Stale: stale}
		if budgets%3 != 0 {
			a.AsOf = &at
			a.Budgets = []DecidingBudget{}
		}
		for i := range budgets % 3 {
			a.Budgets = append(a.Budgets, DecidingBudget{Name: name, Entity: entity[:len(entity)*i/2], Decision: model,
				Spent: amount, Limit: name, Percent: entity, Remaining: amount, ResetsAt: at})
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(a); err != nil {
			t.Fatal(err)
		}
		if got := a.appendJSON(nil); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("wrote\n%s\nwant\n%s", got, want.Bytes())
		}
	})
}

// Ensures the fast decoder allocates only what the request keeps: its three strings and two
// token counts, not the keys it only compares.
func TestDecodeDecideFastAllocs(t *testing.T) {
	body := []byte(`{"user_id":"user-42","service":"QA_CHAT","model":"big","input_tokens":800,"max_output_tokens":400}`)
	if _, ok := decodeDecideFast(body); !ok {
		t.Fatal("the usual request is not on the fast path")
	}
	if n := testing.AllocsPerRun(100, func() { decodeDecideFast(body) }); n > 5 {
		t.Errorf("%.0f allocations to decode, want at most 5", n)
	}
}
