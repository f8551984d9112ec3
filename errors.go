package sso

import (
	"errors"
	"strings"
)

// Reason is a stable, machine-readable code for why a login or a
// configuration was refused. Reasons are part of the API: their string values
// never change, so hosts may store them, count them and match on them.
//
// A Reason is also an error, so each constant is a sentinel:
//
//	if errors.Is(err, sso.ReasonReplayed) { ... }
type Reason string

// Error implements error so that a Reason can serve as a sentinel.
func (r Reason) Error() string { return string(r) }

// Reasons shared by every package.
const (
	// ReasonInvalidConfig: a connection, account or policy configuration is
	// incomplete or contradictory. The Detail names the field and the fix.
	ReasonInvalidConfig Reason = "invalid_config"
	// ReasonInvalidRequest: the browser's request is malformed (missing or
	// badly encoded parameters).
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonRequestTooLarge: a request body or parameter exceeds its size cap.
	ReasonRequestTooLarge Reason = "request_too_large"
	// ReasonStateMissing: no pending login matches the returned state or
	// RelayState: it expired, was used already, or never existed.
	ReasonStateMissing Reason = "state_missing"
	// ReasonStateMismatch: the pending login belongs to another browser or
	// another connection.
	ReasonStateMismatch Reason = "state_mismatch"
	// ReasonUnavailable: the identity provider, the directory or a store
	// (database, Redis) could not be reached or answered with a server
	// error. Retrying later may succeed.
	ReasonUnavailable Reason = "unavailable"
	// ReasonStoreFull: a state store, replay cache or database holds as many
	// unexpired records as it may, and refuses new ones rather than forget a
	// pending login or a replay record early. It recovers by itself as the
	// records expire. The Detail names the limit to raise.
	ReasonStoreFull Reason = "store_full"
	// ReasonIdPError: the identity provider answered with an error of its own
	// (a SAML status other than Success, an OAuth error parameter).
	ReasonIdPError Reason = "idp_error"
	// ReasonInternal: a failure inside the application or its stores.
	ReasonInternal Reason = "internal"
)

// Reasons about protocol messages (SAML responses, OIDC tokens).
const (
	ReasonMalformed              Reason = "malformed"                  // not well-formed, or not the expected message
	ReasonDoctypeForbidden       Reason = "doctype_forbidden"          // XML with a DOCTYPE (entity expansion attacks)
	ReasonSignatureMissing       Reason = "signature_missing"          // nothing signed where a signature is required
	ReasonSignatureInvalid       Reason = "signature_invalid"          // signature does not verify, or covers other content
	ReasonUntrustedKey           Reason = "untrusted_key"              // signed, but by a key the connection does not trust
	ReasonAlgorithmNotAllowed    Reason = "algorithm_not_allowed"      // e.g. RSA-SHA1 without opt-in, alg none, HMAC
	ReasonCertificateExpired     Reason = "certificate_expired"        // the trusted certificate is outside its validity
	ReasonExpired                Reason = "expired"                    // assertion or token past NotOnOrAfter/exp
	ReasonNotYetValid            Reason = "not_yet_valid"              // assertion or token before NotBefore/nbf/iat
	ReasonAudienceMismatch       Reason = "audience_mismatch"          // not meant for this service provider / client
	ReasonRecipientMismatch      Reason = "recipient_mismatch"         // SubjectConfirmationData Recipient is not our ACS
	ReasonDestinationMismatch    Reason = "destination_mismatch"       // Response Destination is not our ACS
	ReasonIssuerMismatch         Reason = "issuer_mismatch"            // issued by someone other than the configured IdP
	ReasonUnknownIssuer          Reason = "unknown_issuer"             // no connection knows this issuer
	ReasonInResponseToMismatch   Reason = "in_response_to_mismatch"    // answers a request this browser did not make
	ReasonUnsolicited            Reason = "unsolicited"                // IdP-initiated login where the connection does not allow it
	ReasonReplayed               Reason = "replayed"                   // assertion ID, nonce or code used before
	ReasonAssertionCount         Reason = "assertion_count"            // not exactly one assertion
	ReasonSubjectMissing         Reason = "subject_missing"            // empty NameID, sub or configured identifier attribute
	ReasonSubjectMismatch        Reason = "subject_mismatch"           // OIDC userinfo about another sub than the ID token
	ReasonDecryptionFailed       Reason = "decryption_failed"          // encrypted for another key, or corrupted
	ReasonEncryptedNotSupported  Reason = "encrypted_not_supported"    // e.g. an encrypted OIDC ID token
	ReasonNonceMismatch          Reason = "nonce_mismatch"             // OIDC nonce differs from the one sent
	ReasonTokenExchangeFailed    Reason = "token_exchange_failed"      // OIDC code exchange refused
	ReasonEmailNotVerified       Reason = "email_not_verified"         // provider does not vouch for the email
	ReasonEmailMissing           Reason = "email_missing"              // no email where one is required
	ReasonEmailMismatch          Reason = "email_mismatch"             // warning: the email attribute and an email-format NameID differ
	ReasonMetadataInvalid        Reason = "metadata_invalid"           // IdP metadata unusable (see the Detail)
	ReasonMetadataFetchFailed    Reason = "metadata_fetch_failed"      // metadata or discovery document could not be fetched
	ReasonAddressNotAllowed      Reason = "address_not_allowed"        // URL scheme or address refused by the fetch guard
	ReasonNetworkNotAllowed      Reason = "client_network_not_allowed" // the client's address is outside the account's or connection's allowed networks
	ReasonLogoutNotSupported     Reason = "logout_not_supported"       // the IdP offers no single logout
	ReasonSigningKeyMissing      Reason = "signing_key_missing"        // a signature is required but no key is configured
	ReasonAuthenticationRequired Reason = "authentication_required"    // IdP asked to re-authenticate or refused passive login
)

