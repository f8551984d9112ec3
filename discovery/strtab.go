package discovery

import (
	"encoding/binary"
	"hash/maphash"
)

// strtab is a compact, build-once map from short strings (at most 255 bytes)
// to uint64 values: every key is copied into one byte arena as
// [len u8][value u64 little-endian][key bytes], and an open-addressing hash
// table with linear probing holds, per slot, the entry's arena offset + 1 in
// the low 32 bits and the high 32 bits of the key's hash in the high 32
// bits, so that a probe touches the arena only when the hash bits agree.
// The slot count need not be a power of two (the low 32 hash bits are mapped
// onto it by multiplication), so the load stays between 1/2 and 3/4.
//
// It costs about 9 + len(key) arena bytes and at most 16 slot bytes per
// key, against roughly 50 bytes plus the key for a Go map[string]uint64,
// and a lookup never allocates. The seed is random per table, so that hash
// flooding with chosen keys does not work across processes.
//
// A strtab is built by one goroutine and then only read; reads are safe for
// concurrent use.
type strtab struct {
	seed  maphash.Seed
	arena []byte
	slots []uint64
	n     int
}

const (
	maxKeyLen = 255
	entryHead = 9 // length byte + uint64 value
)

// newStrtab returns a table sized for up to n keys whose lengths add up to
// about keyBytes, with a load factor of at most 3/4.
func newStrtab(n, keyBytes int) *strtab {
	return &strtab{
		seed:  maphash.MakeSeed(),
		arena: make([]byte, 0, keyBytes+entryHead*n),
		slots: make([]uint64, max(8, n+n/3+1)),
	}
}

// home returns the first slot to probe for hash h.
func (t *strtab) home(h uint64) int {
	return int(uint64(uint32(h)) * uint64(len(t.slots)) >> 32)
}

// probe returns the slot holding key's entry and the entry's arena offset,
// or, when key is absent, the empty slot where it belongs and -1.
func (t *strtab) probe(key string, h uint64) (slot, off int) {
	tag := h >> 32
	for i := t.home(h); ; {
		s := t.slots[i]
		if s == 0 {
			return i, -1
		}
		if s>>32 == tag {
			off := int(uint32(s)) - 1
			n := int(t.arena[off])
			if n == len(key) && string(t.arena[off+entryHead:off+entryHead+n]) == key {
				return i, off
			}
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// find returns the arena offset of key's entry, or -1.
func (t *strtab) find(key string) int {
	if t == nil || len(t.slots) == 0 {
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
	t.slots[i] = h>>32<<32 | uint64(off+1)
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
// designed load of 3/4.
func (t *strtab) fits() bool { return (t.n+1)*4 <= len(t.slots)*3 }

// grow doubles the slot table and re-inserts every entry.
func (t *strtab) grow() {
	t.slots = make([]uint64, max(8, 2*len(t.slots)))
	t.each(func(off int) {
		n := int(t.arena[off])
		h := maphash.Bytes(t.seed, t.arena[off+entryHead:off+entryHead+n])
		i := t.home(h)
		for t.slots[i] != 0 {
			if i++; i == len(t.slots) {
				i = 0
			}
		}
		t.slots[i] = h>>32<<32 | uint64(off+1)
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
	return cap(t.arena) + 8*len(t.slots)
}
