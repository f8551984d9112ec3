// Package safehttp fetches documents from URLs that administrators type in:
// SAML IdP metadata, OIDC discovery documents and JWKS.
//
// Such a URL is attacker-controlled input as far as the server is concerned
// (server-side request forgery): an administrator of one account could point
// it at the cloud metadata service (169.254.169.254), at a database on the
// private network, or at a name that resolves to a public address when the
// configuration is saved and to 127.0.0.1 a minute later. The client built by
// [NewClient] therefore checks every address at the moment it connects,
// after DNS resolution, on every redirect hop, and refuses loopback, private,
// link-local, carrier-grade NAT, multicast, unspecified and reserved
// addresses (also when written as IPv4-mapped IPv6) unless
// [Options.InsecureAllowPrivateNetwork] is set. It speaks only https (TLS 1.2 or
// later) unless [Options.InsecureAllowHTTP] is set, follows at most a few redirects,
// caps the response size and bounds every phase of the request with a
// timeout.
//
// [CheckURL] validates a configured URL without any I/O, for Config.Validate
// methods. [Get] and [Do] perform a request and return the body, refusing
// non-2xx statuses and oversize bodies. All failures are *sso.Error values
// with reason [sso.ReasonAddressNotAllowed] (a scheme or address refused by
// the guard) or [sso.ReasonMetadataFetchFailed] (network error, timeout,
// status, size), wrapping the cause.
package safehttp
