package sso

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// SealKeySize is the size in bytes of a [Sealer] key.
const SealKeySize = chacha20poly1305.KeySize

// maxSealed bounds what Open decodes: a sealed value lives in a cookie.
const maxSealed = 8 << 10

// Sealer encrypts and authenticates small values that the application
// hands to the browser and must get back unchanged and unread: pending
// logins and the login binding. It uses XChaCha20-Poly1305, whose random
// 192-bit nonces stay safe for any number of values under one key.
//
// A Sealer holds one or more keys: the first seals, every one opens, so
// keys rotate without breaking the values in flight. Put the new key
// first, keep the old one until the longest-lived value it sealed has
// expired (a pending login lasts minutes), then drop it. Replicas of an
// application share the same keys.
//
// A Sealer is safe for concurrent use.
type Sealer struct {
	keys []sealKey
	now  func() time.Time
}

type sealKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// NewSealer returns a Sealer over keys, each SealKeySize random bytes (see
// [NewSealKey]); the first seals. now is the clock that judges expiry
// (time.Now when nil). Keys of another size, or none, are refused with
// ReasonInvalidConfig.
func NewSealer(now func() time.Time, keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, &Error{Op: "sso.NewSealer", Reason: ReasonInvalidConfig, Detail: "no sealing key: pass at least one key of 32 random bytes (sso.NewSealKey)"}
	}
	if now == nil {
		now = time.Now
	}
	s := &Sealer{now: now}
	for i, k := range keys {
		if len(k) != SealKeySize {
			return nil, &Error{Op: "sso.NewSealer", Reason: ReasonInvalidConfig,
				Detail: "sealing key " + strconv.Itoa(i+1) + " has " + strconv.Itoa(len(k)) + " bytes; each key must be exactly 32 random bytes"}
		}
		aead, err := chacha20poly1305.NewX(k)
		if err != nil {
			return nil, &Error{Op: "sso.NewSealer", Reason: ReasonInvalidConfig, Detail: "unusable sealing key", Err: err}
		}
		var sk sealKey
		sum := sha256.Sum256(append([]byte("ssokit seal key id\x00"), k...))
		copy(sk.id[:], sum[:])
		sk.aead = aead
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// NewSealKey returns SealKeySize random bytes for [NewSealer].
func NewSealKey() []byte {
	k := make([]byte, SealKeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// Seal encrypts value for purpose until expires and returns it as
// unpadded base64url. Open accepts it only with the same purpose and
// before expires, so a value sealed for one use (or one pending login)
// cannot stand in for another.
func (s *Sealer) Seal(purpose string, value []byte, expires time.Time) (string, error) {
	k := s.keys[0]
	out := make([]byte, 0, len(k.id)+chacha20poly1305.NonceSizeX+8+len(value)+chacha20poly1305.Overhead)
	out = append(out, k.id[:]...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return "", &Error{Op: "sso.Sealer.Seal", Reason: ReasonInternal, Detail: "random source failed", Err: err}
	}
	out = append(out, nonce...)
	plain := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(plain, uint64(expires.Unix()))
	plain = append(plain, value...)
	out = k.aead.Seal(out, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the value sealed for purpose. It fails with
// ReasonStateMissing when sealed was not made by this Sealer's keys for
// this purpose (forged, altered, sealed under a dropped key, or for
// another use) or has expired.
func (s *Sealer) Open(purpose, sealed string) ([]byte, error) {
	bad := func(detail string) ([]byte, error) {
		return nil, &Error{Op: "sso.Sealer.Open", Reason: ReasonStateMissing, Detail: detail}
	}
	if len(sealed) > maxSealed {
		return bad("the sealed value is too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < 4+chacha20poly1305.NonceSizeX+8+chacha20poly1305.Overhead {
		return bad("the sealed value is not one this application made")
	}
	var k *sealKey
	for i := range s.keys {
		if [4]byte(raw[:4]) == s.keys[i].id {
			k = &s.keys[i]
			break
		}
	}
	if k == nil {
		return bad("the value was sealed with a key this application no longer has (or forged)")
	}
	nonce := raw[4 : 4+chacha20poly1305.NonceSizeX]
	plain, err := k.aead.Open(nil, nonce, raw[4+chacha20poly1305.NonceSizeX:], []byte(purpose))
	if err != nil {
		return bad("the sealed value was altered, forged or sealed for another use")
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(plain[:8])), 0)
	if !s.now().Before(exp) {
		return bad("the sealed value expired at " + exp.UTC().Format(time.RFC3339))
	}
	return plain[8:], nil
}
