package login

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// DefaultModuleAttributes are the attributes that carry SmartSimple's
// SSOModule.
var DefaultModuleAttributes = []string{"SSOModule"}

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxBodyBytes caps the body of the handler's own forms.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxACSBodyBytes caps the body of a SAML POST (ACS and single
	// logout): a base64 SAMLResponse of saml.DefaultMaxResponseBytes with
	// room to spare.
	DefaultMaxACSBodyBytes = 1 << 20
	// DefaultReturnPath is where a login lands without a return path.
	DefaultReturnPath = "/"
	// DefaultBindingWait is how long an SSO identity waits for the password
	// login that binds it, when its connection sets no window.
	DefaultBindingWait = provisioning.DefaultBindingWindow
	// DefaultMaxBindingTries is how many wrong passwords an identity that
	// waits for login binding takes before it is dropped.
	DefaultMaxBindingTries = 5
	// ContinueWait is how long an IdP-initiated login waits to be
	// finished on the handler's own page (GET /login/continue), where the
	// browser sends the host's session cookie.
	ContinueWait = 5 * time.Minute
)

// Config configures a Handler. Registry, Provisioner, Users and Sessions
// are required; every other zero field means a safe default.
type Config struct {
	// BasePath is the path prefix the handler is mounted under, e.g.
	// "/auth", or "" for the root. Links and form actions on its pages start
	// with it. Requests reach the handler with or without the prefix (for
	// example through http.StripPrefix). When empty it is the path of the
	// Registry's BaseURL; when both are set they must agree.
	BasePath string

	// Registry holds the accounts and their connections: the one place
	// the host declares its tenants.
	Registry *Registry
	// Provisioner maps identities to the application's users.
	// *provisioning.Provisioner implements it.
	Provisioner Provisioner
	// Users gives the facts policy decisions need about the application's
	// users. StoreUsers is the default implementation.
	Users Users
	// Sessions starts and ends the host's own session. The handler never
	// keeps a session of its own.
	Sessions Sessions
	// Passwords checks the host's own passwords. Nil turns password login
	// off: the login page then only finds single sign-on connections.
	Passwords PasswordChecker

	// StateStore keeps the identities that wait on one of the handler's pages:
	// for the password and the confirmation of a login binding (see
	// provisioning.LoginBinding), and IdP-initiated logins that are
	// finished on a same-site page (so that the host's session cookie is
	// seen). Records are written only for identities an identity provider
	// proved, at most one per identity (a newer login replaces it), and
	// expire within minutes; pending logins themselves are sealed into the
	// browser and need no store. A bounded in-memory store when nil, which
	// refuses new records when full rather than drop waiting ones; pass a
	// shared store when the application runs several instances.
	StateStore sso.StateStore
	// MaxBindingTries is how many wrong passwords an identity waiting for
	// login binding takes before it is dropped; DefaultMaxBindingTries
	// when zero.
	MaxBindingTries int

	// Templates replaces the default pages. It must define every template
	// named in this package's Template* constants; see DefaultTemplates
	// for the data each one receives.
	Templates *template.Template

	// CanAdminister reports whether the request comes from an administrator
	// of the account. When it does, error pages show the Reason and Detail
	// as in debug mode, and test logins (see Handler.TestLoginURL) may be
	// run. Nil means nobody: no test logins, details only in debug mode.
	CanAdminister func(r *http.Request, account string) bool

	// ModuleAttributes names the attributes whose value, in an
	// IdP-initiated login, picks the connection among the account's
	// connections by their discovery Module (SmartSimple's SSOModule),
	// tried in order, ignoring the case of ASCII letters;
	// DefaultModuleAttributes when nil.
	ModuleAttributes []string

	// OfferMemberAccounts adds, when a known user's email is typed, the
	// connections of every account the user is a member of to those of the
	// email's domain: the picker of a person in several accounts with
	// different identity providers and domains. It tells whoever types an
	// address which accounts it belongs to, so it is off by default; a
	// domain shared by the accounts (discovery.Domain.Shared) gives the
	// same picker without revealing anything.
	OfferMemberAccounts bool

	// DefaultReturnPath is where a login lands when no return path was
	// given; DefaultReturnPath when empty. It must be a same-site path.
	DefaultReturnPath string
	// LogoutReturnPath is where the browser goes after a logout that has no
	// single logout and no logout redirect URL; DefaultReturnPath when
	// empty. It must be a same-site path.
	LogoutReturnPath string

	// TrustedProxies are the reverse proxies and load balancers in front of
	// the handler: only a request from one of them has its client address
	// taken from X-Forwarded-For (the last address in it that is not a
	// trusted proxy), for the allowed networks of accounts and
	// connections. Empty: the peer's address counts.
	TrustedProxies []netip.Prefix

	// TrustedOrigins are origins ("https://admin.example") whose
	// cross-origin POSTs to the handler's forms are allowed. Empty: only
	// same-origin requests.
	TrustedOrigins []string
	// MaxBodyBytes caps the body of the handler's forms;
	// DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// MaxSAMLBodyBytes caps the body of SAML POSTs to the ACS and single
	// logout endpoints; DefaultMaxACSBodyBytes when zero.
	MaxSAMLBodyBytes int64

	// CookieKeys seal the cookies the handler keeps in the browser: every
	// pending login and the login binding (see sso.Cookies). The first key
	// seals, every key opens, so keys rotate without failed logins: put a
	// new key first, drop the old one an hour later. Each is
	// sso.SealKeySize random bytes (sso.NewSealKey). When empty a random
	// key is made at New: pending logins then do not survive a restart,
	// and the replicas of an application must share their keys.
	CookieKeys [][]byte
	// CookiePrefix begins the names of the handler's cookies;
	// sso.DefaultCookiePrefix when empty.
	CookiePrefix string
	// SecureCookies marks the handler's cookies Secure, SameSite=None and
	// __Host- on every request. Set it when TLS ends at a proxy in front of
	// the application, where the handler sees plain http requests. Without
	// it the cookies are secure on https requests and on loopback hosts
	// (localhost, 127.0.0.1), which browsers treat as secure contexts; see
	// the package documentation.
	SecureCookies bool

	// Events receives an audit event for every failed login and refused
	// password, and for successful password logins. Nil drops them.
	Events sso.EventFunc
	// Logger receives one record per failure, without secrets or protocol
	// messages; in a connection's debug mode also the identity's
	// attributes. slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Validate reports a missing required field or a bad path as an
// *sso.Error with sso.ReasonInvalidConfig naming the field.
func (c *Config) Validate() error {
	bad := func(detail string) error {
		return &sso.Error{Op: "login.Config.Validate", Reason: sso.ReasonInvalidConfig, Detail: detail}
	}
	switch {
	case c.Registry == nil:
		return bad("Registry is nil: pass a *login.Registry holding the accounts and their connections (login.NewRegistry)")
	case c.Provisioner == nil:
		return bad("Provisioner is nil: pass a *provisioning.Provisioner")
	case c.Users == nil:
		return bad("Users is nil: pass login.StoreUsers over the provisioning store, or your own implementation")
	case c.Sessions == nil:
		return bad("Sessions is nil: pass the application's session starter (see login.Sessions)")
	}
	if p := c.Registry.basePath; c.BasePath != "" && p != "" && c.BasePath != p {
		return bad("BasePath " + quote(c.BasePath) + " differs from the path of the Registry's BaseURL " + quote(c.Registry.base) + "; leave BasePath empty")
	}
	if c.BasePath != "" && (!strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/") || strings.ContainsAny(c.BasePath, "?#\\ ")) {
		return bad("BasePath " + quote(c.BasePath) + " must start with / and not end with / (e.g. \"/auth\"), or be empty")
	}
	for name, p := range map[string]string{"DefaultReturnPath": c.DefaultReturnPath, "LogoutReturnPath": c.LogoutReturnPath} {
		if p == "" {
			continue
		}
		if _, ok := sso.SafeReturnPath(p); !ok {
			return bad(name + " " + quote(p) + " must be a same-site path starting with / (e.g. \"/\")")
		}
	}
	if c.MaxBodyBytes < 0 || c.MaxSAMLBodyBytes < 0 || c.MaxBindingTries < 0 {
		return bad("MaxBodyBytes, MaxSAMLBodyBytes and MaxBindingTries must not be negative")
	}
	cc := sso.CookieConfig{Keys: c.CookieKeys, Prefix: c.CookiePrefix}
	if err := cc.Validate(); err != nil {
		var se *sso.Error
		errors.As(err, &se)
		return bad("cookies (CookieKeys, CookiePrefix): " + se.Detail)
	}
	if c.Templates != nil {
		for _, n := range templateNames {
			if c.Templates.Lookup(n) == nil {
				return bad("Templates defines no template " + quote(n) + ": start from login.DefaultTemplates() and replace what you need")
			}
		}
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }

// Provisioner is the part of *provisioning.Provisioner the handler uses.
// Provision must honour Request.Authorize (a refusal there writes nothing)
// and Request.BindTo.
type Provisioner interface {
	Provision(ctx context.Context, req provisioning.Request) (*provisioning.Result, error)
}

var _ Provisioner = (*provisioning.Provisioner)(nil)

// Previewer is implemented by Provisioners that can tell what a login
// would do without doing it. An administrator's test login shows the plan
// (which user, matched how, what would be created, linked and updated, or
// why the login would be refused) when Config.Provisioner implements it.
type Previewer interface {
	Preview(ctx context.Context, req provisioning.Request) (*provisioning.Plan, error)
}

var _ Previewer = (*provisioning.Provisioner)(nil)

// Users gives the facts about the application's users that policy
// decisions need. Implementations must be safe for concurrent use;
// StoreUsers is the default.
type Users interface {
	// UserByEmail returns the ID of the user with the email (compared
	// without regard to case), or an error matching sso.ReasonNotFound.
	UserByEmail(ctx context.Context, email string) (string, error)
	// Accounts returns the IDs of the accounts the user is a member of.
	Accounts(ctx context.Context, userID string) ([]string, error)
	// Facts returns what policy needs to know about the user in the
	// account: email, roles, whether an administrator.
	Facts(ctx context.Context, userID, account string) (policy.User, error)
	// FactsOf returns the same for the user a single sign-on login
	// reaches, as the login would leave them (res holds the user and the
	// membership, with the roles it grants, before they are stored). It is
	// called inside provisioning's transaction, so that policy refuses
	// before anything is written: judge from res, not from the store.
	FactsOf(ctx context.Context, res *provisioning.Result) (policy.User, error)
}

// PasswordChecker checks the host's own passwords. The handler asks policy
// first and calls CheckPassword only for people allowed to use a password.
type PasswordChecker interface {
	// CheckPassword returns the ID of the user with this email and
	// password, or an error (any error counts as a wrong password; its text
	// is logged, never shown).
	CheckPassword(ctx context.Context, email string, password sso.Secret) (userID string, err error)
}

// PasswordCheckFunc adapts a function to PasswordChecker.
type PasswordCheckFunc func(ctx context.Context, email string, password sso.Secret) (string, error)

// CheckPassword calls f.
func (f PasswordCheckFunc) CheckPassword(ctx context.Context, email string, password sso.Secret) (string, error) {
	return f(ctx, email, password)
}

// Sessions is the host's session: the handler calls StartSession after a
// successful login and EndSession at logout. ssokit never owns the
// application's session.
type Sessions interface {
	// StartSession starts the host's session for res, typically by setting
	// a cookie on w. It must not write a status or body: the handler
	// redirects to res.ReturnTo afterwards. An error fails the login.
	StartSession(w http.ResponseWriter, r *http.Request, res *Result) error
	// EndSession ends the host's session and returns the identity of the
	// single sign-on login it came from (as given to StartSession in
	// Result.Identity), or nil for a password session or none. The handler
	// uses it for single logout and the connection's logout redirect.
	EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error)
	// CurrentUser returns the ID of the user whose session the request
	// carries, or "" when none. Before an IdP-initiated login replaces
	// another user's session, the handler asks the person.
	CurrentUser(r *http.Request) string
}

// SessionEnder is implemented by Sessions that can end sessions other
// than the one a request carries. The identity provider's own single
// logout request (a person logged out at the identity provider, or at
// another application of it) arrives at /saml/{connection}/slo, often
// without the browser's session cookie (a cross-site POST does not carry
// SameSite=Lax cookies), so the handler asks the host to end, by their
// identity, the sessions it names. Without a SessionEnder the handler ends
// nothing and tells the identity provider that the logout failed.
type SessionEnder interface {
	// EndSessions ends every session that logged in through the
	// connection and whose identity (Result.Identity given to
	// StartSession) matches reports true, and reports whether some of them
	// could not be ended (partial).
	EndSessions(ctx context.Context, connection string, matches func(*sso.Identity) bool) (partial bool, err error)
}

// Result is a successful login, handed to Sessions.StartSession.
type Result struct {
	// User is the application's user ID.
	User string
	// Email is the user's email as the login knew it.
	Email string
	// Method is how the person logged in.
	Method policy.Method
	// Identity is what the connection proved; nil for a password login.
	Identity *sso.Identity
	// Accounts are the accounts this login grants: for single sign-on only
	// the account whose connection the login went through; for a password
	// login the user's accounts whose policy allows a password.
	Accounts []string
	// Refused are the decisions of the user's accounts that a password
	// login does not grant (their policy requires single sign-on).
	Refused []policy.Decision
	// ReturnTo is the same-site path the browser is sent to next.
	ReturnTo string
	// Provisioning is the provisioning result of a single sign-on login.
	Provisioning *provisioning.Result
	// Decisions are the policy decisions that allowed the login, one per
	// granted account.
	Decisions []policy.Decision
	// SecondFactorRequired reports that an account still requires the
	// host's own second factor.
	SecondFactorRequired bool
}