// Reasons of the LDAP authenticator.
const (
	ReasonInvalidCredentials      Reason = "ldap_invalid_credentials"   // wrong DN or password
	ReasonPasswordEmpty           Reason = "ldap_password_empty"        // refused before any network call
	ReasonPasswordExpired         Reason = "ldap_password_expired"      // directory says the password expired
	ReasonPasswordMustChange      Reason = "ldap_password_must_change"  // directory requires a password change
	ReasonAccountDisabled         Reason = "ldap_account_disabled"      // directory account disabled
	ReasonAccountLocked           Reason = "ldap_account_locked"        // directory account locked out
	ReasonAccountExpired          Reason = "ldap_account_expired"       // directory account expired
	ReasonLDAPUserNotFound        Reason = "ldap_user_not_found"        // the email resolves to no entry
	ReasonLDAPAmbiguousUser       Reason = "ldap_ambiguous_user"        // the email resolves to several entries
	ReasonTLSRequired             Reason = "ldap_tls_required"          // the server refused or cannot do TLS
	ReasonLDAPOperationFailed     Reason = "ldap_operation_failed"      // a search or read failed
	ReasonLDAPDomainNotConfigured Reason = "ldap_domain_not_configured" // no DN template for this email domain
)

// Reasons of the login handler.
const (
	ReasonCrossOrigin       Reason = "cross_origin_request"    // a form was POSTed from another origin (CSRF)
	ReasonPasswordIncorrect Reason = "password_incorrect"      // the host's password check refused the login
	ReasonPasswordDisabled  Reason = "password_login_disabled" // the host offers no password login
	ReasonNotAdministrator  Reason = "not_administrator"       // a test login by someone who does not administer the account
	ReasonTooManyAttempts   Reason = "too_many_attempts"       // too many wrong passwords for one waiting identity; it was dropped
)

// Reasons of discovery, policy and provisioning.
const (
	ReasonInvalidEmail          Reason = "invalid_email"             // not a usable email address
	ReasonNoSSO                 Reason = "no_sso"                    // no SSO connection serves this email or domain
	ReasonDomainNotProven       Reason = "domain_not_proven"         // the DNS TXT record proving a claimed domain is missing
	ReasonAccountNotFound       Reason = "account_not_found"         // no such account or alias
	ReasonConnectionNotFound    Reason = "connection_not_found"      // no such connection
	ReasonConnectionNotLive     Reason = "connection_not_live"       // draft connection, or testing and not a test user
	ReasonEmailDomainNotAllowed Reason = "email_domain_not_allowed"  // email outside the account's claimed domains
	ReasonUserNotProvisioned    Reason = "user_not_provisioned"      // no matching user and JIT creation is off
	ReasonUserDisabled          Reason = "user_disabled"             // the application's user is disabled
	ReasonLinkRequiresProof     Reason = "link_requires_proof"       // an existing user may only be linked after a password login
	ReasonSSORequired           Reason = "sso_required"              // password refused: this user must use SSO
	ReasonPasswordOnly          Reason = "password_only"             // SSO not enabled for this account
	ReasonWouldLockOut          Reason = "would_lock_out"            // the change would leave nobody able to administer the account
	ReasonReauthRequired        Reason = "reauthentication_required" // switching account needs another login
	ReasonConflict              Reason = "conflict"                  // concurrent change; retry
	ReasonNotFound              Reason = "not_found"                 // a store has no such record
)

