package collect

import (
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// entityTable numbers entities (user ids, org ids, tag values: text of up to a kilobyte) with
// dense indexes, reused once removed, so that what the Decider keeps per entity can sit in
// slices indexed by them ([]amount) instead of in maps keyed by strings.
//
// Nothing in it is a pointer the garbage collector follows: the names lie back to back in one
// []byte, each index's place in it is in a slice of numbers, and the index of a name is found
// by open addressing over a []uint64. A map[string]… of 100,000 entities is 100,000 strings
// that every collection marks, one by one; this is four objects the collector never looks
// into, whatever the number of entities.
//
// Lookups compare the names' bytes, so two names whose hashes collide keep two indexes. The zero
// value is an empty table. Not safe for concurrent use.
type entityTable struct {
	entries []tableEntry // by index
	// arena holds the names of entries back to back, and removed ones until compact drops
	// them; garbage is how many of its bytes are removed names.
	arena   []byte
	garbage int
	// slots is the hash table, linear probing, kept at most half full: 0 is empty, else the
	// high 32 bits of a name's hash (whose leading bits are its home slot) and its index + 1.
	// Removal shifts the slots after back, so no slot is a tombstone.
	slots []uint64
	shift uint8    // 64 − log2(len(slots)): hash >> shift is a home slot
	free  []uint32 // removed indexes, reused last removed first
	count int
	seed  maphash.Seed
	// testMask, when not 0, is and-ed to every hash: a test makes names collide with it.
	testMask uint64
}

type tableEntry struct {
	off uint64 // of the name in arena
	n   uint32 // the length of the name; removedEntry when the index is free
}

const removedEntry = math.MaxUint32

// minTableSlots is the size of a table's first slots.
const minTableSlots = 16

// lookup is the index of s, if s is in the table. It allocates nothing.
func (t *entityTable) lookup(s string) (uint32, bool) {
	if t.count == 0 {
		return 0, false
	}
	return t.find(t.hash(s), s)
}

// find is lookup of s, whose hash is h.
func (t *entityTable) find(h uint64, s string) (uint32, bool) {
	for j, m := h>>t.shift, uint64(len(t.slots)-1); ; j = (j + 1) & m {
		v := t.slots[j]
		if v == 0 {
			return 0, false
		}
		if v>>32 == h>>32 && t.is(uint32(v)-1, s) {
			return uint32(v) - 1, true
		}
	}
}

// lookupBytes is lookup of b's text. It allocates nothing.
func (t *entityTable) lookupBytes(b []byte) (uint32, bool) {
	// lookup neither keeps s nor outlives the call: the string may share b's bytes.
	return t.lookup(unsafe.String(unsafe.SliceData(b), len(b)))
}

// add is the index of s, added to the table if it was not there (then added is true).
func (t *entityTable) add(s string) (i uint32, added bool) {
	if t.seed == (maphash.Seed{}) {
		t.seed = maphash.MakeSeed()
	}
	h := t.hash(s)
	if t.count > 0 {
		if i, ok := t.find(h, s); ok {
			return i, false
		}
	}
	if len(t.free) == 0 && len(t.entries) >= 1<<31 {
		// An index + 1 must fit a slot's low 32 bits, and the number of slots (2^32 for 2^31
		// entities) the 32 bits of hash a slot keeps.
		panic("collect: more than 2^31 entities")
	}
	if uint64(len(s)) >= removedEntry {
		panic("collect: an entity of 4 GiB")
	}
	if (t.count+1)*2 > len(t.slots) {
		t.grow()
	}
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		i = uint32(len(t.entries))
		t.entries = append(t.entries, tableEntry{})
	}
	t.entries[i] = tableEntry{off: uint64(len(t.arena)), n: uint32(len(s))}
	t.arena = append(t.arena, s...)
	t.place(h&^math.MaxUint32 | (uint64(i) + 1))
	t.count++
	return i, true
}

