package oidc

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/safehttp"
)

// netConfig is what the HTTP client of a connection (or of Discover) is
// built from.
type netConfig struct {
	roots        *x509.CertPool
	allowHTTP    bool
	allowPrivate bool
	timeout      time.Duration
	maxBytes     int64
	client       *http.Client
}

func (n netConfig) safeOptions() safehttp.Options {
	return safehttp.Options{InsecureAllowHTTP: n.allowHTTP, InsecureAllowPrivateNetwork: n.allowPrivate, MaxBytes: n.maxBytes, Timeout: n.timeout, RootCAs: n.roots}
}

// newHTTPClient returns the client every request to a provider goes
// through: the guarded client of package safehttp (https only, public
// addresses only, checked at connect time and on redirects, timeouts, size
// cap) unless the configuration loosens it, or an injected client.
func newHTTPClient(n netConfig) *http.Client {
	if n.client != nil {
		c := *n.client
		c.Transport = deadlineGuard{base: c.Transport}
		return &c
	}
	return safehttp.NewClient(n.safeOptions())
}

// deadlineGuard makes a request whose context ended fail, even when the
// transport hands back an answer that raced with the cancellation: the
// server sees the connection close, ends its (empty) answer, and a
// transport may return that as a complete response. A body read that ends
// after the context did reports the context's error instead of EOF, so a
// cut-short body is never parsed as the whole document.
type deadlineGuard struct{ base http.RoundTripper }

func (g deadlineGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	base := g.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		resp.Body.Close()
		return nil, err
	}
	resp.Body = &deadlineBody{ReadCloser: resp.Body, ctx: ctx}
	return resp, nil
}

type deadlineBody struct {
	io.ReadCloser
	ctx context.Context
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		if cerr := b.ctx.Err(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// checkFetchURL applies the guard's address policy to a configured URL
// without I/O (literal private addresses, localhost names).
func (n netConfig) checkFetchURL(u string) error {
	if n.client != nil {
		return nil
	}
	return safehttp.CheckURL(u, n.safeOptions())
}

// get fetches url with GET and returns the body of a 2xx answer. Errors
// are *sso.Error values with ReasonAddressNotAllowed or
// ReasonMetadataFetchFailed.
func get(ctx context.Context, client *http.Client, url string, maxBytes int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &sso.Error{Op: "oidc.get", Reason: sso.ReasonInvalidConfig, Detail: quote(url) + " is not a valid URL", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := safehttp.Do(client, req, maxBytes)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
