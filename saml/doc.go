// Package saml is ssokit's SAML 2.0 service provider: one connection per
// identity provider (IdP), built once from configuration and safe for
// concurrent use. A *ServiceProvider implements sso.Authenticator.
//
// # Quick start
//
//	sp, err := saml.New(ctx, saml.Config{
//		ID:             "acme",
//		EntityID:       "https://app.example.com/saml/acme/metadata",
//		ACSURL:         "https://app.example.com/saml/acme/acs",
//		IdPMetadataXML: metadata, // or IdPMetadataURL, or IdPEntityID+IdPSSOURL+IdPCertificates
//	})
//	step, err := sp.Begin(ctx, sso.BeginRequest{Binding: cookie, ReturnTo: "/dashboard"})
//	step.Write(w, r) // redirect (or auto-POST) to the IdP
//	...
//	// POST /saml/acme/acs
//	id, err := sp.Complete(ctx, sso.CompleteRequest{Binding: cookie, Params: r.PostForm})
//
// New parses certificates (PEM, bare base64 on one or many lines, DER; one
// or several for rollover), keys and metadata once; the login path parses
// nothing but the response. Metadata is checked before a connection exists
// with CheckMetadata, which names what is wrong or missing. The SP's own
// metadata comes from ServiceProvider.Metadata.
//
// Metadata from IdPMetadataURL is fetched through a guarded client (https
// only, public addresses only, size cap and timeout, unless the connection
// allows more), cached per its cacheDuration, validUntil or HTTP caching
// headers, and refreshed in the background; a failed refresh keeps the last
// good copy. A refresh that would replace every signing certificate in use
// with none overlapping is held back and reported (metadata_held_back)
// until an administrator applies it with ForceMetadataRefresh. Events warn
// ahead of the expiry of IdP and SP certificates: at New, after each
// metadata refresh, at the first login of each day, and whenever the host
// calls CheckCertificates (e.g. from a daily job).
//
// # What Complete checks
//
// Built on gosaml2 v0.11.0 and goxmldsig, Complete adds the checks gosaml2
// leaves to its callers (see response.go): InResponseTo against the pending
// request of this browser (taken from the signed assertion when only the
// assertion is signed), replay of assertion IDs (sso.ReplayCache, until
// NotOnOrAfter), Audience, Recipient and Destination, NotBefore and
// NotOnOrAfter with a clock skew, exactly one assertion, a non-empty
// subject, no DOCTYPE, a size cap before parsing, signature algorithms
// (RSA-SHA256 or stronger unless AllowSHA1), and a signature by one of the
// connection's certificates on the Response or the assertion. A response
// signed with an expired IdP certificate is accepted with an sso.Warning
// and an event unless RejectExpiredCertificates is set; many IdPs keep
// using expired certificates. Encrypted assertions are decrypted with the
// SP keys, old and new during a key change.
//
// Unsolicited (IdP-initiated) responses are refused unless the connection
// sets AllowIdPInitiated; their RelayState is then only used as a same-site
// relative return path.
//
// Every failure is an *sso.Error whose Reason says what failed and whose
// Detail tells an administrator what to fix. Debug mode logs each decoded
// message and the exact failing check; it never loosens a check.
//
// # Single logout
//
// Logout sends a LogoutRequest to the IdP's single logout service (signed
// when an SP key is configured) in a pending logout bound to the browser,
// or reports sso.ReasonLogoutNotSupported for IdPs without one (the host
// then sends the browser where it likes); CompleteLogout checks the IdP's
// LogoutResponse at SLOURL (HTTP-POST or HTTP-Redirect).
//
// The IdP also sends LogoutRequests of its own to SLOURL, when the person
// logs out at the IdP or at another application. HandleLogoutRequest
// checks one (signed by the IdP unless AllowUnsignedLogoutRequests,
// addressed to SLOURL, fresh, never seen before) and returns an IdPLogout:
// the host ends the sessions it names (IdPLogout.Matches) and sends the
// browser back to the IdP with IdPLogout.Respond. FinishLogout does all of it
// for whatever arrives at SLOURL, request or response, through a signature
// that needs no type of this package.
//
// Package samltest provides an in-process IdP for tests and demos.
package saml
