package collect

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// Ensures the table numbers entities densely, finds them by string or bytes, names them, and
// reuses a removed entity's index for the next one.
func TestTableBasics(t *testing.T) {
	var tab entityTable
	if _, ok := tab.lookup("a"); ok || tab.len() != 0 {
		t.Fatal("the zero table is not empty")
	}
	for want, s := range []string{"user-1", "user-2", "", strings.Repeat("é", 300)} {
		i, added := tab.add(s)
		if i != uint32(want) || !added {
			t.Fatalf("add(%q) = %d, %v; want %d, true", s, i, added, want)
		}
	}
	if i, added := tab.add("user-2"); i != 1 || added {
		t.Errorf("add again = %d, %v; want 1, false", i, added)
	}
	if i, ok := tab.lookup(""); i != 2 || !ok {
		t.Errorf(`lookup("") = %d, %v`, i, ok)
	}
	if i, ok := tab.lookupBytes([]byte("user-1")); i != 0 || !ok {
		t.Errorf("lookupBytes = %d, %v", i, ok)
	}
	if _, ok := tab.lookup("user-3"); ok {
		t.Error("found an entity never added")
	}
	if got := tab.name(3); got != strings.Repeat("é", 300) {
		t.Errorf("name(3) = %q", got)
	}
	if got := string(tab.appendName([]byte(`"`), 1)); got != `"user-2` {
		t.Errorf("appendName = %q", got)
	}
	if tab.len() != 4 || tab.span() != 4 {
		t.Errorf("len %d, span %d", tab.len(), tab.span())
	}

	tab.remove(1)
	tab.remove(1) // again: nothing
	tab.remove(99)
	if _, ok := tab.lookup("user-2"); ok || tab.live(1) || tab.len() != 3 || tab.span() != 4 {
		t.Fatalf("after remove: live %v, len %d, span %d", tab.live(1), tab.len(), tab.span())
	}
	if i, added := tab.add("user-5"); i != 1 || !added {
		t.Errorf("add after remove = %d, %v; want the freed 1", i, added)
	}
	if got := tab.name(1); got != "user-5" {
		t.Errorf("name(1) = %q", got)
	}

	tab.reset()
	if _, ok := tab.lookup("user-1"); ok || tab.len() != 0 || tab.span() != 0 {
		t.Fatal("reset kept entities")
	}
	if i, added := tab.add("user-1"); i != 0 || !added {
		t.Errorf("add after reset = %d, %v", i, added)
	}
}

// Ensures names whose hashes collide, wholly or in their home slot, keep their own indexes
// through additions, removals, growth and compaction: the table compares names, not hashes.
func TestTableCollisions(t *testing.T) {
	for _, mask := range []uint64{1, 3 << 62, 0xF000_0000_0000_0001} {
		t.Run(fmt.Sprintf("%#x", mask), func(t *testing.T) {
			tab := entityTable{testMask: mask}
			names := make([]string, 1000)
			for k := range names {
				names[k] = fmt.Sprintf("user-%d", k)
				if i, added := tab.add(names[k]); i != uint32(k) || !added {
					t.Fatalf("add(%q) = %d, %v", names[k], i, added)
				}
			}
			for k := 0; k < len(names); k += 2 {
				tab.remove(uint32(k))
			}
			for k, s := range names {
				i, ok := tab.lookup(s)
				if ok != (k%2 == 1) || ok && i != uint32(k) {
					t.Fatalf("lookup(%q) = %d, %v", s, i, ok)
				}
				if ok && tab.name(i) != s {
					t.Fatalf("name(%d) = %q, want %q", i, tab.name(i), s)
				}
			}
			if _, ok := tab.lookup("user-1000"); ok {
				t.Error("found an entity never added")
			}
		})
	}
}

// Ensures the table is a map[string]uint32 with dense indexes, over long random sequences of
// additions, removals (with compaction) and lookups, with and without colliding hashes.
func TestTableRandom(t *testing.T) {
	for _, mask := range []uint64{0, 7, 3 << 62} {
		t.Run(fmt.Sprintf("%#x", mask), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, mask))
			ops := make([]byte, 200_000)
			for i := range ops {
				ops[i] = byte(r.Uint32())
			}
			checkTable(t, mask, ops)
		})
	}
}

