package oidc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ssokit/sso"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

func joinComma(s []string) string { return strings.Join(s, ", ") }

// guardDetail renames the fetch guard's option names in a detail to this
// package's Config field names.
func guardDetail(s string) string {
	return strings.ReplaceAll(s, "set InsecureAllowHTTP", "set InsecureAllowHTTP")
}

// ProviderError is an OAuth 2.0 error answer of the provider: the error,
// error_description and error_uri parameters of the callback (RFC 6749
// section 4.1.2.1), or the JSON error body of the token endpoint (section
// 5.2) or the userinfo endpoint (RFC 6750 section 3.1). Complete returns
// it as the Err of an *sso.Error, so that errors.As finds it:
//
//	var pe *oidc.ProviderError
//	if errors.As(err, &pe) && pe.Code == "access_denied" { ... }
type ProviderError struct {
	// Endpoint is "authorization" (the callback), "token" or "userinfo".
	Endpoint string
	// Code is the error code, e.g. "access_denied" or "invalid_grant".
	Code string
	// Description and URI are the provider's optional explanation. They
	// are the provider's words, not checked: show them to administrators,
	// not to users.
	Description string
	URI         string
	// Err is the underlying error of the HTTP client library, if any.
	Err error
}

// Error returns "oidc: the <endpoint> endpoint answered error "code": description (uri)".
func (e *ProviderError) Error() string {
	s := "oidc: the " + e.Endpoint + " endpoint answered error " + quote(e.Code)
	if e.Description != "" {
		s += ": " + quote(e.Description)
	}
	if e.URI != "" {
		s += " (see " + quote(e.URI) + ")"
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// callbackReason maps an authorization error code to a Reason: the codes
// of OpenID Connect Core 3.1.2.6 that ask for an interactive login become
// sso.ReasonAuthenticationRequired (like SAML's NoPassive), a provider
// that is temporarily unavailable sso.ReasonUnavailable, the rest
// sso.ReasonIdPError.
func callbackReason(code string) sso.Reason {
	switch code {
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return sso.ReasonAuthenticationRequired
	case "temporarily_unavailable":
		return sso.ReasonUnavailable
	}
	return sso.ReasonIdPError
}

// callbackHint tells an administrator what an authorization error code
// usually means.
func callbackHint(code string) string {
	switch code {
	case "access_denied":
		return "; the user cancelled, or is not assigned to the application at the provider"
	case "unauthorized_client", "invalid_scope", "unsupported_response_type", "invalid_request":
		return "; check the client's registration at the provider (redirect URL, code flow, scopes " + quote("openid email profile") + ")"
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return "; the provider needs the user to sign in, choose an account or consent interactively"
	case "temporarily_unavailable", "server_error":
		return "; the provider has a problem of its own, try again later"
	}
	return ""
}