// Error is the one error type of ssokit. Every failure a package reports is an
// *Error or wraps one, so hosts can use [errors.As] to read the Reason and the
// details, and [errors.Is] with a [Reason] or with the underlying cause.
//
// Detail, Expected and Actual are written for administrators: they say what
// was wrong and what to fix. They may contain values from the message (an
// audience, an issuer) but never secrets. Users should be shown
// [Reason.UserMessage] instead.
type Error struct {
	// Op names the package and operation, e.g. "saml.Complete".
	Op string
	// Reason is the stable code.
	Reason Reason
	// Connection is the ID of the connection involved, if any.
	Connection string
	// Detail explains the failure for administrators.
	Detail string
	// Expected and Actual hold the compared values for mismatch reasons.
	Expected, Actual string
	// Err is the underlying cause, if any.
	Err error
}

// Error returns "op: connection "id": reason: detail (expected .., got ..): cause".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Connection != "" {
		b.WriteString("connection ")
		b.WriteString(quote(e.Connection))
		b.WriteString(": ")
	}
	b.WriteString(string(e.Reason))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Expected != "" || e.Actual != "" {
		b.WriteString(" (expected ")
		b.WriteString(quote(e.Expected))
		b.WriteString(", got ")
		b.WriteString(quote(e.Actual))
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func quote(s string) string { return "\"" + s + "\"" }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Reason, so that every Reason works as a
// sentinel.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// ReasonOf returns the Reason of the first *Error in err's chain, or
// ReasonInternal when err is not nil but carries none, or "" for a nil err.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	var r Reason
	if errors.As(err, &r) {
		return r
	}
	return ReasonInternal
}

// ConfigurationFault reports whether r means that a connection's setup is
// wrong (a key, an audience, an address, metadata, a mapping), as opposed to
// a login that went wrong once: trying again does not help until an
// administrator fixes the configuration.
func (r Reason) ConfigurationFault() bool {
	switch r {
	case ReasonInvalidConfig, ReasonSignatureMissing, ReasonSignatureInvalid, ReasonUntrustedKey, ReasonAlgorithmNotAllowed,
		ReasonCertificateExpired, ReasonAudienceMismatch, ReasonRecipientMismatch, ReasonDestinationMismatch, ReasonIssuerMismatch,
		ReasonUnknownIssuer, ReasonUnsolicited, ReasonSubjectMissing, ReasonDecryptionFailed, ReasonEncryptedNotSupported,
		ReasonEmailNotVerified, ReasonEmailMissing, ReasonMetadataInvalid, ReasonAddressNotAllowed, ReasonSigningKeyMissing,
		ReasonTLSRequired, ReasonLDAPDomainNotConfigured, ReasonLDAPAmbiguousUser:
		return true
	}
	return false
}

