package collect

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures holds spread over several blocks keep their numbers: an event releases its own hold
// wherever its block is, expiry walks across block boundaries and reuses the emptied block, and
// what each entity holds is exact at every step.
func TestHoldsAcrossBlocks(t *testing.T) {
	st := newBudgetState(report.Budget{Name: "b", Amount: decimal.NewFromInt(100), Enforce: &report.Enforce{DenyAt: 100}}, report.Period{})
	h := holds{byEvent: map[string]uint64{}}
	base := time.Unix(1_000_000, 0)
	// live is what should still be held: hold i, made at base + i ms, holds (i+1) / 10,000 for
	// entity u(i mod 7).
	live := map[int]bool{}
	entity := func(i int) string { return fmt.Sprintf("u%d", i%7) }
	amount := func(i int) decimal.Decimal { return decimal.New(int64(i+1), -4) }
	check := func(step string) {
		t.Helper()
		want := map[string]decimal.Decimal{}
		for i := range live {
			want[entity(i)] = want[entity(i)].Add(amount(i))
		}
		for e, w := range want {
			if got := st.held[e]; !got.Equal(w) {
				t.Fatalf("%s: %s holds %s, want %s", step, e, got, w)
			}
		}
		if len(st.held) != len(want) {
			t.Fatalf("%s: %d entities hold something, want %d", step, len(st.held), len(want))
		}
		if h.len() < len(live) {
			t.Fatalf("%s: %d holds queued, fewer than the %d live", step, h.len(), len(live))
		}
	}
	n := 3*holdBlock + 5
	for i := range n {
		h.add(fmt.Sprintf("e%d", i), base.Add(time.Duration(i)*time.Millisecond), amount(i), []match{{st: st, entity: entity(i)}})
		live[i] = true
	}
	if h.len() != n || len(h.blocks) != 4 {
		t.Fatalf("%d holds in %d blocks, want %d in 4", h.len(), len(h.blocks), n)
	}
	check("added")
	// Events arriving: one in each block, one of them twice.
	for _, i := range []int{3, holdBlock + 1, 2*holdBlock + 9, 3*holdBlock + 4, 3*holdBlock + 4} {
		h.releaseEvent(fmt.Sprintf("e%d", i))
		delete(live, i)
	}
	check("events arrived")
	// Expire past the end of the first block, then past the second.
	for _, upTo := range []int{holdBlock + 10, 2*holdBlock + 100} {
		h.expire(base.Add(time.Duration(upTo-1) * time.Millisecond))
		for i := range upTo {
			delete(live, i)
		}
		check(fmt.Sprintf("expired %d", upTo))
		if h.len() != n-upTo {
			t.Fatalf("expired %d: %d holds queued, want %d", upTo, h.len(), n-upTo)
		}
	}
	if len(h.blocks) != 2 || h.spare == nil {
		t.Fatalf("%d blocks, spare kept %v: want 2 and the emptied block kept", len(h.blocks), h.spare != nil)
	}
	// An event of a hold in the oldest remaining block still finds it.
	h.releaseEvent(fmt.Sprintf("e%d", 2*holdBlock+200))
	delete(live, 2*holdBlock+200)
	check("late event")
	// Holds made after the expiry are numbered on, fill the emptied block, and are found by their
	// events.
	for i := n; i < n+holdBlock; i++ {
		h.add(fmt.Sprintf("e%d", i), base.Add(time.Hour), amount(i), []match{{st: st, entity: entity(i)}})
		live[i] = true
	}
	if h.spare != nil {
		t.Fatal("the emptied block was not reused")
	}
	check("added again")
	for i := n; i < n+holdBlock; i += 2 {
		h.releaseEvent(fmt.Sprintf("e%d", i))
		delete(live, i)
	}
	check("new holds' events")
	h.expire(base.Add(2 * time.Hour))
	clear(live)
	check("every TTL passed")
	if h.len() != 0 {
		t.Fatalf("every TTL passed: %d holds queued", h.len())
	}
}

// Ensures an estimate held keeps its value exactly, in two words when its coefficient fits 64
// bits and as a decimal of its own when it does not.
func TestCompactEstimates(t *testing.T) {
	for _, s := range []string{"0", "0.00012", "-3.5", "999999999999999999", "-999999999999999999",
		"0.000000000000000001", "1000000000000000000", "12345678901234567890.5", "-1e-40"} {
		d := decimal.RequireFromString(s)
		c := compactOf(d)
		if got := c.decimal(); !got.Equal(d) {
			t.Errorf("%s held as %s", s, got)
		}
		if small := d.Coefficient().IsInt64(); small == (c.big != nil) && d.NumDigits() <= 18 {
			t.Errorf("%s: in two words %v, want %v", s, c.big == nil, small)
		}
	}
	est := decimal.New(123456, -7)
	if n := testing.AllocsPerRun(100, func() { _ = compactOf(est) }); n != 0 {
		t.Errorf("compactOf allocates %v times", n)
	}
}
