package saml_test

import (
	"net/url"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/ssotest"
)

func TestAuthenticatorConformance(t *testing.T) {
	var idp *samltest.Server
	ssotest.TestAuthenticator(t, ssotest.Harness{
		New: func(t *testing.T) sso.Authenticator {
			e := newEnv(t, samltest.Config{}, nil)
			idp = e.idp
			return e.sp
		},
		Respond: func(step *sso.Step) (url.Values, error) {
			_, form, err := idp.RespondTo(step, samltest.ResponseOptions{User: samltest.DefaultUsers[0].Email})
			return form, err
		},
	})
}
