package collect

import (
	"slices"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// accounts are one enforced budget's figures per entity (one entity, "", for a budget without
// per): its spend as read, what this collector committed since, and the estimates held against
// it. 100,000 users' figures as maps of decimals were 100,000 strings and 200,000 big.Ints that
// every collection of a deciding collector marked, about once a second under load; here the
// names are in a table without pointers (entityTable) and the figures are amounts in a slice
// of values, so the collector has nothing to mark. An entity whose figure does not fit an
// amount keeps all its figures as decimals, in big. Called with the Decider's lock held.
type accounts struct {
	names entityTable
	of    []account                             // by the entity's index in names
	big   map[uint32]*[nFigures]decimal.Decimal // the figures of the entities flagged accountBig
	// dirty lists the entities whose before or local may not be zero, so that a refresh folds
	// those and not every entity (an entity may be listed twice: folding is idempotent).
	dirty []uint32
}

// An account's figures.
const (
	fBase   = iota // the spend as read from PostgreSQL
	fBefore        // committed here since the read before the current one began
	fLocal         // committed here since the current read began
	fHeld          // the estimates held (holds)
	nFigures
)

type account struct {
	v     [nFigures]amount
	holds int32 // the holds counting on v[fHeld]
	flags uint8
}

const (
	accountBig   = 1 << iota // the figures are in accounts.big
	accountDirty             // listed in accounts.dirty
)

func newAccounts() accounts {
	return accounts{big: map[uint32]*[nFigures]decimal.Decimal{}}
}

// open is entity's index, added with nothing counted when it has none.
func (a *accounts) open(entity string) uint32 {
	i, added := a.names.add(entity)
	if added {
		if int(i) < len(a.of) {
			a.of[i] = account{}
		} else {
			a.of = append(a.of, make([]account, int(i)+1-len(a.of))...)
		}
	}
	return i
}

// add adds x to figure f of entity i.
func (a *accounts) add(i uint32, f int, x decimal.Decimal) {
	if y, ok := amountOf(x); ok {
		a.addAmount(i, f, y)
		return
	}
	a.markDirtyIf(i, f)
	a.addBig(i, f, x)
}

// addAmount adds y to figure f of entity i, without allocating unless the sum does not fit.
func (a *accounts) addAmount(i uint32, f int, y amount) {
	a.markDirtyIf(i, f)
	acc := &a.of[i]
	if acc.flags&accountBig == 0 {
		if s, ok := acc.v[f].add(y); ok {
			acc.v[f] = s
			return
		}
	}
	a.addBig(i, f, y.toDecimal())
}

// addBig adds x to figure f of entity i as decimals, moving its figures there first.
func (a *accounts) addBig(i uint32, f int, x decimal.Decimal) {
	if a.of[i].flags&accountBig == 0 {
		a.toBig(i)
	}
	b := a.big[i]
	b[f] = b[f].Add(x)
}

func (a *accounts) markDirtyIf(i uint32, f int) {
	if f == fBefore || f == fLocal {
		a.markDirty(i)
	}
}

func (a *accounts) markDirty(i uint32) {
	if acc := &a.of[i]; acc.flags&accountDirty == 0 {
		acc.flags |= accountDirty
		a.dirty = append(a.dirty, i)
	}
}

// toBig moves entity i's figures to decimals.
func (a *accounts) toBig(i uint32) {
	acc := &a.of[i]
	var b [nFigures]decimal.Decimal
	for f := range b {
		b[f] = acc.v[f].toDecimal()
	}
	a.big[i], acc.v, acc.flags = &b, [nFigures]amount{}, acc.flags|accountBig
}

// figure is figure f of entity i.
func (a *accounts) figure(i uint32, f int) decimal.Decimal {
	if a.of[i].flags&accountBig != 0 {
		return a.big[i][f]
	}
	return a.of[i].v[f].toDecimal()
}

// set sets figure f of entity i to x.
func (a *accounts) set(i uint32, f int, x decimal.Decimal) {
	acc := &a.of[i]
	if acc.flags&accountBig == 0 {
		if y, ok := amountOf(x); ok {
			acc.v[f] = y
			return
		}
		a.toBig(i)
	}
	a.big[i][f] = x
}

// used is entity's spend and what is held against it, as an amount when every figure and the
// sum fit one (fast), else as a decimal.
func (a *accounts) used(entity string) (u amount, d decimal.Decimal, fast bool) {
	i, ok := a.names.lookup(entity)
	if !ok {
		return amount{}, decimal.Decimal{}, true
	}
	acc := &a.of[i]
	if acc.flags&accountBig == 0 {
		u, fast = acc.v[0], true
		for f := 1; f < nFigures && fast; f++ {
			u, fast = u.add(acc.v[f])
		}
		if fast {
			return u, decimal.Decimal{}, true
		}
	}
	d = a.figure(i, 0)
	for f := 1; f < nFigures; f++ {
		d = d.Add(a.figure(i, f))
	}
	return amount{}, d, false
}

// foldLocal moves what was committed since the current read began into before: a refresh
// begins (Decider.Refresh).
func (a *accounts) foldLocal() {
	for _, i := range a.dirty {
		a.moveInto(i, fBefore, fLocal)
	}
}

// keepBefore moves before back into local: the read failed, every commit still counts.
func (a *accounts) keepBefore() {
	for _, i := range a.dirty {
		a.moveInto(i, fLocal, fBefore)
	}
}

// moveInto adds figure from to figure to of entity i and zeroes from.
func (a *accounts) moveInto(i uint32, to, from int) {
	acc := &a.of[i]
	if acc.flags&accountBig == 0 {
		if s, ok := acc.v[to].add(acc.v[from]); ok {
			acc.v[to], acc.v[from] = s, amount{}
			return
		}
		a.toBig(i)
	}
	b := a.big[i]
	b[to], b[from] = b[to].Add(b[from]), decimal.Zero
}

// readSince adds what a read since the last one found, and drops before, which that read
// includes.
func (a *accounts) readSince(spend []report.Driver) {
	a.reserve(spend)
	for _, x := range spend {
		a.add(a.open(x.Key), fBase, x.Cost)
	}
	a.dropBefore()
}

// readWhole replaces every entity's base with a whole read's, drops before, and forgets the
// entities left with nothing counted.
func (a *accounts) readWhole(spend []report.Driver) {
	a.reserve(spend)
	for i := range a.of {
		if a.names.live(uint32(i)) {
			a.set(uint32(i), fBase, decimal.Zero)
		}
	}
	for _, x := range spend {
		a.set(a.open(x.Key), fBase, x.Cost)
	}
	a.dropBefore()
	for i := range a.of {
		if a.names.live(uint32(i)) {
			a.forgetIfEmpty(uint32(i))
		}
	}
}

// reserve makes room for the entities of spend not counted yet.
func (a *accounts) reserve(spend []report.Driver) {
	n, bytes := 0, 0
	for _, x := range spend {
		if _, ok := a.names.lookup(x.Key); !ok {
			n, bytes = n+1, bytes+len(x.Key)
		}
	}
	if n > 0 {
		a.names.reserve(n, bytes)
		a.of = slices.Grow(a.of, n)
	}
}

// dropBefore zeroes before, and lists again only the entities whose local is not zero.
func (a *accounts) dropBefore() {
	dirty := a.dirty[:0]
	for _, i := range a.dirty {
		acc := &a.of[i]
		if acc.flags&accountDirty == 0 {
			continue // listed twice
		}
		a.set(i, fBefore, decimal.Zero)
		if a.zero(i, fLocal) {
			acc.flags &^= accountDirty
			continue
		}
		dirty = append(dirty, i)
	}
	a.dirty = dirty
}

// hold adds x (an amount when fits, else big) to what entity holds and returns its index.
func (a *accounts) hold(entity string, x amount, fits bool, big decimal.Decimal) uint32 {
	i := a.open(entity)
	if fits {
		a.addAmount(i, fHeld, x)
	} else {
		a.add(i, fHeld, big)
	}
	a.of[i].holds++
	return i
}

// unhold takes x (or big) from what entity i holds; with its last hold nothing is held, and an
// entity with nothing counted is forgotten.
func (a *accounts) unhold(i uint32, x amount, fits bool, big decimal.Decimal) {
	acc := &a.of[i]
	if acc.holds--; acc.holds > 0 {
		if fits {
			a.addAmount(i, fHeld, amount{units: -x.units, exp: x.exp})
		} else {
			a.add(i, fHeld, big.Neg())
		}
		return
	}
	a.set(i, fHeld, decimal.Zero)
	a.forgetIfEmpty(i)
}

// held is what is held against entity: false when nothing is.
func (a *accounts) held(entity string) (decimal.Decimal, bool) {
	i, ok := a.names.lookup(entity)
	if !ok || a.of[i].holds == 0 {
		return decimal.Decimal{}, false
	}
	return a.figure(i, fHeld), true
}

// forgetIfEmpty frees entity i's index when nothing is counted for it: an entity that only ever
// held estimates (a user id sent to POST /v1/decide and never in an event) takes no room once
// they are released.
func (a *accounts) forgetIfEmpty(i uint32) {
	acc := &a.of[i]
	if acc.holds > 0 || acc.flags&accountDirty != 0 {
		return
	}
	for f := range nFigures {
		if !a.zero(i, f) {
			return
		}
	}
	delete(a.big, i)
	*acc = account{}
	a.names.remove(i)
}

// zero reports whether figure f of entity i is zero.
func (a *accounts) zero(i uint32, f int) bool {
	if a.of[i].flags&accountBig != 0 {
		return a.big[i][f].IsZero()
	}
	return a.of[i].v[f].sign() == 0
}
