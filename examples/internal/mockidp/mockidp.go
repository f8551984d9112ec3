// Package mockidp runs the examples' mock identity providers on loopback
// addresses, so that `go run ./examples/<name>` needs no setup. The mock
// servers themselves are ssokit's test packages (saml/samltest,
// oidc/oidctest, ldap/ldaptest); a real application points its connections
// at its customers' identity providers instead.
package mockidp

import (
	"context"
	"fmt"

	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// SAML is a samltest IdP served on its own loopback port.
type SAML struct {
	*samltest.Server
}

// StartSAML serves a samltest IdP on a free port of 127.0.0.1, over plain
// http (a browser would refuse the certificate of the IdP's own CA).
// 127.0.0.1 is another site than the application's localhost, as a real
// identity provider is, so a cookie that a cross-site POST from the IdP
// does not carry shows in the examples too. Close stops it.
func StartSAML(cfg samltest.Config) (*SAML, error) {
	cfg.NoTLS = true
	idp, err := samltest.NewServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("mock SAML IdP: %w", err)
	}
	return &SAML{Server: idp}, nil
}

// NewServiceProvider does both halves of setting up a SAML connection with
// this IdP: it registers the service provider's entity ID and ACS URL at the
// IdP (what the organisation's administrator does with the application's
// SP metadata) and builds the service provider with cfg.IdPMetadataXML set
// to the IdP's metadata (what the application's administrator pastes or
// uploads).
func (s *SAML) NewServiceProvider(ctx context.Context, cfg saml.Config) (*saml.ServiceProvider, error) {
	if err := s.AddServiceProvider(samltest.ServiceProvider{EntityID: cfg.EntityID, ACSURL: cfg.ACSURL}); err != nil {
		return nil, err
	}
	cfg.IdPMetadataXML = s.Metadata()
	return saml.New(ctx, cfg)
}
