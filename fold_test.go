package sso_test

import (
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ssotest"
)

func TestFoldASCIIKeepsNonASCIIExact(t *testing.T) {
	for _, c := range ssotest.Confusables {
		for _, ascii := range []string{c.ASCII, strings.ToUpper(c.ASCII)} {
			if sso.EqualFoldASCII(c.Spelt, ascii) || sso.EqualFoldASCII(ascii, c.Spelt) {
				t.Errorf("%s: EqualFoldASCII(%q, %q) = true; want false", c.Name, c.Spelt, ascii)
			}
			if sso.LowerASCII(c.Spelt) == sso.LowerASCII(ascii) {
				t.Errorf("%s: LowerASCII(%q) = LowerASCII(%q) = %q; want them to differ", c.Name, c.Spelt, ascii, sso.LowerASCII(ascii))
			}
		}
		// The non-ASCII character survives lower-casing unchanged.
		if got := sso.LowerASCII(c.Spelt); got != c.Spelt {
			t.Errorf("%s: LowerASCII(%q) = %q; want it unchanged", c.Name, c.Spelt, got)
		}
	}
}

func TestFoldASCII(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"alike@corp.example", "alike@corp.example", true},
		{"ALIKE@Corp.Example", "alike@corp.example", true},
		{"Admin", "aDMIN", true},
		{"", "", true},
		{"a", "", false},
		{"@", "`", false}, // neighbours of A-Z are not letters
		{"[", "{", false},
		{"Z", "z", true},
		{"\u00C9mile@corp.example", "\u00E9mile@corp.example", false}, // É/é: only ASCII folds
		{"\u00E9mile@corp.example", "\u00E9mile@corp.example", true},
		{"ali\u212Ae", "ALI\u212AE", true}, // the same non-ASCII character, ASCII case aside
	}
	for _, tc := range tests {
		if got := sso.EqualFoldASCII(tc.a, tc.b); got != tc.equal {
			t.Errorf("EqualFoldASCII(%q, %q) = %v; want %v", tc.a, tc.b, got, tc.equal)
		}
		if got := sso.LowerASCII(tc.a) == sso.LowerASCII(tc.b); got != tc.equal {
			t.Errorf("LowerASCII(%q) == LowerASCII(%q) is %v; want %v", tc.a, tc.b, got, tc.equal)
		}
	}
	for in, want := range map[string]string{
		"":                   "",
		"already lower":      "already lower",
		"MiXeD@Corp.Example": "mixed@corp.example",
		"\u00C9MILE":         "\u00C9mile",
		"ALI\u212AE":         "ali\u212Ae",
		"\u0130VAN":          "\u0130van",
	} {
		if got := sso.LowerASCII(in); got != want {
			t.Errorf("LowerASCII(%q) = %q; want %q", in, got, want)
		}
	}
}
