package collect

import (
	"time"

	"github.com/shopspring/decimal"
)

// holds are the estimates of allowed requests, each counted against the budgets (and entities)
// its request fell under until its event arrives (matched by event_id) or its TTL passes. A busy
// collector holds many: every allowed decision without an event_id stays for estimate_ttl (five
// minutes: 320,000 in make bench-decide). So a hold is a value in one slice, a hundred-odd bytes
// with no object of its own, in order of expiry (one TTL: the order made); as objects (a hold,
// its parts) they took 230 bytes each and most of the collector's garbage-collection work.
// Called with the Decider's lock held.
type holds struct {
	queue   []hold
	first   uint64            // the number of queue[0]: holds are numbered in the order made
	byEvent map[string]uint64 // event id → the number of its hold
}

type hold struct {
	eventID  string
	expires  int64   // Unix nanoseconds
	amount   compact // counted in each part
	part     holdPart
	more     []holdPart // the budgets after the first, when several matched
	released bool
}

// compact is a decimal whose coefficient fits 64 bits, as two words instead of a pointer to a
// big.Int of its own (two objects); big holds any other.
type compact struct {
	units int64
	exp   int32
	big   *decimal.Decimal
}

func compactOf(d decimal.Decimal) compact {
	if c := d.Coefficient(); c.IsInt64() {
		return compact{units: c.Int64(), exp: d.Exponent()}
	}
	return compact{big: &d}
}

func (c compact) decimal() decimal.Decimal {
	if c.big != nil {
		return *c.big
	}
	return decimal.New(c.units, c.exp)
}

type holdPart struct {
	st     *budgetState
	entity string
	gen    uint32 // st.gen when counted: a period rolled since drops it without this hold
}

// add holds estimate against the budgets of matched until expires.
func (h *holds) add(eventID string, expires time.Time, estimate decimal.Decimal, matched []match) {
	h.releaseEvent(eventID) // asked again for the same event: one estimate counts
	x := hold{eventID: eventID, expires: expires.UnixNano(), amount: compactOf(estimate)}
	for i, m := range matched {
		m.st.held[m.entity] = m.st.held[m.entity].Add(estimate)
		p := holdPart{m.st, m.entity, m.st.gen}
		if i == 0 {
			x.part = p
		} else {
			x.more = append(x.more, p)
		}
	}
	if eventID != "" {
		h.byEvent[eventID] = h.first + uint64(len(h.queue))
	}
	h.queue = append(h.queue, x)
}

// releaseEvent stops counting the hold of eventID, if any.
func (h *holds) releaseEvent(eventID string) {
	if eventID == "" {
		return
	}
	if n, ok := h.byEvent[eventID]; ok {
		h.release(&h.queue[n-h.first])
	}
}

// expire releases the holds whose TTL passed by now.
func (h *holds) expire(now time.Time) {
	t, n := now.UnixNano(), 0
	for n < len(h.queue) && h.queue[n].expires <= t {
		h.release(&h.queue[n])
		n++
	}
	clear(h.queue[:n]) // what they point to may be collected before append copies the queue
	h.queue = h.queue[n:]
	h.first += uint64(n)
}

// release stops counting a hold.
func (h *holds) release(x *hold) {
	if x.released {
		return
	}
	x.released = true
	amount := x.amount.decimal()
	x.part.release(amount)
	for _, p := range x.more {
		p.release(amount)
	}
	if x.eventID != "" {
		delete(h.byEvent, x.eventID)
	}
}

func (p holdPart) release(amount decimal.Decimal) {
	if p.gen != p.st.gen {
		return // its period ended: held was emptied then
	}
	if v := p.st.held[p.entity].Sub(amount); v.IsPositive() {
		p.st.held[p.entity] = v
	} else {
		delete(p.st.held, p.entity)
	}
}
