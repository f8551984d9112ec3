package safehttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/ssokit/sso"
)

// NewClient returns an *http.Client that enforces opts on every request it
// makes, including each redirect hop:
//
//   - the URL scheme is https, or http with InsecureAllowHTTP, and carries no
//     credentials;
//   - each address is checked when the connection is made, after DNS
//     resolution, so neither a DNS answer that changes after validation nor
//     a redirect can reach a refused address;
//   - TLS 1.2 or later, server certificates verified against RootCAs or the
//     system roots;
//   - at most MaxRedirects redirects;
//   - connecting and the TLS handshake are each bounded by half of Timeout,
//     the wait for response headers and the whole request by Timeout;
//   - a response body larger than MaxBytes fails to read with an error
//     instead of being delivered, even to callers that read it directly;
//   - proxy settings from the environment are ignored (a proxy would connect
//     on the client's behalf, out of reach of the address check).
//
// A request refused by the guard fails with an error that wraps an
// *sso.Error with reason [sso.ReasonAddressNotAllowed]. Negative MaxBytes or
// Timeout are treated as zero; use [Options.Validate] to report them.
//
// The client can be handed to libraries that take an *http.Client (for
// example an OIDC relying party) and is safe for concurrent use. Use [Get]
// or [Do] to also check the status and read the body with typed errors.
func NewClient(opts Options) *http.Client {
	opts = opts.withDefaults()
	g := &guard{opts: opts}
	dialer := &net.Dialer{
		Timeout:        opts.Timeout / 2,
		KeepAlive:      30 * time.Second,
		ControlContext: g.control,
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			return dialer.DialContext(context.WithValue(ctx, hostKey{}, host), network, addr)
		},
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    opts.RootCAs,
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    opts.Timeout / 2,
		ResponseHeaderTimeout:  opts.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           MaxIdleConns,
		MaxIdleConnsPerHost:    MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	g.base = tr
	return &http.Client{
		Transport:     g,
		CheckRedirect: g.checkRedirect,
		Timeout:       opts.Timeout,
	}
}

// Idle connections a client keeps for reuse. Logins that run at the same
// time each hold one connection to the provider's token endpoint while they
// exchange their code; with HTTP/1.1 (what most token endpoints behind a
// plain load balancer speak) a connection that finds no idle one to return
// to is closed, and the next login pays a new TCP and TLS handshake. Up to
// MaxIdleConnsPerHost logins in flight per provider host therefore open no
// connection in steady state. Idle connections close after 90 seconds, so
// the pool shrinks again when the load does; every connection, new or
// reused, was dialled through the address check.
const (
	MaxIdleConnsPerHost = 32
	MaxIdleConns        = 64
)

// hostKey carries the host name being dialled to the address check, for
// error details.
type hostKey struct{}

// guard is the client's RoundTripper: it checks each request's URL, then
// delegates to the transport whose dialer checks addresses, and caps the
// response body.
type guard struct {
	opts Options
	base http.RoundTripper
}

const opGuard = "safehttp"

// RoundTrip implements http.RoundTripper.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.checkRequest(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := g.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > g.opts.MaxBytes {
		resp.Body.Close()
		return nil, tooLarge(req, g.opts.MaxBytes, fmt.Sprintf("Content-Length is %d bytes", resp.ContentLength))
	}
	resp.Body = &capBody{rc: resp.Body, max: g.opts.MaxBytes, req: req}
	return resp, nil
}

func (g *guard) checkRequest(req *http.Request) error {
	if err := checkScheme(opGuard, req.URL, g.opts); err != nil {
		return err
	}
	if req.URL.User != nil {
		return &sso.Error{Op: opGuard, Reason: sso.ReasonAddressNotAllowed,
			Detail: fmt.Sprintf("%s carries user:password credentials, which are never sent", redact(req.URL))}
	}
	return nil
}

// checkRedirect limits the number of hops and checks each target's URL
// before it is requested; its address is checked when dialled.
func (g *guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > max(g.opts.MaxRedirects, 0) {
		return &sso.Error{Op: opGuard, Reason: sso.ReasonMetadataFetchFailed,
			Detail: fmt.Sprintf("%s redirected more than %d times; configure the final URL", redact(via[0].URL), max(g.opts.MaxRedirects, 0))}
	}
	return g.checkRequest(req)
}

// control runs after DNS resolution, before each connection attempt, with
// the IP address that is about to be dialled.
func (g *guard) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	host, _ := ctx.Value(hostKey{}).(string)
	if network != "tcp4" && network != "tcp6" {
		return &sso.Error{Op: opGuard, Reason: sso.ReasonAddressNotAllowed, Expected: "tcp4 or tcp6", Actual: network,
			Detail: fmt.Sprintf("network %q is not allowed", network)}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &sso.Error{Op: opGuard, Reason: sso.ReasonAddressNotAllowed, Actual: address,
			Detail: fmt.Sprintf("cannot check address %q", address), Err: err}
	}
	if g.opts.InsecureAllowPrivateNetwork {
		return nil
	}
	if c := g.opts.classify(ap.Addr()); c != "" {
		return addressError(opGuard, host, ap.Addr().WithZone(""), c, g.opts)
	}
	return nil
}

// capBody fails a read that would go past max bytes.
type capBody struct {
	rc  io.ReadCloser
	max int64
	n   int64
	req *http.Request
}

func (b *capBody) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, tooLarge(b.req, b.max, "")
	}
	if rest := b.max - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n - int(b.n-b.max), tooLarge(b.req, b.max, "")
	}
	return n, err
}

func (b *capBody) Close() error { return b.rc.Close() }

// tooLarge reports a body over the size cap.
func tooLarge(req *http.Request, limit int64, why string) *sso.Error {
	d := fmt.Sprintf("the response from %s is larger than %d bytes", redact(req.URL), limit)
	if why != "" {
		d += " (" + why + ")"
	}
	return &sso.Error{Op: opGuard, Reason: sso.ReasonMetadataFetchFailed,
		Detail: d + "; raise the size limit if the document is really this large"}
}
