package discovery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

func TestStrtab(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		// Sized for n/4 keys, so that growing is exercised too.
		st := newStrtab(n/4, 0)
		for i := 0; i < n; i++ {
			if _, dup := st.put(fmt.Sprintf("k%d.example", i), uint64(i)); dup {
				t.Fatalf("n=%d: fresh key %d reported present", n, i)
			}
		}
		if st.n != n {
			t.Fatalf("n=%d: count %d", n, st.n)
		}
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%d.example", i)
			if v, ok := st.get(k); !ok || v != uint64(i) {
				t.Fatalf("n=%d: get(%q) = %d, %v", n, k, v, ok)
			}
			off, dup := st.put(k, 99)
			if !dup || st.value(off) != uint64(i) || st.key(off) != k {
				t.Fatalf("n=%d: second put(%q) = %d, %v", n, k, off, dup)
			}
		}
		for _, miss := range []string{"", "k", fmt.Sprintf("k%d.example", n), "k1.exampl", "k1.examplee"} {
			if _, ok := st.get(miss); ok {
				t.Fatalf("n=%d: get(%q) found", n, miss)
			}
		}
		if 2*st.n > len(st.slots) {
			t.Fatalf("n=%d: load %d/%d above 1/2", n, st.n, len(st.slots))
		}
	}
	var nilTab *strtab
	if _, ok := nilTab.get("x"); ok {
		t.Fatal("nil strtab found a key")
	}
}

func TestStrtabLookupDoesNotAllocate(t *testing.T) {
	st := newStrtab(100, 0)
	for i := 0; i < 100; i++ {
		st.put(fmt.Sprintf("d%d.example", i), uint64(i))
	}
	key := strings.Clone("d42.example")
	if n := testing.AllocsPerRun(100, func() { st.get(key) }); n != 0 {
		t.Fatalf("get allocates %v times", n)
	}
}

func TestNormalDomainAgreesWithNormalizeDomain(t *testing.T) {
	for _, s := range []string{
		"example.com", "a.b", "a-b.example", "1.2", "xn--bcher-kva.example", "ab--c.example",
		"-a.example", "a-.example", "Example.com", "example.com.", "example", "a..b", ".a.b",
		strings.Repeat("a", 63) + ".example", strings.Repeat("a", 64) + ".example",
		strings.Repeat("a.", 126) + "bc", "ex_ample.com", "exa mple.com", "",
	} {
		fast := normalDomain(s)
		n, err := sso.NormalizeDomain(s)
		if fast && (err != nil || n != s) {
			t.Errorf("normalDomain(%q) = true but NormalizeDomain = %q, %v", s, n, err)
		}
		if !fast && err == nil && n == s && !strings.Contains(s, "--") {
			t.Errorf("normalDomain(%q) = false for a normalised LDH name", s)
		}
	}
}

func FuzzNormalDomain(f *testing.F) {
	for _, s := range []string{"example.com", "a-b.c", "1.2", "ab--c.d", "A.b", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if normalDomain(s) {
			if n, err := sso.NormalizeDomain(s); err != nil || n != s {
				t.Fatalf("normalDomain(%q) = true but NormalizeDomain = %q, %v", s, n, err)
			}
		}
	})
}

// FuzzNormalEmailDomain: the one-pass fast path accepts an address only
// when NormalizeEmail returns it unchanged, and agrees with the two-step
// check it replaced (the local part, then the domain).
func FuzzNormalEmailDomain(f *testing.F) {
	for _, s := range []string{"olly@example.com", "a.b+c@x.y", ".a@x.y", "a..b@x.y", "a.@x.y", "a b@x.y", `"a"@x.y`, "Olly@EXAMPLE.com", "a@b@x.y", "@x.y", "a@", "a@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := normalEmailDomain(s)
		if ref, refOK := twoStepNormalEmail(s); ok != refOK || d != ref {
			t.Fatalf("normalEmailDomain(%q) = %q, %v; the two-step check says %q, %v", s, d, ok, ref, refOK)
		}
		if !ok {
			return
		}
		if n, err := sso.NormalizeEmail(s); err != nil || n != s {
			t.Fatalf("fast path accepts %q but NormalizeEmail = %q, %v", s, n, err)
		}
	})
}

// twoStepNormalEmail is the reference for normalEmailDomain: split at the
// last '@', check the local part, then the domain.
func twoStepNormalEmail(email string) (string, bool) {
	if len(email) > 254 {
		return "", false
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 || !normalLocal(email[:at]) || !normalDomain(email[at+1:]) {
		return "", false
	}
	return email[at+1:], true
}

func TestNormalizeAlias(t *testing.T) {
	tests := []struct{ in, want string }{
		{"acme", "acme"},
		{" Acme ", "acme"},
		{"acme.example", "acme.example"},
		{"ACME.Example.", "acme.example"},
		{"Bücher", "xn--bcher-kva"},
		{"a-b", "a-b"},
		{"acme corp", ""},
		{"acme/x", ""},
		{"../x", ""},
		{"", ""},
		{"[::1]", ""},
		{"a%2fb", ""},
		{"-acme", ""},
	}
	for _, tc := range tests {
		got, ok := normalizeAlias(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("normalizeAlias(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestKeyIndex(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("id-%d", i)
		}
		keyOf := func(i uint32) string { return keys[i] }
		x := newKeyIndex(n)
		for i, k := range keys {
			if _, dup := x.add(k, uint32(i), keyOf); dup {
				t.Fatalf("n=%d: fresh key %q reported present", n, k)
			}
		}
		for i, k := range keys {
			if got, ok := x.get(k, keyOf); !ok || got != uint32(i) {
				t.Fatalf("n=%d: get(%q) = %d, %v", n, k, got, ok)
			}
			// Adding a key again names the record that has it.
			if got, dup := x.add(strings.Clone(k), 99, keyOf); !dup || got != uint32(i) {
				t.Fatalf("n=%d: second add(%q) = %d, %v", n, k, got, dup)
			}
		}
		for _, miss := range []string{"", "id-", fmt.Sprintf("id-%d", n), "id-1 "} {
			if _, ok := x.get(miss, keyOf); ok {
				t.Fatalf("n=%d: get(%q) found", n, miss)
			}
		}
	}
	var zero keyIndex
	if _, ok := zero.get("x", func(uint32) string { return "x" }); ok {
		t.Fatal("zero keyIndex found a key")
	}
}

func TestFieldRoundTrip(t *testing.T) {
	vals := []string{"", "a", strings.Repeat("b", 127), strings.Repeat("c", 128), strings.Repeat("d", 300), "bücher", strings.Repeat("e", 20000)}
	var w textWriter
	n := 0
	for _, v := range vals {
		n += fieldLen(v)
	}
	w.Grow(n)
	offs := make([]uint32, len(vals))
	for i, v := range vals {
		offs[i] = w.off()
		w.field(v)
	}
	text := w.String()
	if len(text) != n {
		t.Fatalf("wrote %d bytes, fieldLen says %d", len(text), n)
	}
	o := 0
	for i, v := range vals {
		if int(offs[i]) != o {
			t.Fatalf("field %d at %d, want %d", i, o, offs[i])
		}
		var got string
		got, o = field(text, o)
		if got != v {
			t.Fatalf("field %d = %q (len %d), want len %d", i, got[:min(len(got), 10)], len(got), len(v))
		}
	}
}
