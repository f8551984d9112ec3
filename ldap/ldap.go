package ldap

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
)

// Authenticator is one LDAP connection: an [sso.Authenticator] whose Begin
// asks for a password and whose Complete checks it against the directory.
//
// It is safe for concurrent use. It owns two connection pools and a
// goroutine that closes idle connections; Close releases them.
type Authenticator struct {
	s     *settings
	d     *dialer
	svc   *pool // searches, as the service account or anonymous
	binds *pool // users' binds

	namingMu      sync.Mutex
	namingContext string // root DSE defaultNamingContext, for UPN

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ sso.Authenticator = (*Authenticator)(nil)

// New validates cfg, fills in the defaults and returns the authenticator.
// It does not connect: the first login does. Errors match
// [sso.ReasonInvalidConfig].
func New(cfg Config) (*Authenticator, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	d := newDialer(s)
	a := &Authenticator{s: s, d: d, stop: make(chan struct{}), done: make(chan struct{})}
	var bindDN string
	var bindPW sso.Secret
	if s.Search != nil {
		bindDN, bindPW = s.Search.BindDN, s.Search.BindPassword
	}
	a.svc = newPool("service", s, d, bindDN, bindPW)
	a.binds = newPool("bind", s, d, "", "")
	go a.janitor()
	return a, nil
}

// ID returns the connection ID.
func (a *Authenticator) ID() string { return a.s.ID }

// Protocol returns [sso.ProtocolLDAP].
func (a *Authenticator) Protocol() sso.Protocol { return sso.ProtocolLDAP }

// Issuer returns "": a directory starts no logins of its own.
func (a *Authenticator) Issuer() string { return "" }

// Endpoints returns no URLs: the directory calls none.
func (a *Authenticator) Endpoints() sso.Endpoints { return sso.Endpoints{} }

// Debug reports Config.Debug.
func (a *Authenticator) Debug() bool { return a.s.Debug }

var _ sso.ConnectionInfo = (*Authenticator)(nil)

// Begin returns a [sso.StepPasswordPrompt]: the host asks for the email and
// password and passes them to Complete. A ReturnTo that is not a safe
// same-site path is refused with [sso.ReasonInvalidRequest]; LDAP keeps no
// state between Begin and Complete, so the host carries ReturnTo itself.
func (a *Authenticator) Begin(ctx context.Context, req sso.BeginRequest) (*sso.Step, error) {
	if req.ReturnTo != "" {
		if _, ok := sso.SafeReturnPath(req.ReturnTo); !ok {
			return nil, &sso.Error{Op: "ldap.Begin", Reason: sso.ReasonInvalidRequest, Connection: a.s.ID,
				Detail: "ReturnTo is not a same-site relative path"}
		}
	}
	return &sso.Step{Kind: sso.StepPasswordPrompt}, nil
}

// Complete checks req.Email and req.Password against the directory: it
// resolves the email to an entry's DN (by search, template or UPN), binds
// as that entry with the password, and reads the entry's names, email and
// groups. Errors are *sso.Error values whose Reason says what failed; none
// of them contains the password.
//
// The email is validated with [sso.NormalizeEmail] and an empty password is
// refused with [sso.ReasonPasswordEmpty] before anything is sent.
func (a *Authenticator) Complete(ctx context.Context, req sso.CompleteRequest) (*sso.Identity, error) {
	email, err := sso.NormalizeEmail(req.Email)
	if err != nil {
		var se *sso.Error
		errors.As(err, &se)
		return nil, &sso.Error{Op: "ldap.Complete", Reason: sso.ReasonInvalidEmail, Connection: a.s.ID, Detail: se.Detail, Err: err}
	}
	if req.Password == "" {
		return nil, a.fail(sso.ReasonPasswordEmpty, "the password is empty; a bind without a password is anonymous and would succeed, so it is refused", nil)
	}
	switch a.s.method {
	case methodSearch:
		return a.loginSearch(ctx, email, req.Password)
	case methodTemplate:
		return a.loginTemplate(ctx, email, req.Password)
	default:
		return a.loginUPN(ctx, email, req.Password)
	}
}

// Close closes the pooled connections and stops the background goroutine.
// Logins in progress finish; later ones fail with [sso.ReasonUnavailable].
func (a *Authenticator) Close() error {
	a.closeOnce.Do(func() {
		close(a.stop)
		<-a.done
		a.svc.close()
		a.binds.close()
	})
	return nil
}

// Stats reports the state of the connection pools.
func (a *Authenticator) Stats() Stats {
	return Stats{Service: a.svc.stats(), Bind: a.binds.stats()}
}

func (a *Authenticator) janitor() {
	defer close(a.done)
	interval := max(a.s.IdleTimeout/2, 100*time.Millisecond)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			now := a.s.Now()
			a.svc.evict(now)
			a.binds.evict(now)
		}
	}
}

