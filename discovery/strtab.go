package discovery

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// strtab is a compact, build-once map from short strings (at most 255 bytes)
// to uint64 values: every key is copied into one byte arena as
// [len u8][value u64 little-endian][key bytes], and an open-addressing hash
// table indexes the arena. The table is laid out like Go's own maps: slots
// come in groups of 8, each group with one control word holding a byte per
// slot, 0x80 when the slot is empty or the low 7 bits of the key's hash
// (h2) when it is full. A probe compares the 8 control bytes of a group at
// once (SWAR) and touches the arena only for a slot whose h2 agrees, so a
// lookup of an absent key usually reads one control word and stops at an
// empty byte. Groups are probed linearly from the one the hash's low 32
// bits pick (by multiplication, so the group count need not be a power of
// two), and the load stays at most 1/2, so that most groups of 8 hold an
// empty slot and a miss ends in the first group it reads.
//
// It costs about 9 + len(key) arena bytes and about 10 index bytes (two
// slots of a control byte and a 32-bit arena offset) per key, against
// roughly 50 bytes plus the key for a Go map[string]uint64, and a lookup
// never allocates. The seed is random per table, so that hash flooding
// with chosen keys does not work across processes.
//
// A strtab is built by one goroutine and then only read; reads are safe for
// concurrent use.
type strtab struct {
	seed  maphash.Seed
	arena []byte
	ctrl  []uint64 // one control word per group of 8 slots
	slots []uint32 // arena offset + 1, 8 per group
	n     int
}

const (
	maxKeyLen = 255
	entryHead = 9 // length byte + uint64 value

	groupSize = 8
	ctrlEmpty = 0x80
	lsbs      = 0x0101010101010101
	msbs      = 0x8080808080808080
	emptyWord = ctrlEmpty * lsbs
)

// newStrtab returns a table sized for up to n keys whose lengths add up to
// about keyBytes, with a load factor of at most 1/2.
func newStrtab(n, keyBytes int) *strtab {
	t := &strtab{seed: maphash.MakeSeed(), arena: make([]byte, 0, keyBytes+entryHead*n)}
	t.alloc((2*n + groupSize) / groupSize)
	return t
}

// alloc gives t groups empty groups (at least one).
func (t *strtab) alloc(groups int) {
	groups = max(1, groups)
	t.ctrl = make([]uint64, groups)
	for i := range t.ctrl {
		t.ctrl[i] = emptyWord
	}
	t.slots = make([]uint32, groups*groupSize)
}

// home returns the first group to probe for hash h, and h2, the 7 bits of
// h kept in a full slot's control byte.
func (t *strtab) home(h uint64) (group int, h2 uint64) {
	return int(uint64(uint32(h)) * uint64(len(t.ctrl)) >> 32), h >> 57
}

// match returns a word with the high bit set in each byte of ctrl equal to
// h2 (with rare false positives, which the key comparison rules out).
func match(ctrl, h2 uint64) uint64 {
	x := ctrl ^ (lsbs * h2)
	return (x - lsbs) &^ x & msbs
}

// probe returns the slot holding key's entry and the entry's arena offset,
// or, when key is absent, the empty slot where it belongs and -1.
func (t *strtab) probe(key string, h uint64) (slot, off int) {
	g, h2 := t.home(h)
	for {
		c := t.ctrl[g]
		for m := match(c, h2); m != 0; m &= m - 1 {
			i := g*groupSize + bits.TrailingZeros64(m)/8
			off := int(t.slots[i]) - 1
			n := int(t.arena[off])
			if n == len(key) && string(t.arena[off+entryHead:off+entryHead+n]) == key {
				return i, off
			}
		}
		if e := c & msbs; e != 0 {
			return g*groupSize + bits.TrailingZeros64(e)/8, -1
		}
		if g++; g == len(t.ctrl) {
			g = 0
		}
	}
}

// set fills the empty slot i with the entry at off for hash h.
func (t *strtab) set(i int, h uint64, off int) {
	_, h2 := t.home(h)
	shift := uint(i%groupSize) * 8
	g := i / groupSize
	t.ctrl[g] = t.ctrl[g]&^(0xff<<shift) | h2<<shift
	t.slots[i] = uint32(off + 1)
}

// find returns the arena offset of key's entry, or -1.
func (t *strtab) find(key string) int {
	if t == nil || len(t.ctrl) == 0 {
		return -1
	}
	_, off := t.probe(key, maphash.String(t.seed, key))
	return off
}

// get returns key's value.
func (t *strtab) get(key string) (uint64, bool) {
	off := t.find(key)
	if off < 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(t.arena[off+1:]), true
}

// put adds key with value v. If key is present already, put leaves it
// alone and returns the arena offset of the existing entry and true;
// otherwise it returns the new entry's offset and false. Keys longer than
// maxKeyLen must be refused by the caller. The slot table grows when the
// caller puts more keys than it sized t for.
func (t *strtab) put(key string, v uint64) (int, bool) {
	if !t.fits() {
		t.grow()
	}
	h := maphash.String(t.seed, key)
	i, off := t.probe(key, h)
	if off >= 0 {
		return off, true
	}
	off = len(t.arena)
	t.arena = append(t.arena, byte(len(key)))
	t.arena = binary.LittleEndian.AppendUint64(t.arena, v)
	t.arena = append(t.arena, key...)
	t.set(i, h, off)
	t.n++
	return off, false
}

// value and setValue read and write the value of the entry at off.
func (t *strtab) value(off int) uint64 { return binary.LittleEndian.Uint64(t.arena[off+1:]) }

func (t *strtab) setValue(off int, v uint64) { binary.LittleEndian.PutUint64(t.arena[off+1:], v) }

// key returns the key of the entry at off (a copy).
func (t *strtab) key(off int) string {
	n := int(t.arena[off])
	return string(t.arena[off+entryHead : off+entryHead+n])
}

// each calls f with the offset of every entry, in insertion order.
func (t *strtab) each(f func(off int)) {
	for off := 0; off < len(t.arena); off += entryHead + int(t.arena[off]) {
		f(off)
	}
}

// fits reports whether t can take one more key without exceeding its
// designed load of 1/2.
func (t *strtab) fits() bool { return (t.n+1)*2 <= len(t.slots) }

// grow doubles the slot table and re-inserts every entry.
func (t *strtab) grow() {
	t.alloc(2 * len(t.ctrl))
	t.each(func(off int) {
		n := int(t.arena[off])
		key := t.arena[off+entryHead : off+entryHead+n]
		h := maphash.Bytes(t.seed, key)
		g, _ := t.home(h)
		for t.ctrl[g]&msbs == 0 {
			if g++; g == len(t.ctrl) {
				g = 0
			}
		}
		t.set(g*groupSize+bits.TrailingZeros64(t.ctrl[g]&msbs)/8, h, off)
	})
}

// compact drops unused arena capacity when it wastes more than an eighth.
func (t *strtab) compact() {
	if c := cap(t.arena); c-len(t.arena) > c/8 {
		t.arena = append(make([]byte, 0, len(t.arena)), t.arena...)
	}
}

// bytes returns the memory t holds.
func (t *strtab) bytes() int {
	if t == nil {
		return 0
	}
	return cap(t.arena) + 8*len(t.ctrl) + 4*len(t.slots)
}
