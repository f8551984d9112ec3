// Package samltest is an in-process SAML 2.0 identity provider for tests,
// examples and demos of package saml and of applications built on it.
//
// An *IdP is an http.Handler: mount it on any server with a configured
// base URL (New), or start it on an httptest server for a test (Start). It
// serves its metadata, a real HTML login page (email and password, plus
// one-click test users), SP-initiated and IdP-initiated login that
// auto-POSTs a signed response to the service provider's ACS URL, and
// single logout, started by the service provider or by the IdP itself
// (IdP.LogoutRequest, whose answer the IdP checks and records). Responses
// are signed with the IdP's own key (RSA-SHA256 by default) on the
// assertion, the Response or both, and can be encrypted for the service
// provider.
//
// Misbehavior switches make it send what a service provider must refuse:
// a wrong key, no signature, expired or not yet valid assertions, wrong
// audience, recipient, destination or issuer, replayed responses,
// signature wrapping, two assertions, an XML comment inside the NameID,
// SHA-1, a DOCTYPE, an empty NameID. The switches that apply to a
// LogoutRequest make it unsigned, signed with a wrong key or SHA-1, from
// another issuer, for another destination, expired, replayed or with a
// DOCTYPE.
//
// Tests that need no browser build responses directly with IdP.Response,
// IdP.EncodedResponse or IdP.RespondTo (which answers a Begin step).
package samltest