// loginSearch: search as the service account, then bind as the entry found.
func (a *Authenticator) loginSearch(ctx context.Context, email string, pw sso.Secret) (*sso.Identity, error) {
	sr := a.s.Search
	filter := a.s.userFilter + EscapeFilterValue(email) + "))"
	req := goldap.NewSearchRequest(sr.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, filter, a.s.readAttrs, nil)
	var (
		entry  *goldap.Entry
		groups []string
	)
	held, err := a.serviceOp(ctx, func(c *conn) error {
		e, err := a.searchOne(ctx, c, req, "no entry under "+quoted(sr.BaseDN)+" matches "+filter)
		if err != nil {
			return err
		}
		if strings.TrimSpace(e.DN) == "" {
			// A bind with an empty name would be anonymous.
			return a.fail(sso.ReasonLDAPOperationFailed, "the search returned an entry without a DN", nil)
		}
		entry = e
		if a.s.GroupSearch != nil {
			groups, err = a.searchGroups(ctx, c, e.DN, email)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	url, warnings, err := a.bindUser(ctx, held, entry.DN, pw, nil)
	if err != nil {
		return nil, err
	}
	return a.identity(entry, entry.DN, url, email, groups, warnings)
}

// loginTemplate: bind as the DN built from the template of the email's
// domain, then read the entry as the user.
func (a *Authenticator) loginTemplate(ctx context.Context, email string, pw sso.Secret) (*sso.Identity, error) {
	domain := sso.EmailDomain(email)
	tmpl, ok := a.s.templates[domain]
	if !ok {
		known := make([]string, 0, len(a.s.templates))
		for d := range a.s.templates {
			known = append(known, d)
		}
		sort.Strings(known)
		return nil, a.fail(sso.ReasonLDAPDomainNotConfigured,
			"no DN template for the domain "+quoted(domain)+"; templates exist for "+strings.Join(known, ", "), nil)
	}
	local := email[:strings.LastIndexByte(email, '@')]
	dn := strings.Replace(tmpl, "{}", EscapeDNValue(local), 1)
	var (
		entry  *goldap.Entry
		groups []string
	)
	url, warnings, err := a.bindUser(ctx, nil, dn, pw, func(c *conn) error {
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", a.s.readAttrs, nil)
		var res *goldap.SearchResult
		err := run(ctx, c, a.s.OpTimeout, func() (err error) { res, err = c.lc.Search(req); return err })
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return err
		}
		err = nil
		readDN := dn
		if res != nil && len(res.Entries) == 1 {
			entry = res.Entries[0]
			readDN = entry.DN
		}
		if a.s.GroupSearch != nil {
			groups, err = a.searchGroups(ctx, c, readDN, email)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if entry == nil {
		warnings = append(warnings, sso.Warning{Reason: sso.ReasonLDAPOperationFailed,
			Detail: "the user could bind but not read the entry " + quoted(dn) + "; names and groups are missing"})
		entry = &goldap.Entry{DN: dn}
	}
	return a.identity(entry, entry.DN, url, email, groups, warnings)
}

// loginUPN: bind with the email as bind name (Active Directory), then find
// the entry as the user.
func (a *Authenticator) loginUPN(ctx context.Context, email string, pw sso.Secret) (*sso.Identity, error) {
	var (
		entry  *goldap.Entry
		groups []string
	)
	url, warnings, err := a.bindUser(ctx, nil, email, pw, func(c *conn) error {
		base, err := a.upnBase(ctx, c)
		if err != nil {
			return err
		}
		local := email[:strings.LastIndexByte(email, '@')]
		filters := []string{
			"(" + a.s.UPN.Attribute + "=" + EscapeFilterValue(email) + ")",
			"(sAMAccountName=" + EscapeFilterValue(local) + ")",
		}
		for i, f := range filters {
			req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
				2, 0, false, f, a.s.readAttrs, nil)
			entry, err = a.searchOne(ctx, c, req, "the user bound, but no entry under "+quoted(base)+" matches "+strings.Join(filters, " or ")+"; set the users' "+a.s.UPN.Attribute)
			if err != nil && i == 0 && errors.Is(err, sso.ReasonLDAPUserNotFound) {
				continue
			}
			break
		}
		if err != nil {
			return err
		}
		if a.s.GroupSearch != nil {
			groups, err = a.searchGroups(ctx, c, entry.DN, email)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.identity(entry, entry.DN, url, email, groups, warnings)
}

// upnBase returns UPN.BaseDN, or the directory's defaultNamingContext read
// once from the root DSE.
func (a *Authenticator) upnBase(ctx context.Context, c *conn) (string, error) {
	if a.s.UPN.BaseDN != "" {
		return a.s.UPN.BaseDN, nil
	}
	a.namingMu.Lock()
	nc := a.namingContext
	a.namingMu.Unlock()
	if nc != "" {
		return nc, nil
	}
	req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil)
	var res *goldap.SearchResult
	if err := run(ctx, c, a.s.OpTimeout, func() (err error) { res, err = c.lc.Search(req); return err }); err != nil {
		return "", err
	}
	if len(res.Entries) == 1 {
		nc = res.Entries[0].GetAttributeValue("defaultNamingContext")
	}
	if nc == "" {
		return "", a.fail(sso.ReasonInvalidConfig, "the root DSE has no defaultNamingContext; set UPN.BaseDN", nil)
	}
	a.namingMu.Lock()
	a.namingContext = nc
	a.namingMu.Unlock()
	return nc, nil
}

// searchOne runs req on c and requires exactly one entry.
func (a *Authenticator) searchOne(ctx context.Context, c *conn, req *goldap.SearchRequest, notFound string) (*goldap.Entry, error) {
	var res *goldap.SearchResult
	err := run(ctx, c, a.s.OpTimeout, func() (err error) { res, err = c.lc.Search(req); return err })
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, err
	}
	switch {
	case res == nil || len(res.Entries) == 0:
		if err != nil {
			return nil, err
		}
		return nil, a.fail(sso.ReasonLDAPUserNotFound, notFound, nil)
	case len(res.Entries) > 1 || err != nil:
		dns := make([]string, len(res.Entries))
		for i, e := range res.Entries {
			dns[i] = e.DN
		}
		return nil, a.fail(sso.ReasonLDAPAmbiguousUser, "several entries match "+req.Filter+": "+strings.Join(dns, "; ")+"; each email must belong to one entry", nil)
	}
	return res.Entries[0], nil
}

// searchGroups runs the configured group search for the user.
func (a *Authenticator) searchGroups(ctx context.Context, c *conn, dn, email string) ([]string, error) {
	g := a.s.GroupSearch
	attrs := []string{g.NameAttribute}
	if a.s.GroupsAsDN {
		attrs = []string{"1.1"}
	}
	req := goldap.NewSearchRequest(g.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, expandGroupFilter(g.Filter, dn, email), attrs, nil)
	var res *goldap.SearchResult
	if err := run(ctx, c, a.s.OpTimeout, func() (err error) { res, err = c.lc.Search(req); return err }); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		name := e.DN
		if !a.s.GroupsAsDN {
			if v := e.GetEqualFoldAttributeValue(g.NameAttribute); v != "" {
				name = v
			} else {
				name = firstRDNValue(e.DN)
			}
		}
		out = append(out, name)
	}
	return out, nil
}

// serviceOp runs fn on a service connection, trying once more on a fresh
// connection when a reused one turns out to be broken. With DisablePooling
// it returns the connection, still held, for the user's bind; otherwise
// it returns nil.
func (a *Authenticator) serviceOp(ctx context.Context, fn func(c *conn) error) (*conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := a.svc.get(ctx)
		if err != nil {
			return nil, a.connectError(err)
		}
		err = fn(c)
		if err != nil && attempt == 0 && retryable(c, err, false) {
			a.svc.put(c, false)
			continue
		}
		if err != nil {
			a.svc.put(c, reusableAfter(c, err))
			return nil, a.opError(err, "search")
		}
		if a.s.DisablePooling {
			return c, nil
		}
		a.svc.put(c, true)
		return nil, nil
	}
}

// ppolicyRequest asks the directory for password policy details on the
// user's bind (non-critical, so directories without it ignore it).
var ppolicyRequest = []goldap.Control{goldap.NewControlBeheraPasswordPolicy()}

// bindUser binds as name with the password, on held if not nil (the
// login's own connection with DisablePooling) or on a connection of the
// bind pool, then runs after, if set, on the same connection as the user.
// It returns the URL of the server that checked the password and warnings
// from the password policy.
func (a *Authenticator) bindUser(ctx context.Context, held *conn, name string, pw sso.Secret, after func(c *conn) error) (string, []sso.Warning, error) {
	put := func(c *conn, reusable bool) {
		if held != nil {
			a.svc.put(c, false)
			return
		}
		a.binds.put(c, reusable)
	}
	for attempt := 0; ; attempt++ {
		c := held
		if c == nil {
			var err error
			if c, err = a.binds.get(ctx); err != nil {
				return "", nil, a.connectError(err)
			}
		}
		var res *goldap.SimpleBindResult
		err := run(ctx, c, a.s.OpTimeout, func() (err error) {
			res, err = c.lc.SimpleBind(&goldap.SimpleBindRequest{Username: name, Password: pw.Reveal(), Controls: ppolicyRequest})
			return err
		})
		if err != nil && held == nil && attempt == 0 && retryable(c, err, true) {
			put(c, false)
			continue
		}
		if err != nil {
			put(c, reusableAfter(c, err))
			var controls []goldap.Control
			if res != nil {
				controls = res.Controls
			}
			return "", nil, a.bindError(err, controls, name)
		}
		var warnings []sso.Warning
		if pp := passwordPolicy(res.Controls); pp != nil {
			if r, ok := ppolicyReasons[pp.Error]; ok {
				// The bind succeeded, but the password policy restricts the
				// session, e.g. to changing a password an administrator reset.
				put(c, true)
				return "", nil, a.fail(r.reason, r.detail+" (bind name "+quoted(name)+")", nil)
			}
			if pp.Expire >= 0 {
				warnings = append(warnings, sso.Warning{Reason: sso.ReasonPasswordExpired, Detail: fmt.Sprintf("the directory password expires in %s", time.Duration(pp.Expire)*time.Second)})
			}
			if pp.Grace >= 0 {
				warnings = append(warnings, sso.Warning{Reason: sso.ReasonPasswordExpired, Detail: fmt.Sprintf("the directory password has expired; %d grace logins left", pp.Grace)})
			}
		}
		if after != nil {
			err = after(c)
		}
		put(c, reusableAfter(c, err))
		if err != nil {
			return "", nil, a.opError(err, "read the user's entry")
		}
		return c.url, warnings, nil
	}
}

// connectError classifies a failure to get a connection.
func (a *Authenticator) connectError(err error) error {
	var sb *serviceBindError
	if errors.As(err, &sb) {
		var le *goldap.Error
		if errors.As(sb.err, &le) && le.Packet != nil && le.ResultCode < goldap.ErrorNetwork {
			switch le.ResultCode {
			case goldap.LDAPResultInvalidCredentials, goldap.LDAPResultInvalidDNSyntax, goldap.LDAPResultNoSuchObject:
				return a.fail(sso.ReasonInvalidConfig, "the service account "+quoted(sb.dn)+" could not bind at "+sb.url+": check Search.BindDN and Search.BindPassword", err)
			case goldap.LDAPResultConfidentialityRequired, goldap.LDAPResultStrongAuthRequired:
				return a.fail(sso.ReasonTLSRequired, "the directory at "+sb.url+" requires TLS for binds", err)
			}
			return a.fail(sso.ReasonLDAPOperationFailed, "the service account "+quoted(sb.dn)+" could not bind at "+sb.url, err)
		}
		return a.opError(sb.err, "bind as the service account")
	}
	if errors.Is(err, errPoolClosed) {
		return a.fail(sso.ReasonUnavailable, "the authenticator is closed", err)
	}
	return a.dialError(err)
}

// identity builds the Identity of a successful login.
func (a *Authenticator) identity(entry *goldap.Entry, dn, url, loginEmail string, groups []string, warnings []sso.Warning) (*sso.Identity, error) {
	subject, err := NormalizeDN(dn)
	if err != nil {
		return nil, a.fail(sso.ReasonLDAPOperationFailed, "the directory returned an invalid DN "+quoted(dn), err)
	}
	at := a.s.attrs
	id := &sso.Identity{
		Connection:  a.s.ID,
		Protocol:    sso.ProtocolLDAP,
		Issuer:      url,
		Subject:     subject,
		Email:       loginEmail,
		GivenName:   firstValue(entry, at.GivenName),
		FamilyName:  firstValue(entry, at.FamilyName),
		DisplayName: firstValue(entry, at.DisplayName),
		Attributes:  map[string][]string{},
		AuthTime:    a.s.Now(),
		Warnings:    warnings,
	}
	fromMail := false
	if name, mails := firstValues(entry, at.Email); len(mails) > 0 {
		id.Email = ""
		for _, m := range mails {
			n, err := sso.NormalizeEmail(m)
			if err != nil {
				continue
			}
			if sso.EqualFoldASCII(n, loginEmail) {
				id.Email = n
				break
			}
			if id.Email == "" {
				id.Email = n
			}
		}
		if id.Email == "" {
			id.Email = loginEmail
			id.Warnings = append(id.Warnings, sso.Warning{Reason: sso.ReasonInvalidEmail, Detail: "the entry's " + name + " holds no valid email; using the login email"})
		} else {
			fromMail = true
		}
	}
	switch {
	case fromMail:
		// Only an address the directory states in its mail attribute is
		// one TrustEmail vouches for.
		id.EmailVerified = a.s.TrustEmail
	case a.s.TrustUPNAsEmail:
		// A login by UPN without a mail value: the email is the UPN, which
		// counts as verified only by the connection's explicit choice, and
		// only when the entry's UPN attribute holds it.
		if upn := a.entryUPN(entry, loginEmail); upn != "" {
			id.Email, id.EmailVerified = upn, true
		}
	}
	for _, attr := range entry.Attributes {
		id.Attributes[attr.Name] = append(id.Attributes[attr.Name], attr.Values...)
	}
	if a.s.GroupSearch == nil {
		for _, name := range at.Groups {
			for _, g := range entry.GetEqualFoldAttributeValues(name) {
				if !a.s.GroupsAsDN {
					g = firstRDNValue(g)
				}
				groups = append(groups, g)
			}
		}
	}
	id.Groups = dedup(groups)
	return id, nil
}

// firstValues returns the name and values of the first of names the entry
// has a value of.
func firstValues(entry *goldap.Entry, names []string) (string, []string) {
	for _, n := range names {
		if v := entry.GetEqualFoldAttributeValues(n); len(v) > 0 {
			return n, v
		}
	}
	return "", nil
}

// firstValue returns the first value of the first of names the entry has a
// non-empty value of.
func firstValue(entry *goldap.Entry, names []string) string {
	for _, n := range names {
		if v := entry.GetEqualFoldAttributeValue(n); v != "" {
			return v
		}
	}
	return ""
}

// entryUPN returns the entry's UPN attribute value that equals the login
// email (ignoring the case of ASCII letters), normalised, or "".
func (a *Authenticator) entryUPN(entry *goldap.Entry, loginEmail string) string {
	for _, v := range entry.GetEqualFoldAttributeValues(a.s.UPN.Attribute) {
		if n, err := sso.NormalizeEmail(v); err == nil && sso.EqualFoldASCII(n, loginEmail) {
			return n
		}
	}
	return ""
}

func dedup(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
