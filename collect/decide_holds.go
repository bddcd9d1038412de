package collect

import (
	"time"

	"github.com/shopspring/decimal"
)

// holds are the estimates of allowed requests, each counted against the budgets (and entities)
// its request fell under until its event arrives (matched by event_id) or its TTL passes. A busy
// collector holds many: every allowed decision without an event_id stays for estimate_ttl (five
// minutes: 320,000 in make bench-decide). So a hold is a value, a hundred-odd bytes with no
// object of its own (as objects, a hold and its parts, they took 230 bytes each and most of the
// collector's garbage-collection work), in blocks of holdBlock in order of expiry (one TTL: the
// order made). Blocks, not one slice: a slice that grows copies every hold it has, under the
// Decider's lock, which at 600,000 holds stopped every decision for tens of milliseconds.
// Called with the Decider's lock held.
type holds struct {
	blocks  [][]hold          // each of capacity holdBlock; only the last may have room
	head    int               // blocks[0][:head] are expired and cleared
	first   uint64            // the number of blocks[0][head]: holds are numbered in the order made
	byEvent map[string]uint64 // event id → the number of its hold
	spare   []hold            // an emptied block, reused for the next one
}

// holdBlock is the number of holds per block: about 450 KB, allocated once per 4,096 holds.
const holdBlock = 4096

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
	// 18 digits always fit 64 bits. NumDigits reads the coefficient where Coefficient would
	// copy it, an allocation on every allowed decision.
	if d.NumDigits() <= 18 {
		return compact{units: d.CoefficientInt64(), exp: d.Exponent()}
	}
	big := d // a copy of its own, so that only this branch moves it to the heap
	return compact{big: &big}
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
		h.byEvent[eventID] = h.first + uint64(h.len())
	}
	if n := len(h.blocks); n == 0 || len(h.blocks[n-1]) == holdBlock {
		b := h.spare
		if b == nil {
			b = make([]hold, 0, holdBlock)
		}
		h.blocks, h.spare = append(h.blocks, b), nil
	}
	last := &h.blocks[len(h.blocks)-1]
	*last = append(*last, x)
}

// len is the number of holds from the oldest not yet expired.
func (h *holds) len() int {
	if len(h.blocks) == 0 {
		return 0
	}
	return (len(h.blocks)-1)*holdBlock + len(h.blocks[len(h.blocks)-1]) - h.head
}

// at is the hold numbered n, which must not have expired.
func (h *holds) at(n uint64) *hold {
	i := int(n-h.first) + h.head
	return &h.blocks[i/holdBlock][i%holdBlock]
}

// releaseEvent stops counting the hold of eventID, if any.
func (h *holds) releaseEvent(eventID string) {
	if eventID == "" {
		return
	}
	if n, ok := h.byEvent[eventID]; ok {
		h.release(h.at(n))
	}
}

// expire releases the holds whose TTL passed by now.
func (h *holds) expire(now time.Time) {
	t := now.UnixNano()
	for len(h.blocks) > 0 {
		b := h.blocks[0]
		if h.head == len(b) {
			if len(b) < holdBlock {
				return // the last block, all expired: the next hold goes after them
			}
			h.blocks, h.head, h.spare = h.blocks[1:], 0, b[:0]
			continue
		}
		if b[h.head].expires > t {
			return
		}
		h.release(&b[h.head])
		b[h.head] = hold{} // what it points to may be collected
		h.head++
		h.first++
	}
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
