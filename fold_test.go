package sso_test

import (
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

// confusables are spellings of "alike@corp.example" and its relatives with
// a non-ASCII character that Unicode case folding or lower-casing turns
// into an ASCII letter (or that looks like one). None may compare equal to
// the ASCII address.
var confusables = []struct{ name, spelt, ascii string }{
	{"Kelvin sign U+212A", "ali\u212Ae@corp.example", "alike@corp.example"},
	{"long s U+017F", "\u017Fam@corp.example", "sam@corp.example"},
	{"dotless i U+0131", "\u0131van@corp.example", "ivan@corp.example"},
	{"capital I with dot U+0130", "\u0130van@corp.example", "ivan@corp.example"},
	{"fullwidth a U+FF41", "\uFF41lice@corp.example", "alice@corp.example"},
	{"fullwidth A U+FF21", "\uFF21lice@corp.example", "alice@corp.example"},
}

func TestFoldASCIIKeepsNonASCIIExact(t *testing.T) {
	for _, c := range confusables {
		for _, ascii := range []string{c.ascii, strings.ToUpper(c.ascii)} {
			if sso.EqualFoldASCII(c.spelt, ascii) || sso.EqualFoldASCII(ascii, c.spelt) {
				t.Errorf("%s: EqualFoldASCII(%q, %q) = true; want false", c.name, c.spelt, ascii)
			}
			if sso.LowerASCII(c.spelt) == sso.LowerASCII(ascii) {
				t.Errorf("%s: LowerASCII(%q) = LowerASCII(%q) = %q; want them to differ", c.name, c.spelt, ascii, sso.LowerASCII(ascii))
			}
		}
		// The non-ASCII character survives lower-casing unchanged.
		if got := sso.LowerASCII(c.spelt); got != c.spelt {
			t.Errorf("%s: LowerASCII(%q) = %q; want it unchanged", c.name, c.spelt, got)
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
