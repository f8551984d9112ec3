package sso_test

import (
	"testing"

	"github.com/ssokit/sso"
)

func TestMultiFactor(t *testing.T) {
	for _, c := range []struct {
		methods []string
		want    bool
	}{
		{nil, false},
		{[]string{"pwd"}, false},
		{[]string{"otp"}, false},
		{[]string{"pwd", "pin"}, false}, // both something known
		{[]string{"otp", "sms"}, false}, // both something held
		{[]string{"pwd", "otp"}, true},
		{[]string{"hwk", "fpt"}, true},
		{[]string{"mfa"}, true},
		{[]string{"mca"}, true},
		{[]string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password", "http://schemas.microsoft.com/claims/multipleauthn"}, true},
		{[]string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}, false},
		{[]string{"pwd", "geo"}, false},
		{[]string{"MFA"}, false}, // values are case-sensitive
	} {
		if got := sso.MultiFactor(c.methods); got != c.want {
			t.Errorf("MultiFactor(%q) = %v; want %v", c.methods, got, c.want)
		}
	}
}
