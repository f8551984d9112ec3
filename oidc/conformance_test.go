package oidc_test

import (
	"net/url"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/ssotest"
)

// TestConformance runs the contract every sso.Authenticator keeps against
// a Connection and an oidctest provider, logging in through its HTML page.
func TestConformance(t *testing.T) {
	var e *env
	ssotest.TestAuthenticator(t, ssotest.Harness{
		New: func(t *testing.T) sso.Authenticator {
			e = newEnv(t, oidctest.Config{}, nil)
			return e.conn
		},
		Respond: func(step *sso.Step) (url.Values, error) {
			u, err := oidctest.LoginAs(e.op.Client(), step.URL, "alice@example.com")
			if err != nil {
				return nil, err
			}
			return u.Query(), nil
		},
	})
}
