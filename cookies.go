package sso

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of [CookieConfig].
const (
	// DefaultCookiePrefix begins the name of every cookie [Cookies] sets.
	DefaultCookiePrefix = "ssokit"
	// DefaultMaxFlows is how many pending logins one browser keeps at a
	// time; starting another drops the oldest.
	DefaultMaxFlows = 4
	// maxCookieBytes bounds a cookie's name and value together (browsers
	// keep at least 4096 bytes per cookie).
	maxCookieBytes = 4000
	// maxFlowScan bounds how many flow cookies Save opens to find the
	// oldest.
	maxFlowScan = 32
)

// CookieConfig configures [Cookies]. The zero value is usable: a random
// key, the default prefix and limits.
type CookieConfig struct {
	// Keys seal the cookies' values (see [Sealer]): the first seals, every
	// one opens, so keys rotate without breaking logins in flight. Each is
	// SealKeySize random bytes. When empty a random key is made: pending
	// logins then do not survive a restart, and several replicas of an
	// application must be given the same keys.
	Keys [][]byte
	// Prefix begins every cookie name; DefaultCookiePrefix when empty. It
	// must be a cookie token (letters, digits, - _ .).
	Prefix string
	// Secure marks every cookie Secure, SameSite=None with the __Host-
	// name prefix, also on plain http requests. Set it when TLS ends at a
	// proxy in front of the application. Without it, cookies are secure on
	// https requests and on loopback hosts (localhost, 127.0.0.1), which
	// browsers treat as secure contexts, and SameSite=Lax without prefix
	// elsewhere (where an identity provider's cross-site POST cannot carry
	// them: SAML POST responses need https).
	Secure bool
	// MaxFlows bounds the pending logins one browser keeps;
	// DefaultMaxFlows when zero. Starting another drops the oldest, so no
	// page can pile up cookies until the browser's requests grow too
	// large for the server.
	MaxFlows int
	// Now is the clock that judges expiry; time.Now when nil.
	Now func() time.Time
}

// Validate reports a bad key, prefix or limit as ReasonInvalidConfig.
func (c *CookieConfig) Validate() error {
	bad := func(d string) error {
		return &Error{Op: "sso.CookieConfig.Validate", Reason: ReasonInvalidConfig, Detail: d}
	}
	if c.Prefix != "" && !cookieToken(c.Prefix) {
		return bad("Prefix " + quote(c.Prefix) + " must be a cookie token: letters, digits and - _ .")
	}
	if c.MaxFlows < 0 {
		return bad("MaxFlows must not be negative")
	}
	for i, k := range c.Keys {
		if len(k) != SealKeySize {
			return bad("Keys[" + strconv.Itoa(i) + "] has " + strconv.Itoa(len(k)) + " bytes; each key must be exactly 32 random bytes")
		}
	}
	return nil
}

// Cookies keeps small sealed values in the browser: each is encrypted and
// authenticated with a [Sealer], so the browser can neither read nor
// change it, a value this application did not make is ignored (never
// adopted), and each value carries its own expiry. On secure requests the
// cookies are HttpOnly, Secure, SameSite=None (an identity provider's
// cross-site POST must carry them) and named with the __Host- prefix, so
// that no sibling subdomain or plain-http response can plant or overwrite
// them.
//
// [Cookies.Flows] keeps pending logins this way: the server holds nothing
// for a login that has not completed, so anonymous login starts cost it
// nothing, and any replica sharing the keys can complete a login another
// began.
//
// A Cookies is safe for concurrent use.
type Cookies struct {
	sealer   *Sealer
	prefix   string
	secure   bool
	maxFlows int
	now      func() time.Time
}

// NewCookies returns Cookies for cfg.
func NewCookies(cfg CookieConfig) (*Cookies, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cookies{prefix: cfg.Prefix, secure: cfg.Secure, maxFlows: cfg.MaxFlows, now: cfg.Now}
	if c.prefix == "" {
		c.prefix = DefaultCookiePrefix
	}
	if c.maxFlows == 0 {
		c.maxFlows = DefaultMaxFlows
	}
	if c.now == nil {
		c.now = time.Now
	}
	keys := cfg.Keys
	if len(keys) == 0 {
		keys = [][]byte{NewSealKey()}
	}
	s, err := NewSealer(c.now, keys...)
	if err != nil {
		return nil, err
	}
	c.sealer = s
	return c, nil
}

// Secure reports whether cookies set on r are Secure, SameSite=None and
// __Host- prefixed: with CookieConfig.Secure, on https and on loopback
// hosts.
func (c *Cookies) Secure(r *http.Request) bool {
	return c.secure || r.TLS != nil || loopbackHost(r.Host)
}

// name returns the full cookie name of base for r.
func (c *Cookies) name(r *http.Request, base string) string {
	if c.Secure(r) {
		return "__Host-" + c.prefix + "_" + base
	}
	return c.prefix + "_" + base
}

// Set seals value into the cookie named base (with the prefix, and
// __Host- on secure requests) until expires. The value is bound to base:
// it opens under no other name.
func (c *Cookies) Set(w http.ResponseWriter, r *http.Request, base string, value []byte, expires time.Time) error {
	name := c.name(r, base)
	sealed, err := c.sealer.Seal(base, value, expires)
	if err != nil {
		return err
	}
	if len(name)+len(sealed) > maxCookieBytes {
		return &Error{Op: "sso.Cookies.Set", Reason: ReasonRequestTooLarge,
			Detail: "the value sealed into cookie " + quote(name) + " needs " + strconv.Itoa(len(sealed)) + " bytes; a cookie holds about 4000"}
	}
	maxAge := -1
	if d := expires.Sub(c.now()); d > 0 {
		maxAge = int((d + time.Second - 1) / time.Second)
	}
	http.SetCookie(w, c.cookie(r, name, sealed, maxAge))
	return nil
}

