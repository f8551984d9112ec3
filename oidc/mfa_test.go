package oidc_test

import (
	"net/url"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// TestMFAEvidence: ACRValues asks the provider for an authentication
// context; the acr and amr claims come back on the Identity, and
// Identity.MFA is set only when they show more than one factor.
func TestMFAEvidence(t *testing.T) {
	users := []oidctest.User{
		{Subject: "pw", Email: "pw@example.com", Claims: map[string]any{"acr": "urn:example:password", "amr": []string{"pwd"}}},
		{Subject: "otp", Email: "otp@example.com", Claims: map[string]any{"amr": []string{"pwd", "otp"}}},
		{Subject: "okta", Email: "okta@example.com", Claims: map[string]any{"acr": "urn:okta:loa:2fa:any"}},
		{Subject: "none", Email: "none@example.com"},
	}
	e := newEnv(t, oidctest.Config{Users: users}, func(c *oidc.Config) { c.ACRValues = []string{"urn:okta:loa:2fa:any", "phr"} })
	u, _ := url.Parse(e.begin(sso.BeginRequest{}).URL)
	if got := u.Query().Get("acr_values"); got != "urn:okta:loa:2fa:any phr" {
		t.Fatalf("acr_values = %q", got)
	}
	for _, c := range []struct {
		who, acr string
		amr      []string
		mfa      bool
	}{
		{"pw", "urn:example:password", []string{"pwd"}, false},
		{"otp", "", []string{"pwd", "otp"}, true},
		{"okta", "urn:okta:loa:2fa:any", nil, true},
		{"none", "", nil, false},
	} {
		id, err := e.login(c.who)
		if err != nil {
			t.Fatalf("%s: %v", c.who, err)
		}
		if id.AuthnContext != c.acr || id.MFA != c.mfa || len(id.AuthnMethods) != len(c.amr) {
			t.Errorf("%s: acr %q amr %v MFA %v", c.who, id.AuthnContext, id.AuthnMethods, id.MFA)
		}
	}
	// A connection may name its provider's own acr values; then only
	// those count.
	own := newEnv(t, oidctest.Config{Users: users}, func(c *oidc.Config) { c.MFAACRValues = []string{"urn:example:password"} })
	if id, err := own.login("pw"); err != nil || !id.MFA {
		t.Fatalf("own acr value: %v %+v", err, id)
	}
	if id, err := own.login("okta"); err != nil || id.MFA {
		t.Fatalf("an acr value outside MFAACRValues: %v", err)
	}
	plain := newEnv(t, oidctest.Config{Users: users}, nil)
	if u, _ := url.Parse(plain.begin(sso.BeginRequest{}).URL); u.Query().Has("acr_values") {
		t.Fatal("acr_values sent without ACRValues")
	}
}