// FuzzEntityTable ensures the table behaves as a map[string]uint32 with dense indexes, and
// keeps its arena at most half garbage, under any sequence of operations.
func FuzzEntityTable(f *testing.F) {
	f.Add(uint8(0), []byte{0, 1, 0, 2, 2, 1, 3, 1, 0, 1})
	f.Add(uint8(1), []byte{0, 1, 0, 2, 0, 3, 2, 2, 2, 1, 3, 2, 0, 2})
	f.Add(uint8(2), []byte("add remove lookup and so on, at random"))
	f.Fuzz(func(t *testing.T, mask uint8, ops []byte) {
		checkTable(t, []uint64{0, 1, 7, 3 << 62}[mask%4], ops)
	})
}

// tableNames are the names checkTable adds: of every length up to 600 bytes, many with a
// common prefix, one empty.
var tableNames = func() []string {
	names := []string{""}
	for k := range 63 {
		names = append(names, fmt.Sprintf("user-%d", k), strings.Repeat("x", k*k%600)+fmt.Sprint(k))
	}
	return names
}()

// checkTable runs ops on a table whose hashes are masked with mask, two bytes an operation (what,
// and which name or index), against a map.
func checkTable(t *testing.T, mask uint64, ops []byte) {
	t.Helper()
	tab := entityTable{testMask: mask}
	model := map[string]uint32{}
	for len(ops) >= 2 {
		op, x := ops[0], int(ops[1])
		ops = ops[2:]
		name := tableNames[x%len(tableNames)]
		switch op % 8 {
		case 0, 1, 2: // add
			span, free := tab.span(), len(tab.free)
			i, added := tab.add(name)
			if want, ok := model[name]; ok {
				if i != want || added {
					t.Fatalf("add(%q) = %d, %v; has %d", name, i, added, want)
				}
				break
			}
			if !added || int(i) >= tab.span() || inModel(model, i) {
				t.Fatalf("add(%q) = %d, %v, span %d: not a free index", name, i, added, tab.span())
			}
			if free > 0 && tab.span() != span || free == 0 && int(i) != span {
				t.Fatalf("add(%q) = %d, span %d then %d, with %d free: not dense", name, i, span, tab.span(), free)
			}
			model[name] = i
		case 3, 4: // remove an entity, or an index that may be free
			i := uint32(x % (tab.span() + 1))
			if op%8 == 3 {
				if j, ok := model[name]; ok {
					i = j
				}
			}
			tab.remove(i)
			for s, j := range model {
				if j == i {
					delete(model, s)
				}
			}
		case 5, 6: // lookup
			i, ok := tab.lookup(name)
			want, wantOK := model[name]
			if ok != wantOK || i != want {
				t.Fatalf("lookup(%q) = %d, %v; want %d, %v", name, i, ok, want, wantOK)
			}
		case 7:
			if x == 0 {
				tab.reset()
				clear(model)
			}
		}
		if tab.garbage*2 > len(tab.arena) {
			t.Fatalf("arena of %d bytes, %d garbage", len(tab.arena), tab.garbage)
		}
	}
	if tab.len() != len(model) {
		t.Fatalf("len %d, want %d", tab.len(), len(model))
	}
	for s, i := range model {
		if j, ok := tab.lookupBytes([]byte(s)); !ok || j != i || tab.name(i) != s {
			t.Fatalf("lookup(%q) = %d, %v, named %q; want %d", s, j, ok, tab.name(i), i)
		}
	}
	live := 0
	for i := range tab.span() {
		if tab.live(uint32(i)) {
			live++
			if model[tab.name(uint32(i))] != uint32(i) {
				t.Fatalf("index %d is %q, not in the model", i, tab.name(uint32(i)))
			}
		}
	}
	if live != len(model) {
		t.Fatalf("%d indexes in use, want %d", live, len(model))
	}
}

func inModel(model map[string]uint32, i uint32) bool {
	for _, j := range model {
		if j == i {
			return true
		}
	}
	return false
}

// Ensures finding an entity, by string or bytes, adding one already there and writing a name
// allocate nothing.
func TestTableAllocs(t *testing.T) {
	var tab entityTable
	for k := range 1000 {
		tab.add(fmt.Sprintf("user-%d", k))
	}
	name := "user-500"
	long := strings.Repeat("u", 600)
	tab.add(long)
	b := []byte("user-501")
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		i, _ := tab.lookup(name)
		j, _ := tab.lookupBytes(b)
		k, _ := tab.add(long)
		_, _ = tab.lookup("nobody")
		buf = tab.appendName(tab.appendName(tab.appendName(buf[:0], i), j), k)
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}

