// Package samltest is an in-process SAML 2.0 identity provider for tests,
// examples and demos of package saml and of applications built on it, in
// the manner of net/http/httptest: [Start] gives a test a [Server] on a
// free loopback port, over https with a CA of its own ([Server.Client]
// and [Server.CACertPEM] trust it), closed when the test ends;
// [NewServer] does the same for a program, which closes it. The server
// learns its URL from its listener; [Config.NoTLS] makes it plain http,
// for a demo in a person's browser, and [Config.Addr] and [Config.Path]
// choose where it listens and the path its endpoints are below.
//
// The Server serves its metadata, a real HTML login page (email and
// password, plus one-click test users), SP-initiated and IdP-initiated
// login that auto-POSTs a signed response to the service provider's ACS
// URL, and single logout, started by the service provider or by the IdP
// itself ([Server.LogoutRequest], whose answer the IdP checks and
// records). Responses are signed with the IdP's own key (RSA-SHA256 by
// default) on the assertion, the Response or both, and can be encrypted
// for the service provider.
//
// [Misbehavior] switches ([Server.Misbehave]) make it send what a service
// provider must refuse: a wrong key, no signature, expired or not yet
// valid assertions, wrong audience, recipient, destination or issuer,
// replayed responses, signature wrapping, two assertions, an XML comment
// inside the NameID, SHA-1, a DOCTYPE, an empty NameID. The switches that
// apply to a LogoutRequest make it unsigned, signed with a wrong key or
// SHA-1, from another issuer, for another destination, expired, replayed
// or with a DOCTYPE.
//
// Tests that need no browser build responses directly with
// [Server.Response], [Server.EncodedResponse] or [Server.RespondTo] (which
// answers a Begin step); [Config.EntityID] gives such an IdP a fixed
// entity ID.
package samltest
