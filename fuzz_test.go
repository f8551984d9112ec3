package sso_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

// emailSeeds reach the branches of NormalizeEmail and NormalizeDomain: IDNA
// mapping (full-width letters, ideographic dots, German sharp s, bidi
// labels), trailing dots, IP literals, length limits and local parts with
// the characters it refuses.
var emailSeeds = []string{
	"olly@example.com", "  Olly@Example.COM ", "a.b+tag@sub.example.com", "user@Bücher.Example",
	"user@example.com.", "x@ＥＸＡＭＰＬＥ.com", "x@example。com", "x@example.com。", "x@example.com..",
	"x@straße.de", "x@xn--bcher-kva.example", "x@XN--BCHER-KVA.example", "x@ﻋﺮﺑﻲ.example",
	"a@[127.0.0.1]", "a@localhost", "a@-bad-.com", "Name <a@example.com>", "a\x00@example.com",
	".a@example.com", "a..b@example.com", strings.Repeat("a", 64) + "@example.com",
	"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com",
	"a@b@example.com", "\u2028a@example.com", "a@exa\u00admple.com", "a@e\u200dx.com", "\xff@example.com",
}

// FuzzNormalizeEmail checks NormalizeEmail and EmailDomain: no panic; a
// refusal is an *sso.Error with ReasonInvalidEmail and a Detail; an
// accepted address is a fixed point (normalising it again gives it back),
// keeps its trimmed local part, fits RFC 5321's 254 bytes, and has a
// lower-case ASCII domain with a dot that NormalizeDomain returns unchanged
// and that equals the normalised domain of the input.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := sso.NormalizeEmail(s)
		if err != nil {
			wantInvalidEmail(t, err)
			return
		}
		again, err := sso.NormalizeEmail(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q, %v", s, n, n, again, err)
		}
		if len(n) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q, %d bytes", s, n, len(n))
		}
		trimmed := strings.TrimSpace(s)
		at := strings.LastIndexByte(trimmed, '@')
		if at < 0 || !strings.HasPrefix(n, trimmed[:at+1]) {
			t.Fatalf("NormalizeEmail(%q) = %q changed the local part", s, n)
		}
		d := sso.EmailDomain(n)
		if n != trimmed[:at+1]+d {
			t.Fatalf("EmailDomain(%q) = %q", n, d)
		}
		checkASCIIDomain(t, d)
		nd, err := sso.NormalizeDomain(trimmed[at+1:])
		if err != nil || nd != d {
			t.Fatalf("NormalizeEmail(%q) has domain %q, but NormalizeDomain(%q) = %q, %v", s, d, trimmed[at+1:], nd, err)
		}
	})
}

// FuzzNormalizeDomain checks NormalizeDomain alone: typed refusals, and an
// accepted domain is lower-case ASCII with a dot and a fixed point.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range emailSeeds {
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			f.Add(s[at+1:])
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := sso.NormalizeDomain(s)
		if err != nil {
			wantInvalidEmail(t, err)
			return
		}
		checkASCIIDomain(t, d)
		again, err := sso.NormalizeDomain(d)
		if err != nil || again != d {
			t.Fatalf("NormalizeDomain(%q) = %q, but NormalizeDomain(%q) = %q, %v", s, d, d, again, err)
		}
	})
}

func wantInvalidEmail(t *testing.T, err error) {
	t.Helper()
	var e *sso.Error
	if !errors.As(err, &e) || e.Reason != sso.ReasonInvalidEmail || e.Detail == "" {
		t.Fatalf("error %#v; want an *sso.Error with reason %s and a detail", err, sso.ReasonInvalidEmail)
	}
}

// checkASCIIDomain fails unless d is lower-case letters, digits, hyphens
// and dots, with at least one dot and no empty label.
func checkASCIIDomain(t *testing.T, d string) {
	t.Helper()
	if d == "" || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		t.Fatalf("domain %q: empty, no dot, or an empty label", d)
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			t.Fatalf("domain %q has %q, not lower-case ASCII", d, c)
		}
	}
}