// remove frees index i for the next entity added; it does nothing if i is not in use.
func (t *entityTable) remove(i uint32) {
	if !t.live(i) {
		return
	}
	e := t.entries[i]
	h := t.hashBytes(t.arena[e.off : e.off+uint64(e.n)])
	m := uint64(len(t.slots) - 1)
	j := h >> t.shift
	for uint32(t.slots[j]) != i+1 {
		j = (j + 1) & m
	}
	// Backward shift: each slot after j in its run moves into j if j lies between its home
	// and it (cyclically), so that every name stays reachable from its home without a gap.
	for k := (j + 1) & m; t.slots[k] != 0; k = (k + 1) & m {
		home := t.slots[k] >> 32 >> (t.shift - 32)
		if (k-home)&m >= (k-j)&m {
			t.slots[j], j = t.slots[k], k
		}
	}
	t.slots[j] = 0
	t.entries[i] = tableEntry{n: removedEntry}
	t.free = append(t.free, i)
	t.count--
	t.garbage += int(e.n)
	if t.count == 0 {
		t.arena, t.garbage = t.arena[:0], 0
	} else if t.garbage > len(t.arena)/2 {
		t.compact()
	}
}

// live reports whether index i is in use.
func (t *entityTable) live(i uint32) bool {
	return int(i) < len(t.entries) && t.entries[i].n != removedEntry
}

// name is the entity of index i, which must be in use.
func (t *entityTable) name(i uint32) string {
	return string(t.nameBytes(i))
}

// appendName appends the entity of index i, which must be in use, to dst.
func (t *entityTable) appendName(dst []byte, i uint32) []byte {
	return append(dst, t.nameBytes(i)...)
}

func (t *entityTable) nameBytes(i uint32) []byte {
	e := t.entries[i]
	if e.n == removedEntry {
		panic("collect: the name of a removed entity")
	}
	return t.arena[e.off : e.off+uint64(e.n) : e.off+uint64(e.n)]
}

// len is the number of entities in the table.
func (t *entityTable) len() int { return t.count }

// span bounds the indexes in use: each is below it. Slices indexed by them need that length.
func (t *entityTable) span() int { return len(t.entries) }

// reset empties the table, keeping its memory for the next entities.
func (t *entityTable) reset() {
	clear(t.slots)
	t.entries, t.arena, t.free = t.entries[:0], t.arena[:0], t.free[:0]
	t.count, t.garbage = 0, 0
}

func (t *entityTable) hash(s string) uint64 {
	return t.masked(maphash.String(t.seed, s))
}

// hashBytes is hash of b's text (maphash hashes a string and its bytes alike).
func (t *entityTable) hashBytes(b []byte) uint64 {
	return t.masked(maphash.Bytes(t.seed, b))
}

func (t *entityTable) masked(h uint64) uint64 {
	if t.testMask != 0 {
		h &= t.testMask
	}
	return h
}

// is reports whether index i's name is s.
func (t *entityTable) is(i uint32, s string) bool {
	e := t.entries[i]
	return uint64(len(s)) == uint64(e.n) && string(t.arena[e.off:e.off+uint64(e.n)]) == s
}

// place puts slot value v (hash's high half, index + 1) at the first empty slot from its home.
func (t *entityTable) place(v uint64) {
	m := uint64(len(t.slots) - 1)
	j := v >> 32 >> (t.shift - 32)
	for t.slots[j] != 0 {
		j = (j + 1) & m
	}
	t.slots[j] = v
}

// reserve makes room for n more entities whose names take bytes in all, so that a whole read
// of 100,000 entities adds them without growing each slice a dozen times (which allocated twice
// what the table ends with).
func (t *entityTable) reserve(n, bytes int) {
	t.entries = slices.Grow(t.entries, max(n-len(t.free), 0))
	t.arena = slices.Grow(t.arena, bytes)
	for (t.count+n)*2 > len(t.slots) {
		t.grow()
	}
}

// grow doubles the slots. A slot holds the high half of its name's hash, which has its home in
// any table of up to 2^32 slots: no name is hashed again.
func (t *entityTable) grow() {
	old := t.slots
	n := max(2*len(old), minTableSlots)
	t.slots, t.shift = make([]uint64, n), uint8(64-bits.TrailingZeros(uint(n)))
	for _, v := range old {
		if v != 0 {
			t.place(v)
		}
	}
}

// compact drops the removed names from the arena, once they take more than half of it: each
// byte copied here was preceded by at least one removed, so removing costs as much again at most.
func (t *entityTable) compact() {
	arena := make([]byte, 0, len(t.arena)-t.garbage)
	for i := range t.entries {
		e := &t.entries[i]
		if e.n == removedEntry {
			continue
		}
		off := uint64(len(arena))
		arena = append(arena, t.arena[e.off:e.off+uint64(e.n)]...)
		e.off = off
	}
	t.arena, t.garbage = arena, 0
}
