package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync"
	"testing"
)

// rsaFloor is one RSA-2048 PKCS #1 v1.5 signature over a SHA-256 digest:
// the one public-key operation a signed SAML assertion or an RS256 ID
// token needs. Every ratio in README.md is to its time in the same run.
type rsaFloor struct {
	pub      *rsa.PublicKey
	digest   []byte
	sig, bad []byte
}

var rsaFloorOnce = sync.OnceValues(func() (*rsaFloor, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("the signed content of an assertion or an ID token"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, err
	}
	bad := append([]byte(nil), sig...)
	bad[len(bad)/2] ^= 1
	return &rsaFloor{pub: &key.PublicKey, digest: sum[:], sig: sig, bad: bad}, nil
})

func newRSAFloor(tb testing.TB) *rsaFloor {
	tb.Helper()
	f, err := rsaFloorOnce()
	if err != nil {
		tb.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, f.digest, f.sig); err != nil {
		tb.Fatalf("the valid signature does not verify: %v", err)
	}
	if rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, f.digest, f.bad) == nil {
		tb.Fatal("a tampered signature verifies")
	}
	return f
}

func TestRSAFloorAcceptsAndRefuses(t *testing.T) { newRSAFloor(t) }

// BenchmarkRSAVerify is the floor: one RSA-2048 verification.
func BenchmarkRSAVerify(b *testing.B) { rsaVerify(b) }

func rsaVerify(b *testing.B) {
	f := newRSAFloor(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, f.digest, f.sig); err != nil {
			b.Fatal(err)
		}
	}
}

// floorHere measures the floor again as the first sub-benchmark of a
// group, moments before the group's own: on a shared machine the group's
// ratios are then taken against the floor of the same minute.
func floorHere(b *testing.B) { b.Run("rsa-floor", rsaVerify) }

// mustRefuse fails tb when a library accepted (err == nil) what it must
// refuse, and logs the refusal in tests (not in benchmarks, whose output
// the report parses).
func mustRefuse(tb testing.TB, lib, what string, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s accepts %s", lib, what)
	}
	if _, ok := tb.(*testing.T); ok {
		tb.Logf("%s refuses %s: %v", lib, what, err)
	}
}
