package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Response is a fetched document.
type Response struct {
	// StatusCode is the final response's status, always 2xx.
	StatusCode int
	// Header holds the final response's headers (Cache-Control, Expires,
	// Content-Type...).
	Header http.Header
	// Body is the complete body, at most the size cap.
	Body []byte
	// URL is the URL the body came from, after redirects.
	URL *url.URL
}

// Get fetches rawURL with client c, which should come from [NewClient]; a
// nil c means NewClient(Options{}). It is [Do] with a GET request, and is
// safe for concurrent use.
func Get(ctx context.Context, c *http.Client, rawURL string, maxBytes int64) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, newError("safehttp.Get", sso.ReasonInvalidConfig, fmt.Sprintf("%q is not a valid URL", rawURL), err)
	}
	return Do(c, req, maxBytes)
}

// Do sends req with client c, which should come from [NewClient] (a nil c
// means NewClient(Options{})), and returns the whole body. Set headers such
// as Accept on req before calling Do; req's context bounds the request.
//
// It reads at most maxBytes+1 bytes of the body (a maxBytes of zero or less
// means [DefaultMaxBytes]) and refuses a larger body; the client's own
// MaxBytes applies as well. Errors are *sso.Error values that wrap the
// cause:
//
//   - [sso.ReasonAddressNotAllowed]: the scheme or an address (also of a
//     redirect target) was refused; the Detail names the address and the
//     option that would allow it;
//   - [sso.ReasonMetadataFetchFailed]: a network or TLS error, a timeout, a
//     non-2xx status (Actual holds it) or a body over the cap; the Detail
//     says which.
//
// Do is safe for concurrent use.
func Do(c *http.Client, req *http.Request, maxBytes int64) (*Response, error) {
	const op = "safehttp.Get"
	if c == nil {
		c = NewClient(Options{})
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	where := redact(req.URL)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fetchError(op, where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Read a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataFetchFailed,
			Expected: "2xx", Actual: resp.Status,
			Detail: fmt.Sprintf("%s answered with HTTP status %s", redact(resp.Request.URL), resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fetchError(op, where, err)
	}
	if int64(len(body)) > maxBytes {
		return nil, tooLarge(resp.Request, maxBytes, "")
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, URL: resp.Request.URL}, nil
}

// fetchError returns the guard's own *sso.Error found in err's chain, or
// wraps err in one with reason ReasonMetadataFetchFailed.
func fetchError(op, where string, err error) error {
	var se *sso.Error
	if errors.As(err, &se) {
		return se
	}
	// The *url.Error around the cause repeats the full URL, whose query may
	// hold a secret; where already names the URL without it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return newError(op, sso.ReasonMetadataFetchFailed, fmt.Sprintf("fetching %s was cancelled", where), err)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return newError(op, sso.ReasonMetadataFetchFailed, fmt.Sprintf("fetching %s timed out", where), err)
	default:
		return newError(op, sso.ReasonMetadataFetchFailed, fmt.Sprintf("fetching %s failed", where), err)
	}
}

// CacheUntil returns until when the response may be cached according to its
// Cache-Control max-age or, failing that, its Expires header (read relative
// to its Date header, so the server's clock does not matter), given the
// current time now. no-store and no-cache give now; no usable header gives
// the zero time. It suits the refreshAt of a refresh.Config Fetch.
func (r *Response) CacheUntil(now time.Time) time.Time {
	for _, cc := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(cc, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache":
				return now
			case strings.HasPrefix(d, "max-age="):
				secs, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err != nil || secs < 0 {
					continue
				}
				secs = min(secs, int64(100*365*24*time.Hour/time.Second))
				return now.Add(time.Duration(secs) * time.Second)
			}
		}
	}
	if e := r.Header.Get("Expires"); e != "" {
		exp, err := http.ParseTime(e)
		if err != nil {
			return now // an invalid Expires means already expired (RFC 9111)
		}
		if date, err := http.ParseTime(r.Header.Get("Date")); err == nil {
			return now.Add(exp.Sub(date))
		}
		return exp
	}
	return time.Time{}
}

// newError returns an *sso.Error of package safehttp.
func newError(op string, reason sso.Reason, detail string, cause error) *sso.Error {
	return &sso.Error{Op: op, Reason: reason, Detail: detail, Err: cause}
}
