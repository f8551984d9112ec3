package ldap

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
)

// adDataCode finds the sub-code in an Active Directory bind diagnostic:
// "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error,
// data 52e, v3839".
var adDataCode = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{1,8})\b`)

// reasonDetail is the reason and Detail a directory's answer maps to.
type reasonDetail struct {
	reason sso.Reason
	detail string
}

// adSubcodes maps the sub-codes of Active Directory's result code 49.
var adSubcodes = map[string]reasonDetail{
	"525": {sso.ReasonLDAPUserNotFound, "Active Directory: no user has this name (data 525)"},
	"52e": {sso.ReasonInvalidCredentials, "Active Directory: wrong password (data 52e)"},
	"530": {sso.ReasonAccountDisabled, "Active Directory: the account may not log in at this time (logon hours, data 530)"},
	"531": {sso.ReasonAccountDisabled, "Active Directory: the account may not log in from this workstation (data 531)"},
	"532": {sso.ReasonPasswordExpired, "Active Directory: the password has expired (data 532)"},
	"533": {sso.ReasonAccountDisabled, "Active Directory: the account is disabled (data 533)"},
	"701": {sso.ReasonAccountExpired, "Active Directory: the account has expired (data 701)"},
	"773": {sso.ReasonPasswordMustChange, "Active Directory: the user must change the password (data 773)"},
	"775": {sso.ReasonAccountLocked, "Active Directory: the account is locked out (data 775)"},
}

// ParseADBindError returns the sub-code of an Active Directory bind
// diagnostic message ("52e", "775"...), lower-cased, and whether one was
// found.
func ParseADBindError(diagnostic string) (string, bool) {
	m := adDataCode.FindStringSubmatch(diagnostic)
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}

// Behera password policy error codes (draft-behera-ldap-password-policy).
var ppolicyReasons = map[int8]reasonDetail{
	0: {sso.ReasonPasswordExpired, "password policy: the password has expired"},
	1: {sso.ReasonAccountLocked, "password policy: the account is locked"},
	2: {sso.ReasonPasswordMustChange, "password policy: the password was reset and must be changed"},
}

// bindError classifies the failure of the user's bind.
func (a *Authenticator) bindError(err error, controls []goldap.Control, bindName string) error {
	if pp := passwordPolicy(controls); pp != nil {
		if r, ok := ppolicyReasons[pp.Error]; ok {
			return a.fail(r.reason, r.detail+" (bind name "+quoted(bindName)+")", err)
		}
	}
	var le *goldap.Error
	if !errors.As(err, &le) {
		return a.opError(err, "bind as the user")
	}
	diag := diagnostic(le)
	switch le.ResultCode {
	case goldap.LDAPResultInvalidCredentials:
		if code, ok := ParseADBindError(diag); ok {
			if r, known := adSubcodes[code]; known {
				return a.fail(r.reason, r.detail+" for "+quoted(bindName), err)
			}
			return a.fail(sso.ReasonInvalidCredentials, "Active Directory refused the bind for "+quoted(bindName)+" with sub-code "+code, err)
		}
		return a.fail(sso.ReasonInvalidCredentials, "the directory refused the password for "+quoted(bindName), err)
	case goldap.LDAPResultInappropriateAuthentication:
		return a.fail(sso.ReasonInvalidCredentials, "the directory refused a password bind for "+quoted(bindName)+" (the entry may have no password)", err)
	case goldap.LDAPResultNoSuchObject:
		return a.fail(sso.ReasonLDAPUserNotFound, "no entry "+quoted(bindName), err)
	case goldap.LDAPResultInvalidDNSyntax:
		if a.s.method == methodUPN {
			return a.fail(sso.ReasonInvalidConfig, "the directory does not accept an email as bind name (it needs a DN, so it is not Active Directory); resolve the DN with Search or Templates instead of UPN", err)
		}
		return a.fail(sso.ReasonLDAPOperationFailed, "the directory says "+quoted(bindName)+" is not a valid DN; check the DN template", err)
	case goldap.LDAPResultConfidentialityRequired, goldap.LDAPResultStrongAuthRequired:
		return a.fail(sso.ReasonTLSRequired, "the directory requires a protected connection for binds; use ldaps:// or ldap:// with StartTLS", err)
	case goldap.LDAPResultUnwillingToPerform:
		return a.fail(sso.ReasonLDAPOperationFailed, "the directory is unwilling to perform the bind for "+quoted(bindName)+": "+diag, err)
	}
	return a.opError(err, "bind as the user")
}

// opError classifies the failure of a search or a bind that is not about the
// user's credentials.
func (a *Authenticator) opError(err error, what string) error {
	var se *sso.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return a.fail(sso.ReasonUnavailable, what+": the login was cancelled or timed out", err)
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		diag := diagnostic(le)
		switch le.ResultCode {
		case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultTimeLimitExceeded,
			goldap.LDAPResultTimeout, goldap.LDAPResultServerDown, goldap.LDAPResultConnectError,
			goldap.ErrorNetwork:
			return a.fail(sso.ReasonUnavailable, what+": the directory did not answer: "+diag, err)
		case goldap.LDAPResultNoSuchObject:
			return a.fail(sso.ReasonLDAPOperationFailed, what+": the base DN does not exist in the directory (matched "+quoted(le.MatchedDN)+")", err)
		case goldap.LDAPResultInsufficientAccessRights:
			return a.fail(sso.ReasonLDAPOperationFailed, what+": the directory refused access; give the service account read access or configure one", err)
		case goldap.LDAPResultOperationsError:
			// Active Directory (000004DC) and Samba AD (00002020) refuse an
			// anonymous search this way.
			if strings.Contains(diag, "000004DC") || strings.Contains(diag, "00002020") {
				return a.fail(sso.ReasonLDAPOperationFailed, what+": the directory requires a bind before searching; configure a service account (Search.BindDN)", err)
			}
		case goldap.LDAPResultConfidentialityRequired, goldap.LDAPResultStrongAuthRequired:
			return a.fail(sso.ReasonTLSRequired, what+": the directory requires TLS", err)
		}
		return a.fail(sso.ReasonLDAPOperationFailed, what+": "+goldap.LDAPResultCodeMap[le.ResultCode]+" "+diag, err)
	}
	return a.fail(sso.ReasonUnavailable, what+": "+err.Error(), err)
}

// fail builds the authenticator's *sso.Error.
func (a *Authenticator) fail(reason sso.Reason, detail string, cause error) error {
	return &sso.Error{Op: "ldap.Complete", Reason: reason, Connection: a.s.ID, Detail: strings.TrimSpace(detail), Err: cause}
}

// diagnostic returns the server's diagnostic message of an LDAP error.
func diagnostic(le *goldap.Error) string {
	if le.Err == nil {
		return ""
	}
	return le.Err.Error()
}

func passwordPolicy(controls []goldap.Control) *goldap.ControlBeheraPasswordPolicy {
	for _, c := range controls {
		if pp, ok := c.(*goldap.ControlBeheraPasswordPolicy); ok {
			return pp
		}
	}
	return nil
}

// dialFailure is one server's connection failure.
type dialFailure struct {
	url string
	tls bool // a TLS problem (refused StartTLS, untrusted certificate) rather than an unreachable server
	err error
}

// errDial reports that no server could be used.
type errDial struct {
	failures []dialFailure
}

func (e *errDial) Error() string {
	parts := make([]string, len(e.failures))
	for i, f := range e.failures {
		parts[i] = f.url + ": " + f.err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e *errDial) Unwrap() []error {
	errs := make([]error, len(e.failures))
	for i, f := range e.failures {
		errs[i] = f.err
	}
	return errs
}

// dialError turns an *errDial into the *sso.Error of the login: a TLS
// problem on any server is ReasonTLSRequired (an administrator must fix
// it), otherwise ReasonUnavailable.
func (a *Authenticator) dialError(err error) error {
	var se *sso.Error
	if errors.As(err, &se) {
		return err
	}
	var de *errDial
	if !errors.As(err, &de) {
		return a.opError(err, "connect")
	}
	for _, f := range de.failures {
		if f.tls {
			return a.fail(sso.ReasonTLSRequired, "no server could be used over TLS: a server refused StartTLS, is not speaking TLS, or has a certificate that is not trusted for its name (set CACertPEM or ServerName)", err)
		}
	}
	return a.fail(sso.ReasonUnavailable, "no server answered", err)
}

func quoted(s string) string { return fmt.Sprintf("%q", s) }
