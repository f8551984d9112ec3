package ldaptest

import (
	"errors"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// dnSyntax lists the attributes whose values are DNs and compare as DNs.
var dnSyntax = map[string]bool{
	"member": true, "memberof": true, "uniquemember": true, "manager": true,
	"distinguishedname": true, "entrydn": true, "owner": true,
}

// matchFilter evaluates a compiled RFC 4515 filter against e. Values
// compare case-insensitively, DN-valued attributes as normalised DNs, as
// an LDAP server with the usual matching rules does.
func matchFilter(f *ber.Packet, e *entry) (bool, error) {
	switch f.Tag {
	case goldap.FilterAnd:
		for _, c := range f.Children {
			ok, err := matchFilter(c, e)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case goldap.FilterOr:
		for _, c := range f.Children {
			ok, err := matchFilter(c, e)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	case goldap.FilterNot:
		if len(f.Children) != 1 {
			return false, errors.New("malformed NOT filter")
		}
		ok, err := matchFilter(f.Children[0], e)
		return !ok, err
	case goldap.FilterPresent:
		return len(e.values(f.Data.String())) > 0, nil
	case goldap.FilterEqualityMatch, goldap.FilterApproxMatch, goldap.FilterGreaterOrEqual, goldap.FilterLessOrEqual:
		if len(f.Children) != 2 {
			return false, errors.New("malformed comparison filter")
		}
		attr := f.Children[0].Data.String()
		want := f.Children[1].Data.String()
		for _, v := range e.values(attr) {
			c := compareValues(attr, v, want)
			switch {
			case f.Tag == goldap.FilterGreaterOrEqual && c >= 0,
				f.Tag == goldap.FilterLessOrEqual && c <= 0,
				(f.Tag == goldap.FilterEqualityMatch || f.Tag == goldap.FilterApproxMatch) && c == 0:
				return true, nil
			}
		}
		return false, nil
	case goldap.FilterSubstrings:
		if len(f.Children) != 2 {
			return false, errors.New("malformed substrings filter")
		}
		attr := f.Children[0].Data.String()
		for _, v := range e.values(attr) {
			if matchSubstrings(strings.ToLower(v), f.Children[1].Children) {
				return true, nil
			}
		}
		return false, nil
	case goldap.FilterExtensibleMatch:
		return false, nil // undefined, as for an unknown matching rule
	}
	return false, errors.New("unknown filter choice")
}

func compareValues(attr, have, want string) int {
	if dnSyntax[strings.ToLower(attr)] {
		h, err1 := dnKey(have)
		w, err2 := dnKey(want)
		if err1 == nil && err2 == nil {
			return strings.Compare(h, w)
		}
	}
	return strings.Compare(strings.ToLower(have), strings.ToLower(want))
}

func matchSubstrings(v string, parts []*ber.Packet) bool {
	for i, p := range parts {
		s := strings.ToLower(p.Data.String())
		switch p.Tag {
		case goldap.FilterSubstringsInitial:
			if i != 0 || !strings.HasPrefix(v, s) {
				return false
			}
			v = v[len(s):]
		case goldap.FilterSubstringsAny:
			j := strings.Index(v, s)
			if j < 0 {
				return false
			}
			v = v[j+len(s):]
		case goldap.FilterSubstringsFinal:
			if i != len(parts)-1 || !strings.HasSuffix(v, s) {
				return false
			}
			v = ""
		}
	}
	return true
}

// dnKey returns a comparison key for dn: types and values folded, spaces
// and escaping normalised.
func dnKey(dn string) (string, error) {
	d, err := goldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	return strings.ToLower(d.String()), nil
}
