package safehttp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Defaults used for the zero values of [Options] fields.
const (
	// DefaultMaxBytes caps a response body: 1 MiB holds the metadata of any
	// single IdP, a discovery document or a JWKS with room to spare.
	DefaultMaxBytes int64 = 1 << 20
	// DefaultTimeout bounds a whole request: connecting, TLS, redirects,
	// headers and reading the body.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxRedirects is how many redirects a request may follow.
	DefaultMaxRedirects = 3
)

// Options configures a client built by [NewClient]. The zero value is the
// safe default: https only, public addresses only, [DefaultMaxBytes],
// [DefaultTimeout] and [DefaultMaxRedirects], the system's root
// certificates. Each field that loosens a check is named for what it allows.
type Options struct {
	// InsecureAllowHTTP permits plain http:// URLs, for the first request and for
	// redirects. Without it only https:// is fetched. Documents fetched over
	// plain http can be altered by anyone on the path, so set it only for
	// tests or for a trusted internal network.
	InsecureAllowHTTP bool

	// InsecureAllowPrivateNetwork permits connecting to addresses that are not
	// public: loopback (127.0.0.0/8, ::1), private (RFC 1918, RFC 4193 unique
	// local), link-local (169.254.0.0/16 including the cloud metadata
	// service, fe80::/10), carrier-grade NAT (100.64.0.0/10), unspecified
	// (0.0.0.0, ::), multicast and reserved ranges, also in their IPv4-mapped
	// IPv6 forms. Without it such addresses are refused when the connection
	// is made, after DNS resolution and on every redirect. Set it only when
	// the identity provider really is on the host's private network and the
	// people who can configure the URL are trusted with that network.
	InsecureAllowPrivateNetwork bool

	// MaxBytes caps the size of a response body in bytes; a larger body is
	// refused, not truncated. Zero means [DefaultMaxBytes].
	MaxBytes int64

	// Timeout bounds a whole request including redirects and reading the
	// body. Connecting and the TLS handshake are each further bounded by
	// half of it. Zero means [DefaultTimeout].
	Timeout time.Duration

	// MaxRedirects is how many redirects a request may follow; each hop is
	// checked like the first request. Zero means [DefaultMaxRedirects]; a
	// negative value follows no redirect.
	MaxRedirects int

	// RootCAs, when set, replaces the system's root certificates for
	// verifying servers, e.g. with an internal CA. Server certificates are
	// always verified.
	RootCAs *x509.CertPool

	// HTTPOptionName and PrivateNetworkOptionName are the names error
	// details give to the settings that set InsecureAllowHTTP and
	// InsecureAllowPrivateNetwork, so that an administrator reads the name of the
	// host's own configuration field (e.g. "InsecureAllowHTTP"). Empty
	// means "InsecureAllowHTTP" and "InsecureAllowPrivateNetwork".
	HTTPOptionName, PrivateNetworkOptionName string

	// classify replaces the address classification in tests, so that a
	// loopback test server can stand in for a public host.
	classify func(netip.Addr) string
}

// Validate reports a negative MaxBytes or Timeout as an *sso.Error with
// reason [sso.ReasonInvalidConfig].
func (o Options) Validate() error {
	if o.MaxBytes < 0 {
		return newError("safehttp.Options", sso.ReasonInvalidConfig,
			fmt.Sprintf("MaxBytes is %d; use a positive size, or 0 for the default %d", o.MaxBytes, DefaultMaxBytes), nil)
	}
	if o.Timeout < 0 {
		return newError("safehttp.Options", sso.ReasonInvalidConfig,
			fmt.Sprintf("Timeout is %s; use a positive duration, or 0 for the default %s", o.Timeout, DefaultTimeout), nil)
	}
	return nil
}

// withDefaults returns o with zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.classify == nil {
		o.classify = classify
	}
	return o
}

func (o Options) httpName() string {
	if o.HTTPOptionName != "" {
		return o.HTTPOptionName
	}
	return "InsecureAllowHTTP"
}

func (o Options) privateName() string {
	if o.PrivateNetworkOptionName != "" {
		return o.PrivateNetworkOptionName
	}
	return "InsecureAllowPrivateNetwork"
}

