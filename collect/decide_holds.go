package collect

import (
	"time"

	"github.com/shopspring/decimal"
)

// holds are the estimates of allowed requests, each counted against the budgets (and entities)
// its request fell under until its event arrives (matched by event_id) or its TTL passes. A busy
// collector holds many: every allowed decision stays until estimate_ttl passes (five minutes:
// 640,000 in make bench-decide, millions at 20,000 decisions a second), released or not.
//
// So a hold is 48 bytes without a pointer, in blocks of holdsPerBlock in the order made (the
// order of expiry: one TTL). The garbage collector never looks inside a block. Held as objects
// with pointers (their entity, event id, budget), 640,000 holds took 110 MB that every collection
// marked, and the collections of a deciding collector ran a third of the time. What a hold
// refers to lives once elsewhere: its budgets by index, its entity by its index in the budget's
// accounts, its event id in its block's list, and the rare hold of more than two
// budgets, or of an amount past 19 digits, in a map of its own. Blocks, not one slice: a slice
// that grows copies every hold, under the Decider's lock. Called with the Decider's lock held.
type holds struct {
	states  []*budgetState    // the Decider's, indexed by holdPart.budget
	blocks  []*holdBlock      // only the last may have room
	head    int               // blocks[0].holds[:head] are expired and cleared
	first   uint64            // the number of blocks[0].holds[head]: holds are numbered in the order made
	byEvent map[string]uint64 // event id → the number of its hold
	spare   *holdBlock        // an emptied block, reused for the next one
	more    map[uint64][]holdPart
	big     map[uint64]decimal.Decimal
	max     int    // the most holds kept (0: no cap); past it the oldest is dropped
	dropped uint64 // holds dropped for max before their TTL
}

func newHolds(states []*budgetState, max int) holds {
	return holds{states: states, max: max, byEvent: map[string]uint64{}, more: map[uint64][]holdPart{}, big: map[uint64]decimal.Decimal{}}
}

// holdsPerBlock is the number of holds per block: 192 KB, allocated once per 4,096 holds.
const holdsPerBlock = 4096

type holdBlock struct {
	holds     []hold   // capacity holdsPerBlock
	events    []string // the event ids of its holds that have one, in order
	nextEvent int      // events[:nextEvent] are of expired holds
}

type hold struct {
	expires int64 // Unix nanoseconds
	units   int64 // the amount counted in each part: units × 10^exp, unless holdBig
	exp     int32
	parts   [2]holdPart // parts[1] when holdTwo; a third and on in holds.more
	flags   uint8
}

const (
	holdReleased = 1 << iota
	holdEvent    // has an event id, in its block's events
	holdTwo      // parts[1] is used
	holdMore     // more parts in holds.more
	holdBig      // the amount is in holds.big
)

// holdPart is one budget's (and entity's) part in a hold.
type holdPart struct {
	budget uint32 // index in holds.states
	entity uint32 // the entity's index in the budget's accounts
	gen    uint32 // the budget's gen when counted: a period rolled since drops it without this hold
}

// add holds estimate against the budgets of matched until expires.
func (h *holds) add(eventID string, expires time.Time, estimate decimal.Decimal, matched []match) {
	h.releaseEvent(eventID) // asked again for the same event: one estimate counts
	if h.max > 0 && h.len() >= h.max {
		// Full: the oldest estimate stops counting before its TTL, the one most likely to have
		// seen its event already (refusing this one, or every request, would let a flood of
		// decisions deny everyone).
		if x := h.oldest(); x != nil {
			h.drop(x)
			h.dropped++
		}
	}
	n := h.first + uint64(h.len())
	x := hold{expires: expires.UnixNano()}
	a, fits := amountOf(estimate)
	if fits {
		x.units, x.exp = a.units, a.exp
	} else {
		x.flags |= holdBig
		h.big[n] = estimate
	}
	for i, m := range matched {
		p := holdPart{budget: m.st.index, entity: m.st.acc.hold(m.entity, a, fits, estimate), gen: m.st.gen}
		switch i {
		case 0:
			x.parts[0] = p
		case 1:
			x.parts[1], x.flags = p, x.flags|holdTwo
		default:
			h.more[n], x.flags = append(h.more[n], p), x.flags|holdMore
		}
	}
	if len(h.blocks) == 0 || len(h.blocks[len(h.blocks)-1].holds) == holdsPerBlock {
		b := h.spare
		if b == nil {
			b = &holdBlock{holds: make([]hold, 0, holdsPerBlock)}
		}
		h.blocks, h.spare = append(h.blocks, b), nil
	}
	last := h.blocks[len(h.blocks)-1]
	if eventID != "" {
		x.flags |= holdEvent
		h.byEvent[eventID] = n
		last.events = append(last.events, eventID)
	}
	last.holds = append(last.holds, x)
}

