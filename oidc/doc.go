// Package oidc is the OpenID Connect relying party of ssokit: one
// [Connection] per configured OpenID provider, implementing
// [sso.Authenticator] with the authorization code flow.
//
// A Connection is configured from the provider's issuer URL (its
// /.well-known/openid-configuration document is fetched on first use and
// refreshed daily) or by hand with all endpoints. Every login uses PKCE
// (S256), a random state that is the handle of the server-side [sso.Flow]
// bound to the browser, and a random nonce. This package writes the
// authorization URL and the code exchange itself, each in one pass (the
// fixed parameters encoded once per provider), and verifies the ID token
// itself, decoding each part once, because the checks ssokit requires go
// further than zitadel's verifier; github.com/zitadel/oidc/v3 provides the
// discovery document's types and the userinfo call:
//
//   - The signature is checked against the provider's JWKS, cached. A token
//     signed with an unknown key ID causes at most one refetch per
//     [Config.JWKSMinRefetchInterval], coalesced across concurrent logins,
//     so forged key IDs cannot make the application hammer the provider,
//     and steady-state logins fetch nothing.
//   - The algorithm must be in an allow-list of asymmetric algorithms:
//     "none" and HMAC algorithms are refused before any key is looked up,
//     so a token "signed" with the provider's public key as an HMAC secret
//     never verifies.
//   - iss (exactly), aud (the client ID, and any other audience only when
//     listed in [Config.TrustedAudiences]), azp (required and equal to the
//     client ID when there are several audiences), exp, iat and nbf with
//     [Config.ClockSkew] on the injected clock, and the nonce.
//   - at_hash, when present, binds the access token used for userinfo.
//   - An encrypted (JWE) ID token is refused with
//     [sso.ReasonEncryptedNotSupported] rather than a parse error.
//   - The RFC 9207 iss parameter of the callback must equal the issuer when
//     present, and must be present when the provider advertises it.
//   - Codes and nonces are recorded in an [sso.ReplayCache].
//
// Email and profile claims come from the ID token and, for what it lacks,
// from the userinfo endpoint (see [UserinfoMode]); the userinfo sub must
// equal the ID token's. An email is accepted only when email_verified is
// true, unless [Config.TrustEmail] says the connection trusts the
// provider's addresses; email_verified counts only from the source (ID
// token or userinfo) of the address, or from the other one when it names
// the same address.
//
// Complete keeps the raw ID token in [sso.Identity].IDToken; after the
// host ended its session, [Connection.Logout] sends the browser to the
// provider's end_session_endpoint (RP-Initiated Logout) with it as
// id_token_hint.
//
// [New] does no network I/O: the discovery document and the JWKS are
// fetched on first use, or at once by [Connection.Refresh], and cached.
//
// Every request to the provider goes through one guarded HTTP client per
// connection (package internal/safehttp): timeouts, a response size cap,
// https only unless [Config.InsecureAllowHTTP], public addresses only
// unless [Config.InsecureAllowPrivateNetwork] (checked when connecting, so an
// issuer URL typed by a tenant cannot reach internal services), and system
// or custom ([Config.CACertPEM]) root certificates.
//
// [Config.Timeout] bounds every request, also through an injected
// [Config.HTTPClient].
//
// Errors are *[sso.Error] values with a [sso.Reason]; their Detail tells an
// administrator what to fix. An OAuth error answer of the provider (the
// error parameter of the callback, an error body of the token or userinfo
// endpoint) is a *[ProviderError] inside it, found with errors.As.
//
// Package oidctest provides an in-process OpenID provider for tests and
// demos, with switches for every misbehaviour the checks above catch.
package oidc
