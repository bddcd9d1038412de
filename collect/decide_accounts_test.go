package collect

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// Ensures an entity's figures have no pointer, so that the accounts of 100,000 entities are
// nothing the garbage collector marks.
func TestAccountsWithoutPointers(t *testing.T) {
	if !pointerFree(reflect.TypeFor[account]()) {
		t.Error("an account has a pointer")
	}
}

// Ensures the accounts count exactly what maps of decimals (the Decider's state before them)
// count, through random reads whole and since, commits, refreshes that fail, holds and their
// release, with amounts that fit 64 bits and amounts that do not; and that an entity with
// nothing counted is forgotten.
func TestAccountsAgainstMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 11))
	amounts := []string{"0.0001", "12.5", "0.000000000000000001", "999999999999999999", "9223372036854775807",
		"12345678901234567890.5", "0", "3", "0.25"}
	pick := func() decimal.Decimal { return decimal.RequireFromString(amounts[r.IntN(len(amounts))]) }
	entity := func() string { return fmt.Sprintf("u%d", r.IntN(40)) }

	a := newAccounts()
	// The model: base, before, local and held per entity, and the holds of each entity.
	base, before, local, held := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}, map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	type heldOne struct {
		entity string
		index  uint32
		x      decimal.Decimal
	}
	var holds []heldOne
	spend := func() []report.Driver {
		var ds []report.Driver
		seen := map[string]bool{}
		for range r.IntN(8) {
			if e := entity(); !seen[e] {
				seen[e] = true
				ds = append(ds, report.Driver{Key: e, Cost: pick()})
			}
		}
		return ds
	}
	for step := range 20_000 {
		switch op := r.IntN(8); op {
		case 0, 1: // a commit here
			e, x := entity(), pick()
			a.add(a.open(e), fLocal, x)
			local[e] = local[e].Add(x)
		case 2: // a refresh begins
			a.foldLocal()
			for e, x := range local {
				before[e] = before[e].Add(x)
			}
			local = map[string]decimal.Decimal{}
		case 3: // its read since succeeds
			ds := spend()
			a.readSince(ds)
			for _, x := range ds {
				base[x.Key] = base[x.Key].Add(x.Cost)
			}
			before = map[string]decimal.Decimal{}
		case 4: // a whole read succeeds
			ds := spend()
			a.readWhole(ds)
			base = map[string]decimal.Decimal{}
			for _, x := range ds {
				base[x.Key] = x.Cost
			}
			before = map[string]decimal.Decimal{}
		case 5: // a read fails
			a.keepBefore()
			for e, x := range before {
				local[e] = local[e].Add(x)
			}
			before = map[string]decimal.Decimal{}
		case 6: // an estimate held
			e, x := entity(), pick()
			fit, fits := amountOf(x)
			holds = append(holds, heldOne{e, a.hold(e, fit, fits, x), x})
			held[e] = held[e].Add(x)
		case 7: // one released
			if len(holds) == 0 {
				continue
			}
			k := r.IntN(len(holds))
			h := holds[k]
			holds = append(holds[:k], holds[k+1:]...)
			fit, fits := amountOf(h.x)
			a.unhold(h.index, fit, fits, h.x)
			held[h.entity] = held[h.entity].Sub(h.x)
		}
		counted := 0
		for i := range 40 {
			e := fmt.Sprintf("u%d", i)
			want := base[e].Add(before[e]).Add(local[e]).Add(held[e])
			u, d, fast := a.used(e)
			if fast {
				d = u.toDecimal()
			}
			if !d.Equal(want) {
				t.Fatalf("step %d: %s uses %s, want %s", step, e, d, want)
			}
			nHolds := 0
			for _, h := range holds {
				if h.entity == e {
					nHolds++
				}
			}
			if got, ok := a.held(e); ok != (nHolds > 0) || ok && !got.Equal(held[e]) {
				t.Fatalf("step %d: %s holds %s (%v), want %s in %d holds", step, e, got, ok, held[e], nHolds)
			}
			if _, ok := a.names.lookup(e); ok {
				counted++
			} else if nHolds > 0 || !base[e].IsZero() || !before[e].IsZero() || !local[e].IsZero() {
				t.Fatalf("step %d: %s forgotten with something counted", step, e)
			}
		}
		if counted != a.names.len() {
			t.Fatalf("step %d: %d entities known to the table, %d found", step, a.names.len(), counted)
		}
	}
}

// Ensures a budget's part in a decision is the same, to the byte, whether computed over amounts
// or over decimals: the step, spent, percent and remaining, for any use, estimate, limit and
// thresholds that fit amounts.
func FuzzJudgeAmounts(f *testing.F) {
	f.Add("812.5", "0.0125", "1000", 80, 100)
	f.Add("0", "0", "0", 50, 100)
	f.Add("999.99", "0.01", "1000", 80, 100)
	f.Add("1000", "0", "1000", 80, 100)
	f.Add("0.000000000000000001", "9223372036854775", "92233720368547758.07", 95, 200)
	f.Add("12345.6789", "-1", "0.03", 1, 1)
	f.Fuzz(func(t *testing.T, used, est, limit string, degradeAt, denyAt int) {
		u, err1 := decimal.NewFromString(used)
		e, err2 := decimal.NewFromString(est)
		l, err3 := decimal.NewFromString(limit)
		if err1 != nil || err2 != nil || err3 != nil || degradeAt < 0 || denyAt < 0 || degradeAt > 10_000 || denyAt > 10_000 {
			return
		}
		ua, ok1 := amountOf(u)
		ea, ok2 := amountOf(e)
		if !ok1 || !ok2 {
			return
		}
		enf := &report.Enforce{DegradeAt: degradeAt, DenyAt: denyAt, DegradeTo: map[string]string{"big": "small"}}
		env := newEnvelope(l, enf)
		if !env.fits {
			return
		}
		fast, ok := judgeAmounts(enf, env, ua, ea, "big")
		if !ok {
			return // a sum past 64 bits: the decimals decide
		}
		if slow := judgeDecimals(enf, env, u, e, "big"); fast != slow {
			t.Fatalf("used %s, estimate %s, limit %s, degrade at %d, deny at %d:\namounts  %+v\ndecimals %+v", used, est, limit, degradeAt, denyAt, fast, slow)
		}
	})
}