// CheckURL validates a URL that a client built with opts would be asked to
// fetch, without any network I/O, for use in Config.Validate methods. It
// requires an absolute https URL (or http with [Options.InsecureAllowHTTP]) with a
// host and without user:password credentials, and refuses hosts that are
// non-public IP literals or "localhost" names unless
// [Options.InsecureAllowPrivateNetwork] is set. Host names that resolve to refused
// addresses can only be caught when connecting, which the client does.
//
// A malformed URL gives an *sso.Error with reason [sso.ReasonInvalidConfig];
// a refused scheme or address gives [sso.ReasonAddressNotAllowed].
func CheckURL(raw string, opts Options) error {
	const op = "safehttp.CheckURL"
	u, err := url.Parse(raw)
	if err != nil {
		return newError(op, sso.ReasonInvalidConfig, fmt.Sprintf("%q is not a valid URL", raw), err)
	}
	if !u.IsAbs() || u.Opaque != "" {
		return newError(op, sso.ReasonInvalidConfig,
			fmt.Sprintf("%q is not an absolute URL; use https://host/path", raw), nil)
	}
	if err := checkScheme(op, u, opts); err != nil {
		return err
	}
	if u.User != nil {
		return newError(op, sso.ReasonInvalidConfig,
			fmt.Sprintf("%s carries user:password credentials; remove them from the URL", redact(u)), nil)
	}
	host := u.Hostname()
	if host == "" {
		return newError(op, sso.ReasonInvalidConfig, fmt.Sprintf("%q has no host", raw), nil)
	}
	if opts.InsecureAllowPrivateNetwork {
		return nil
	}
	cls := opts.classify
	if cls == nil {
		cls = classify
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if c := cls(ip); c != "" {
			return addressError(op, host, ip, c, opts)
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return &sso.Error{Op: op, Reason: sso.ReasonAddressNotAllowed, Expected: "a public host", Actual: host,
			Detail: fmt.Sprintf("host %q is a loopback name; fetching from the private network is refused unless %s is set", host, opts.privateName())}
	}
	if i := strings.LastIndexByte(name, '.'); numericLabel(name[i+1:]) {
		// "2130706433" or "0x7f.1": not a DNS name, but some resolvers
		// read it as an IPv4 address.
		return newError(op, sso.ReasonInvalidConfig,
			fmt.Sprintf("host %q is neither a DNS name nor a standard IP address", host), nil)
	}
	return nil
}

// numericLabel reports whether a DNS label is all digits or a 0x hex number,
// which no top-level domain is.
func numericLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkScheme refuses schemes other than https, and http unless allowed.
func checkScheme(op string, u *url.URL, opts Options) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if opts.InsecureAllowHTTP {
			return nil
		}
		return &sso.Error{Op: op, Reason: sso.ReasonAddressNotAllowed, Expected: "https", Actual: u.Scheme,
			Detail: fmt.Sprintf("%s uses plain http; use https, or set %s to allow unencrypted fetches", redact(u), opts.httpName())}
	default:
		return &sso.Error{Op: op, Reason: sso.ReasonAddressNotAllowed, Expected: "https", Actual: u.Scheme,
			Detail: fmt.Sprintf("%s uses scheme %q; only https can be fetched", redact(u), u.Scheme)}
	}
}

// addressError reports a refused address.
func addressError(op, host string, ip netip.Addr, class string, opts Options) *sso.Error {
	what := fmt.Sprintf("address %s", ip)
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil && host != "" {
		what = fmt.Sprintf("host %q resolves to %s, which", host, ip)
	}
	return &sso.Error{Op: op, Reason: sso.ReasonAddressNotAllowed, Expected: "a public address", Actual: ip.String(),
		Detail: fmt.Sprintf("%s is %s; fetching from the private network is refused unless %s is set", what, withArticle(class), opts.privateName())}
}

func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiouAEIOU", rune(s[0])) {
		return "an " + s + " address"
	}
	return "a " + s + " address"
}

// redact returns u without credentials, query and fragment, which may hold
// secrets, for use in error details.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}

// RootsFromPEM returns a pool of the PEM certificates in pem, nil (the
// system roots) when pem is empty, or an error when it holds none.
func RootsFromPEM(pem []byte) (*x509.CertPool, error) {
	if len(pem) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("safehttp: no PEM certificate")
	}
	return pool, nil
}
