package collect

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures holds spread over several blocks keep their numbers: an event releases its own hold
// wherever its block is, expiry walks across block boundaries and reuses the emptied block, and
// what each entity holds is exact at every step.
func TestHoldsAcrossBlocks(t *testing.T) {
	st := newBudgetState(report.Budget{Name: "b", Amount: decimal.NewFromInt(100), Enforce: &report.Enforce{DenyAt: 100}}, report.Period{})
	h := newHolds([]*budgetState{st}, 0)
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
			if got, _ := st.acc.held(e); !got.Equal(w) {
				t.Fatalf("%s: %s holds %s, want %s", step, e, got, w)
			}
		}
		if st.acc.names.len() != len(want) {
			t.Fatalf("%s: %d entities hold something, want %d", step, st.acc.names.len(), len(want))
		}
		if h.len() < len(live) {
			t.Fatalf("%s: %d holds queued, fewer than the %d live", step, h.len(), len(live))
		}
	}
	n := 3*holdsPerBlock + 5
	for i := range n {
		h.add(fmt.Sprintf("e%d", i), base.Add(time.Duration(i)*time.Millisecond), amount(i), []match{{st: st, entity: entity(i)}})
		live[i] = true
	}
	if h.len() != n || len(h.blocks) != 4 {
		t.Fatalf("%d holds in %d blocks, want %d in 4", h.len(), len(h.blocks), n)
	}
	check("added")
	// Events arriving: one in each block, one of them twice.
	for _, i := range []int{3, holdsPerBlock + 1, 2*holdsPerBlock + 9, 3*holdsPerBlock + 4, 3*holdsPerBlock + 4} {
		h.releaseEvent(fmt.Sprintf("e%d", i))
		delete(live, i)
	}
	check("events arrived")
	// Expire past the end of the first block, then past the second.
	for _, upTo := range []int{holdsPerBlock + 10, 2*holdsPerBlock + 100} {
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
	h.releaseEvent(fmt.Sprintf("e%d", 2*holdsPerBlock+200))
	delete(live, 2*holdsPerBlock+200)
	check("late event")
	// Holds made after the expiry are numbered on, fill the emptied block, and are found by their
	// events.
	for i := n; i < n+holdsPerBlock; i++ {
		h.add(fmt.Sprintf("e%d", i), base.Add(time.Hour), amount(i), []match{{st: st, entity: entity(i)}})
		live[i] = true
	}
	if h.spare != nil {
		t.Fatal("the emptied block was not reused")
	}
	check("added again")
	for i := n; i < n+holdsPerBlock; i += 2 {
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

// Ensures a hold counts against every budget its request matched, the first two in the hold and
// the rest beside it, with its amount exact whether its coefficient fits 64 bits or not; that an
// event id asked for again after its event arrived belongs to the new hold when the old one
// expires; and that a budget's slot is freed with its entity's last hold and reused.
func TestHoldsOfSeveralBudgets(t *testing.T) {
	var states []*budgetState
	for i := range 3 {
		st := newBudgetState(report.Budget{Name: fmt.Sprint(i), Amount: decimal.NewFromInt(100), Enforce: &report.Enforce{DenyAt: 100}}, report.Period{})
		st.index = uint32(i)
		states = append(states, st)
	}
	h := newHolds(states, 0)
	base := time.Unix(1_000_000, 0)
	amounts := []string{"0.00012", "999999999999999999", "0.000000000000000001", "1000000000000000000", "12345678901234567890.5"}
	var matched []match
	for i, st := range states {
		matched = append(matched, match{st: st, entity: fmt.Sprintf("u%d", i)})
	}
	for i, a := range amounts {
		// Hold i matches the first i+1 budgets (at most 3), all for the same event id.
		h.add("e", base.Add(time.Duration(i)*time.Second), decimal.RequireFromString(a), matched[:min(i+1, 3)])
	}
	// Only the last hold counts: each add released the one before it (the same event id).
	last := decimal.RequireFromString(amounts[len(amounts)-1])
	for i, st := range states {
		if got, _ := st.acc.held(fmt.Sprintf("u%d", i)); !got.Equal(last) {
			t.Errorf("budget %d holds %s, want %s", i, got, last)
		}
		if st.acc.names.len() != 1 {
			t.Errorf("budget %d: %d slots in use, want 1", i, st.acc.names.len())
		}
	}
	h.expire(base.Add(time.Duration(len(amounts)-2) * time.Second)) // all but the last
	if h.byEvent["e"] != h.first || len(h.more) != 1 || len(h.big) != 1 {
		t.Fatalf("after the old holds expired: event e → %d (want %d), %d with more parts, %d big amounts: want 1 and 1", h.byEvent["e"], h.first, len(h.more), len(h.big))
	}
	h.releaseEvent("e")
	for i, st := range states {
		if _, ok := st.acc.held(fmt.Sprintf("u%d", i)); ok || st.acc.names.len() != 0 {
			t.Errorf("budget %d: still holds after the event, or its entity was not forgotten", i)
		}
	}
	for _, a := range amounts {
		d := decimal.RequireFromString(a)
		h.add("", base.Add(time.Hour), d, matched[:1])
		h.add("", base.Add(time.Hour), d, matched[:1])
		if got, _ := states[0].acc.held("u0"); !got.Equal(d.Add(d)) {
			t.Errorf("%s held twice: %s", a, got)
		}
		h.expire(base.Add(time.Hour))
	}
	if len(states[0].acc.of) != 1 {
		t.Errorf("%d entities counted for one entity at a time, want its index reused", len(states[0].acc.of))
	}
	h.expire(base.Add(2 * time.Hour))
	if len(h.byEvent) != 0 || len(h.more) != 0 || len(h.big) != 0 || h.len() != 0 {
		t.Errorf("every TTL passed: %d events, %d more, %d big, %d holds left", len(h.byEvent), len(h.more), len(h.big), h.len())
	}
}

// Ensures a hold has no pointer: the garbage collector then never scans the blocks of holds, which
// grow to millions at 20,000 decisions a second.
func TestHoldsWithoutPointers(t *testing.T) {
	if !pointerFree(reflect.TypeFor[hold]()) {
		t.Error("a hold has a pointer")
	}
	if n := unsafe.Sizeof(hold{}); n > 48 {
		t.Errorf("a hold takes %d bytes", n)
	}
}

// Ensures that past its cap the oldest hold stops counting before its TTL, with its event id, and
// that what is held is then exactly the newest holds'.
func TestHoldsCapped(t *testing.T) {
	st := newBudgetState(report.Budget{Name: "b", Amount: decimal.NewFromInt(100), Enforce: &report.Enforce{DenyAt: 100}}, report.Period{})
	const max = holdsPerBlock + 10 // dropping crosses a block's end
	h := newHolds([]*budgetState{st}, max)
	expires := time.Unix(1_000_000, 0).Add(time.Hour)
	n := 2*holdsPerBlock + 3
	for i := range n {
		h.add(fmt.Sprintf("e%d", i), expires, decimal.New(int64(i+1), -3), []match{{st: st, entity: "u"}})
	}
	var want decimal.Decimal
	for i := n - max; i < n; i++ {
		want = want.Add(decimal.New(int64(i+1), -3))
	}
	if got, _ := st.acc.held("u"); !got.Equal(want) || h.len() != max || h.dropped != uint64(n-max) {
		t.Fatalf("held %s, want %s; %d holds (want %d), %d dropped (want %d)", got, want, h.len(), max, h.dropped, n-max)
	}
	if _, ok := h.byEvent[fmt.Sprintf("e%d", n-max-1)]; ok || len(h.byEvent) != max {
		t.Fatalf("%d event ids kept, want the %d of the holds kept", len(h.byEvent), max)
	}
	h.releaseEvent(fmt.Sprintf("e%d", n-1))
	if got, _ := st.acc.held("u"); !got.Equal(want.Sub(decimal.New(int64(n), -3))) {
		t.Fatalf("after the newest event: held %s", got)
	}
}