// Label returns a short plain description of r for administrators'
// screens, e.g. "Signed, but by a key the connection does not trust" for
// ReasonUntrustedKey: what an audit log shows beside (or instead of) the
// code. Unknown reasons return their code.
func (r Reason) Label() string {
	switch r {
	case ReasonInvalidConfig:
		return "The configuration is incomplete or contradictory"
	case ReasonInvalidRequest:
		return "The browser's request was malformed"
	case ReasonRequestTooLarge:
		return "The request was too large"
	case ReasonStateMissing:
		return "The login expired, was used already, or was started elsewhere"
	case ReasonStateMismatch:
		return "The login belongs to another browser or connection"
	case ReasonUnavailable:
		return "The identity provider or a store could not be reached"
	case ReasonStoreFull:
		return "Too many logins in progress"
	case ReasonIdPError:
		return "The identity provider answered with an error"
	case ReasonInternal:
		return "An internal error"
	case ReasonMalformed:
		return "The message was malformed or not the expected one"
	case ReasonDoctypeForbidden:
		return "The XML had a DOCTYPE, which is refused"
	case ReasonSignatureMissing:
		return "Not signed where a signature is required"
	case ReasonSignatureInvalid:
		return "The signature does not verify"
	case ReasonUntrustedKey:
		return "Signed, but by a key the connection does not trust"
	case ReasonAlgorithmNotAllowed:
		return "Signed with an algorithm that is not allowed"
	case ReasonCertificateExpired:
		return "The identity provider's certificate has expired"
	case ReasonExpired:
		return "The assertion or token has expired"
	case ReasonNotYetValid:
		return "The assertion or token is not valid yet (clocks apart?)"
	case ReasonAudienceMismatch:
		return "Meant for another application (audience)"
	case ReasonRecipientMismatch:
		return "Sent for another ACS URL (recipient)"
	case ReasonDestinationMismatch:
		return "Sent to another ACS URL (destination)"
	case ReasonIssuerMismatch:
		return "Issued by another identity provider than the configured one"
	case ReasonUnknownIssuer:
		return "From an identity provider no connection knows"
	case ReasonInResponseToMismatch:
		return "Answers a login this browser did not start"
	case ReasonUnsolicited:
		return "Started at the identity provider, which the connection does not allow"
	case ReasonReplayed:
		return "Used before (replayed)"
	case ReasonAssertionCount:
		return "Not exactly one assertion"
	case ReasonSubjectMissing:
		return "No identifier for the person (NameID, sub)"
	case ReasonSubjectMismatch:
		return "Userinfo about another person than the ID token"
	case ReasonDecryptionFailed:
		return "Could not be decrypted"
	case ReasonEncryptedNotSupported:
		return "Encrypted in a way that is not supported"
	case ReasonNonceMismatch:
		return "The nonce does not match"
	case ReasonTokenExchangeFailed:
		return "The token endpoint refused the code"
	case ReasonEmailNotVerified:
		return "The email address is not verified"
	case ReasonEmailMissing:
		return "No email address was sent"
	case ReasonMetadataInvalid:
		return "The identity provider's metadata is unusable"
	case ReasonMetadataFetchFailed:
		return "The metadata could not be fetched"
	case ReasonAddressNotAllowed:
		return "The address is not allowed (private or plain http)"
	case ReasonLogoutNotSupported:
		return "The identity provider offers no single logout"
	case ReasonSigningKeyMissing:
		return "A signing key is needed but none is configured"
	case ReasonAuthenticationRequired:
		return "The identity provider asked to sign in again"
	case ReasonInvalidCredentials:
		return "Wrong directory password"
	case ReasonPasswordEmpty:
		return "Empty directory password"
	case ReasonPasswordExpired:
		return "The directory password has expired"
	case ReasonPasswordMustChange:
		return "The directory requires a password change"
	case ReasonAccountDisabled:
		return "The directory account is disabled"
	case ReasonAccountLocked:
		return "The directory account is locked"
	case ReasonAccountExpired:
		return "The directory account has expired"
	case ReasonLDAPUserNotFound:
		return "Nobody with this email in the directory"
	case ReasonLDAPAmbiguousUser:
		return "Several directory entries have this email"
	case ReasonTLSRequired:
		return "The directory refused TLS"
	case ReasonLDAPOperationFailed:
		return "A directory search failed"
	case ReasonLDAPDomainNotConfigured:
		return "No directory template for this email domain"
	case ReasonCrossOrigin:
		return "A form was sent from another site"
	case ReasonPasswordIncorrect:
		return "Wrong password"
	case ReasonPasswordDisabled:
		return "Password login is off"
	case ReasonNotAdministrator:
		return "A test login by someone who is not an administrator"
	case ReasonTooManyAttempts:
		return "Too many wrong passwords"
	case ReasonInvalidEmail:
		return "Not a usable email address"
	case ReasonNoSSO:
		return "No single sign-on for this email or domain"
	case ReasonDomainNotProven:
		return "The domain's DNS proof is missing"
	case ReasonAccountNotFound:
		return "No such account"
	case ReasonConnectionNotFound:
		return "No such connection"
	case ReasonConnectionNotLive:
		return "The connection is not live for this person"
	case ReasonEmailDomainNotAllowed:
		return "Email domain not allowed for this account"
	case ReasonUserNotProvisioned:
		return "No user here yet, and users are not created at login"
	case ReasonUserDisabled:
		return "The user is disabled"
	case ReasonLinkRequiresProof:
		return "Must log in with a password once to link"
	case ReasonSSORequired:
		return "Password refused: single sign-on required"
	case ReasonPasswordOnly:
		return "Single sign-on is off for this account"
	case ReasonWouldLockOut:
		return "Would lock every administrator out"
	case ReasonReauthRequired:
		return "Switching accounts needs another login"
	case ReasonConflict:
		return "Changed by someone else at the same time"
	case ReasonNotFound:
		return "Not found"
	case "":
		return ""
	}
	return string(r)
}

