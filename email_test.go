package sso_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Olly@Example.COM ", "Olly@example.com"},
		{"a.b+tag@sub.example.com", "a.b+tag@sub.example.com"},
		{"user@Bücher.Example", "user@xn--bcher-kva.example"},
		{"user@example.com.", "user@example.com"},
		{"x@ＥＸＡＭＰＬＥ.com", "x@example.com"},  // full-width letters map to ASCII
		{"x@example.com。", "x@example.com"}, // an ideographic full stop ends the name like a dot
		{"x@example．com．", "x@example.com"},
	}
	for _, tc := range tests {
		got, err := sso.NormalizeEmail(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []string{"", "no-at", "@example.com", "a@", "a@@example.com", "a b@example.com",
		"a@localhost", "a@[127.0.0.1]", "Name <a@example.com>", "a\x00@example.com", "a@exa mple.com",
		".a@example.com", "a..b@example.com", strings.Repeat("a", 65) + "@example.com", "a@-bad-.com",
		"a@example.com..", "a@example.com.。", "a@example.com。。"}
	for _, in := range []string{"\x80.example", "a\xffb.example"} {
		if got, err := sso.NormalizeDomain(in); !errors.Is(err, sso.ReasonInvalidEmail) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want invalid_email", in, got, err)
		}
	}
	for _, in := range bad {
		if got, err := sso.NormalizeEmail(in); !errors.Is(err, sso.ReasonInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want invalid_email", in, got, err)
		}
	}
	if d := sso.EmailDomain("Olly@example.com"); d != "example.com" {
		t.Errorf("EmailDomain = %q", d)
	}
}

func TestSafeReturnPath(t *testing.T) {
	ok := []string{"/", "/app", "/app/x?y=1#z", " /trim "}
	for _, p := range ok {
		if _, good := sso.SafeReturnPath(p); !good {
			t.Errorf("SafeReturnPath(%q) refused", p)
		}
	}
	bad := []string{"", "app", "//evil.com", "/\\evil.com", "https://evil.com", "javascript:alert(1)",
		"/a\r\nLocation: x", "\\\\evil", "/a\\b", "http:/evil.com", strings.Repeat("/a", 2000)}
	for _, p := range bad {
		if got, good := sso.SafeReturnPath(p); good {
			t.Errorf("SafeReturnPath(%q) accepted as %q", p, got)
		}
	}
}
