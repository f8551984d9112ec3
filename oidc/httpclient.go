package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ssokit/sso"
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

// newHTTPClient returns the client every request to a provider goes
// through.
func newHTTPClient(n netConfig) *http.Client {
	if n.client != nil {
		return n.client
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: n.timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: n.roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   n.timeout,
		ResponseHeaderTimeout: n.timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   n.timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != "https" && !n.allowHTTP {
				return errors.New("redirect to a non-https URL refused")
			}
			return nil
		},
	}
}

// fetchError is a failed request: no answer, a refused address, a status
// other than 200, or a body over the size cap.
type fetchError struct {
	Status   int    // HTTP status, 0 when there was no answer
	Body     []byte // start of the body of a non-200 answer
	TooLarge bool
	Refused  bool // the address was refused by the client's guard
	Err      error
}

func (e *fetchError) Error() string {
	switch {
	case e.TooLarge:
		return "the response is larger than the size cap"
	case e.Status != 0:
		b := e.Body
		if len(b) > 200 {
			b = b[:200]
		}
		return fmt.Sprintf("HTTP status %d: %s", e.Status, b)
	default:
		return e.Err.Error()
	}
}

func (e *fetchError) Unwrap() error { return e.Err }

// reason returns the sso.Reason for a failed fetch of something other
// than metadata.
func (e *fetchError) reason(def sso.Reason) sso.Reason {
	if e.Refused {
		return sso.ReasonAddressNotAllowed
	}
	return def
}

// fetch sends req and returns the body of a 200 answer, read up to
// maxBytes.
func fetch(client *http.Client, req *http.Request, maxBytes int64) (body []byte, contentType string, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", &fetchError{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, "", &fetchError{Err: err}
	}
	if int64(len(b)) > maxBytes {
		return nil, "", &fetchError{TooLarge: true}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", &fetchError{Status: resp.StatusCode, Body: b}
	}
	return b, resp.Header.Get("Content-Type"), nil
}

// get fetches url with GET.
func get(ctx context.Context, client *http.Client, url string, maxBytes int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &fetchError{Err: err}
	}
	req.Header.Set("Accept", "application/json")
	b, _, err := fetch(client, req, maxBytes)
	return b, err
}