// Ensures the table's memory holds no pointer for the garbage collector to follow: each field
// is a number, or a slice or map of pointer-free values.
func TestTableWithoutPointers(t *testing.T) {
	if bad := scannedFields(reflect.TypeFor[entityTable]()); len(bad) > 0 {
		t.Errorf("fields the garbage collector scans: %v", bad)
	}
	if bad := scannedFields(reflect.TypeFor[struct {
		a []uint32
		b []string
		c map[uint64]*int
	}]()); len(bad) != 2 {
		t.Errorf("scannedFields missed a pointer: %v", bad)
	}
}

// scannedFields are the fields of struct ty whose memory, besides the headers of slices and
// maps, the garbage collector must scan.
func scannedFields(ty reflect.Type) []string {
	var bad []string
	for i := range ty.NumField() {
		f := ty.Field(i)
		free := pointerFree(f.Type)
		switch f.Type.Kind() {
		case reflect.Slice:
			free = pointerFree(f.Type.Elem())
		case reflect.Map:
			free = pointerFree(f.Type.Key()) && pointerFree(f.Type.Elem())
		}
		if !free {
			bad = append(bad, f.Name)
		}
	}
	return bad
}

var sinkIndex uint32

// BenchmarkTableLookup is finding one of 100,000 entities in the table and in a map.
func BenchmarkTableLookup(b *testing.B) {
	const n = 100_000
	names := make([]string, n)
	var tab entityTable
	m := make(map[string]uint32, n)
	for k := range names {
		names[k] = fmt.Sprintf("user-%06d", k)
		i, _ := tab.add(names[k])
		m[names[k]] = i
	}
	b.Run("table", func(b *testing.B) {
		k := 0
		for b.Loop() {
			sinkIndex, _ = tab.lookup(names[k])
			k = (k + 7919) % n // not in order: as requests come, out of the cache
		}
	})
	b.Run("map", func(b *testing.B) {
		k := 0
		for b.Loop() {
			sinkIndex = m[names[k]]
			k = (k + 7919) % n // not in order: as requests come, out of the cache
		}
	})
}

// BenchmarkEntitySpendGC is a probe, not a timing: what a forced collection costs with the spend
// of 100,000 entities held as decide.go holds it (map[string]decimal.Decimal) and as an
// entityTable with a []amount, beside a heap without either. It reports the collector's mark
// CPU per collection (runtime/metrics' assist, dedicated and idle mark classes), the heap it
// scanned and the heap live. ns/op is the wall time of runtime.GC. Run with -benchtime 20x.
func BenchmarkEntitySpendGC(b *testing.B) {
	const n = 100_000
	name := func(k int) string { return fmt.Sprintf("user-%06d", k) }
	// Spends as a read of PostgreSQL's numerics scans them: decimals parsed from text.
	cost := func(k int) decimal.Decimal {
		return decimal.RequireFromString(fmt.Sprintf("%d.%06d", k%500, k*7919%1_000_000))
	}
	b.Run("none", func(b *testing.B) {
		measureGC(b)
	})
	b.Run("map", func(b *testing.B) {
		m := make(map[string]decimal.Decimal)
		for k := range n {
			m[name(k)] = cost(k)
		}
		measureGC(b)
		runtime.KeepAlive(m)
	})
	b.Run("table", func(b *testing.B) {
		var tab entityTable
		var spend []amount
		for k := range n {
			i, _ := tab.add(name(k))
			a, ok := amountOf(cost(k))
			if !ok {
				b.Fatal("a cost past 64 bits")
			}
			spend = append(spend[:i], a)
		}
		measureGC(b)
		runtime.KeepAlive(&tab)
		runtime.KeepAlive(spend)
	})
}

func measureGC(b *testing.B) {
	runtime.GC()
	runtime.GC() // what building left is gone
	samples := []metrics.Sample{
		{Name: "/cpu/classes/gc/mark/assist:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
		{Name: "/gc/scan/heap:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	mark := func() float64 {
		metrics.Read(samples)
		return samples[0].Value.Float64() + samples[1].Value.Float64() + samples[2].Value.Float64()
	}
	before := mark()
	b.ResetTimer()
	for range b.N {
		runtime.GC()
	}
	b.StopTimer()
	after := mark()
	b.ReportMetric((after-before)/float64(b.N)*1e3, "mark-ms/GC")
	b.ReportMetric(float64(samples[3].Value.Uint64())/1e6, "scanned-MB")
	b.ReportMetric(float64(samples[4].Value.Uint64())/1e6, "live-MB")
}