// len is the number of holds from the oldest not yet expired.
func (h *holds) len() int {
	if len(h.blocks) == 0 {
		return 0
	}
	return (len(h.blocks)-1)*holdsPerBlock + len(h.blocks[len(h.blocks)-1].holds) - h.head
}

// at is the hold numbered n, which must not have expired.
func (h *holds) at(n uint64) *hold {
	i := int(n-h.first) + h.head
	return &h.blocks[i/holdsPerBlock].holds[i%holdsPerBlock]
}

// releaseEvent stops counting the hold of eventID, if any.
func (h *holds) releaseEvent(eventID string) {
	if eventID == "" {
		return
	}
	if n, ok := h.byEvent[eventID]; ok {
		h.release(n, h.at(n))
		delete(h.byEvent, eventID)
	}
}

// expire releases the holds whose TTL passed by now.
func (h *holds) expire(now time.Time) {
	t := now.UnixNano()
	for {
		x := h.oldest()
		if x == nil || x.expires > t {
			return
		}
		h.drop(x)
	}
}

// oldest is the oldest hold not yet expired; nil when there is none. It moves past a block
// whose holds have all expired.
func (h *holds) oldest() *hold {
	for len(h.blocks) > 0 {
		b := h.blocks[0]
		if h.head < len(b.holds) {
			return &b.holds[h.head]
		}
		if len(b.holds) < holdsPerBlock {
			return nil // the last block, all expired: the next hold goes after them
		}
		clear(b.events) // the strings may be collected
		b.holds, b.events, b.nextEvent = b.holds[:0], b.events[:0], 0
		h.blocks, h.head, h.spare = h.blocks[1:], 0, b
	}
	return nil
}

// drop releases x, the oldest hold, and forgets it.
func (h *holds) drop(x *hold) {
	b, n := h.blocks[0], h.first
	h.release(n, x)
	if x.flags&holdEvent != 0 {
		// Its event never arrived, or arrived and asked for this id again since (then the
		// id is another hold's now).
		id := b.events[b.nextEvent]
		if m, ok := h.byEvent[id]; ok && m == n {
			delete(h.byEvent, id)
		}
		b.nextEvent++
	}
	if x.flags&holdMore != 0 {
		delete(h.more, n)
	}
	if x.flags&holdBig != 0 {
		delete(h.big, n)
	}
	h.head++
	h.first++
}

// release stops counting the hold numbered n, x.
func (h *holds) release(n uint64, x *hold) {
	if x.flags&holdReleased != 0 {
		return
	}
	x.flags |= holdReleased
	a, fits, big := amount{units: x.units, exp: x.exp}, x.flags&holdBig == 0, decimal.Decimal{}
	if !fits {
		big = h.big[n]
	}
	h.releasePart(x.parts[0], a, fits, big)
	if x.flags&holdTwo != 0 {
		h.releasePart(x.parts[1], a, fits, big)
	}
	if x.flags&holdMore != 0 {
		for _, p := range h.more[n] {
			h.releasePart(p, a, fits, big)
		}
	}
}

func (h *holds) releasePart(p holdPart, a amount, fits bool, big decimal.Decimal) {
	st := h.states[p.budget]
	if p.gen != st.gen {
		return // its period ended: what was held was emptied then
	}
	st.acc.unhold(p.entity, a, fits, big)
}