// UserMessage returns a short message suitable to show to the person logging
// in. It never reveals why a signature check failed or whether an account
// exists; administrators get that from the error's Detail.
func (r Reason) UserMessage() string {
	switch r {
	case ReasonInvalidEmail:
		return "Please enter a valid email address."
	case ReasonNoSSO, ReasonAccountNotFound:
		return "Single sign-on is not set up for this organisation. Log in with your password, or check the domain you entered."
	case ReasonSSORequired:
		return "Your organisation requires you to log in with single sign-on."
	case ReasonPasswordOnly:
		return "Single sign-on is not enabled for this account. Log in with your password."
	case ReasonUserNotProvisioned:
		return "You signed in with your organisation, but you do not have an account here yet. Ask an administrator to add you."
	case ReasonUserDisabled:
		return "Your account is disabled. Contact an administrator."
	case ReasonEmailDomainNotAllowed:
		return "Your email address is not allowed to use this organisation's single sign-on."
	case ReasonLinkRequiresProof:
		return "Log in with your password once to connect your account to single sign-on."
	case ReasonStateMissing, ReasonStateMismatch:
		return "Your login took too long or was started in another browser. Please try again."
	case ReasonCrossOrigin:
		return "This login request came from another site and was refused. Open the login page and try again."
	case ReasonPasswordDisabled:
		return "Log in with your organisation's single sign-on."
	case ReasonRequestTooLarge:
		return "The request was too large. Please try again."
	case ReasonInvalidRequest:
		return "The login request was incomplete or malformed. Please start again from the login page."
	case ReasonConnectionNotFound:
		return "This single sign-on connection does not exist. Check the link, or start again from the login page."
	case ReasonTooManyAttempts:
		return "Too many attempts. Sign in with your organisation again to start over."
	case ReasonNotAdministrator:
		return "Only administrators of this account may run a test login."
	case ReasonNetworkNotAllowed:
		return "Your organisation allows this login only from its own networks. Connect to your organisation's network or VPN, then try again."
	case ReasonInvalidCredentials, ReasonPasswordEmpty, ReasonLDAPUserNotFound, ReasonPasswordIncorrect:
		return "The email address or password is incorrect."
	case ReasonPasswordExpired, ReasonPasswordMustChange:
		return "Your directory password has expired or must be changed. Change it, then try again."
	case ReasonAccountDisabled, ReasonAccountLocked, ReasonAccountExpired:
		return "Your directory account is disabled or locked. Contact your IT department."
	case ReasonUnavailable:
		// Not only the identity provider: a database or Redis that is
		// down or slow fails a login the same way, and the person can do
		// nothing but wait.
		return "Sign-in cannot be completed right now because a service it needs is not answering. Please try again later."
	case ReasonStoreFull:
		return "Too many sign-ins are in progress right now. Please try again in a few minutes."
	case ReasonConnectionNotLive:
		return "Single sign-on for this organisation is still being tested and is not available to you yet."
	case ReasonReauthRequired:
		return "This account requires you to log in again."
	case ReasonIdPError, ReasonAuthenticationRequired:
		return "Your organisation's sign-in service did not complete the login. Please try again."
	}
	if r.ConfigurationFault() {
		return "Single sign-on for your organisation is not set up correctly, so this login cannot work until an administrator fixes it. Contact your administrator."
	}
	switch r {
	default:
		return "Single sign-on failed. Please try again, or contact your administrator if this keeps happening."
	}
}
