package discovery

import (
	"encoding/binary"
	"hash/maphash"
	"strings"
)

// A Table keeps every account's and connection's strings (IDs, names,
// display names, logos, modules, issuers) once, in one Go string: each is
// written as its length (a uvarint) followed by its bytes, and the records
// that need them hold the offset of their first field. A Choice is read
// from there on demand as substrings, so building one allocates nothing,
// and the table holds no string headers per connection.

// textWriter writes length-prefixed fields into a strings.Builder that was
// grown to the exact size beforehand (see fieldLen).
type textWriter struct{ strings.Builder }

// field writes s with its length.
func (w *textWriter) field(s string) {
	var buf [binary.MaxVarintLen64]byte
	w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
	w.WriteString(s)
}

// off returns the offset of the next field.
func (w *textWriter) off() uint32 { return uint32(w.Len()) }

// fieldLen returns the bytes field(s) writes.
func fieldLen(s string) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(len(s))) + len(s)
}

// field returns the field of text at off and the offset after it.
func field(text string, off int) (string, int) {
	var n uint64
	for shift := uint(0); ; shift += 7 {
		b := text[off]
		off++
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
	}
	end := off + int(n)
	return text[off:end], end
}

// keyIndex is an open-addressing hash index, with linear probing, from
// strings kept elsewhere (a Table's text) to the dense record numbers
// 0..n-1 that locate them. Each slot holds the high 32 bits of the key's
// hash in its high half and the record number + 1 in its low half, so that
// a probe reads a key only when the hash bits agree. The index is sized
// once for the number of keys it will hold, at a load of at most 3/4, and
// costs about 11 bytes per key against roughly 50 plus a string header for
// a Go map. The seed is random per index.
//
// The key of record i is keyOf(i); every method takes keyOf, which must
// read keys that no longer change. Reads are safe for concurrent use once
// built, and allocate nothing.
type keyIndex struct {
	seed  maphash.Seed
	slots []uint64
}

// newKeyIndex returns an index for up to n keys.
func newKeyIndex(n int) keyIndex {
	return keyIndex{seed: maphash.MakeSeed(), slots: make([]uint64, n+n/3+1)}
}

// probe returns the slot holding key and its record number, or, when key
// is absent, the empty slot where it belongs and -1.
func (x *keyIndex) probe(key string, h uint64, keyOf func(uint32) string) (slot int, rec int64) {
	tag := h >> 32
	for i := int(uint64(uint32(h)) * uint64(len(x.slots)) >> 32); ; {
		s := x.slots[i]
		if s == 0 {
			return i, -1
		}
		if s>>32 == tag && keyOf(uint32(s)-1) == key {
			return i, int64(uint32(s) - 1)
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// get returns the record number of key.
func (x *keyIndex) get(key string, keyOf func(uint32) string) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	_, rec := x.probe(key, maphash.String(x.seed, key), keyOf)
	return uint32(rec), rec >= 0
}

// add indexes record i, whose key is key. When key is indexed already it
// leaves the index alone and returns the record that has it and true. The
// caller adds at most the n keys the index was made for.
func (x *keyIndex) add(key string, i uint32, keyOf func(uint32) string) (uint32, bool) {
	h := maphash.String(x.seed, key)
	slot, rec := x.probe(key, h, keyOf)
	if rec >= 0 {
		return uint32(rec), true
	}
	x.slots[slot] = h>>32<<32 | uint64(i+1)
	return i, false
}

// bytes returns the memory x holds.
func (x *keyIndex) bytes() int { return 8 * len(x.slots) }