// Get returns the value sealed into the cookie named base, or false when
// the browser sent none, or one that this application did not seal under
// that name (forged, altered, planted under another name) or that has
// expired.
func (c *Cookies) Get(r *http.Request, base string) ([]byte, bool) {
	ck, err := r.Cookie(c.name(r, base))
	if err != nil {
		return nil, false
	}
	v, err := c.sealer.Open(base, ck.Value)
	if err != nil {
		return nil, false
	}
	return v, true
}

// Has reports whether the browser sent a cookie named base at all, valid
// or not.
func (c *Cookies) Has(r *http.Request, base string) bool {
	_, err := r.Cookie(c.name(r, base))
	return err == nil
}

// Delete tells the browser to drop the cookie named base.
func (c *Cookies) Delete(w http.ResponseWriter, r *http.Request, base string) {
	http.SetCookie(w, c.cookie(r, c.name(r, base), "", -1))
}

func (c *Cookies) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, MaxAge: maxAge}
	if c.Secure(r) {
		ck.Secure = true
		ck.SameSite = http.SameSiteNoneMode
	} else {
		ck.SameSite = http.SameSiteLaxMode
	}
	return ck
}

// Flows returns the [Flows] of the browser that sent r: each pending
// login is sealed into a cookie of its own (so logins in several tabs do
// not disturb each other), named after its ID and holding it, at most
// CookieConfig.MaxFlows at a time. Take drops the cookie. The returned
// Flows is for this request only.
func (c *Cookies) Flows(w http.ResponseWriter, r *http.Request) Flows {
	return &cookieFlows{c: c, w: w, r: r}
}

type cookieFlows struct {
	c *Cookies
	w http.ResponseWriter
	r *http.Request
}

const flowCookie = "flow_"

// flowBase returns the cookie base name of the pending login id: a digest
// of the ID, so any ID makes a valid cookie name.
func flowBase(id string) string {
	sum := sha256.Sum256([]byte(id))
	return flowCookie + base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (f *cookieFlows) Save(_ context.Context, fl *Flow) error {
	const op = "sso.Cookies.Flows.Save"
	b, err := json.Marshal(fl)
	if err != nil {
		return &Error{Op: op, Reason: ReasonInternal, Connection: fl.Connection, Err: err}
	}
	f.dropOldest()
	if err := f.c.Set(f.w, f.r, flowBase(fl.ID), b, fl.Expires); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op, e.Connection = op, fl.Connection
		}
		return err
	}
	return nil
}

// dropOldest deletes the oldest pending logins of the browser so that,
// with the one being saved, at most MaxFlows remain.
func (f *cookieFlows) dropOldest() {
	prefix := f.c.name(f.r, flowCookie)
	type held struct {
		base    string
		created time.Time
	}
	var have []held
	for _, ck := range f.r.Cookies() {
		if !strings.HasPrefix(ck.Name, prefix) {
			continue
		}
		base := strings.TrimPrefix(ck.Name, f.c.name(f.r, ""))
		if len(have) >= maxFlowScan {
			f.c.Delete(f.w, f.r, base)
			continue
		}
		var fl Flow
		v, err := f.c.sealer.Open(base, ck.Value)
		if err != nil || json.Unmarshal(v, &fl) != nil {
			f.c.Delete(f.w, f.r, base) // expired or not ours
			continue
		}
		have = append(have, held{base, fl.Created})
	}
	if len(have) < f.c.maxFlows {
		return
	}
	sort.Slice(have, func(i, j int) bool { return have[i].created.Before(have[j].created) })
	for _, h := range have[:len(have)-f.c.maxFlows+1] {
		f.c.Delete(f.w, f.r, h.base)
	}
}

// PeekFlow returns the pending login id of the browser that sent r
// without taking it, or false when the browser holds no live one. A
// handler uses it to learn about a login whose answer failed its checks
// before the pending login was taken.
func (c *Cookies) PeekFlow(r *http.Request, id string) (*Flow, bool) {
	if id == "" {
		return nil, false
	}
	v, ok := c.Get(r, flowBase(id))
	if !ok {
		return nil, false
	}
	fl := new(Flow)
	if json.Unmarshal(v, fl) != nil || fl.ID != id || !c.now().Before(fl.Expires) {
		return nil, false
	}
	return fl, true
}

func (f *cookieFlows) Take(_ context.Context, id string) (*Flow, error) {
	const op = "sso.Cookies.Flows.Take"
	missing := func(detail string) (*Flow, error) {
		return nil, &Error{Op: op, Reason: ReasonStateMissing, Detail: detail}
	}
	if id == "" {
		return missing("the answer carries no state handle")
	}
	base := flowBase(id)
	if !f.c.Has(f.r, base) {
		return missing("this browser holds no pending login under this state: it expired, was used already, was started in another browser, or the browser did not send its cookie (on plain http a SameSite=Lax cookie does not come with an identity provider's POST)")
	}
	f.c.Delete(f.w, f.r, base)
	v, ok := f.c.Get(f.r, base)
	if !ok {
		return missing("the pending login's cookie expired, or was not made by this application (forged, altered, or sealed with a key it no longer has)")
	}
	fl := new(Flow)
	if err := json.Unmarshal(v, fl); err != nil || fl.ID != id {
		return missing("the pending login's cookie does not hold this state")
	}
	return fl, nil
}

// loopbackHost reports whether the Host header names this machine:
// localhost (or a subdomain of it) or a loopback IP address. Browsers
// treat these origins as secure contexts and keep Secure cookies on them
// over plain http.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func cookieToken(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return s != ""
}
