// Package mockidp runs the examples' mock identity providers on loopback
// addresses, so that `go run ./examples/<name>` needs no setup. The mock
// servers themselves are ssokit's test packages (saml/samltest,
// oidc/oidctest, ldap/ldaptest); a real application points its connections
// at its customers' identity providers instead.
package mockidp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// SAML is a samltest IdP served on its own loopback port.
type SAML struct {
	*samltest.IdP
	srv *http.Server
}

// StartSAML serves a samltest IdP on a free port of 127.0.0.1 (cfg.BaseURL
// is set to it). 127.0.0.1 is another site than the application's
// localhost, as a real identity provider is, so a cookie that a cross-site
// POST from the IdP does not carry shows in the examples too.
func StartSAML(cfg samltest.Config) (*SAML, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mock SAML IdP: %w", err)
	}
	cfg.BaseURL = "http://" + ln.Addr().String()
	idp, err := samltest.New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &SAML{IdP: idp, srv: &http.Server{Handler: idp, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *SAML) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
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
