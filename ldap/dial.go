package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
)

// startTLSOID is the StartTLS extended operation (RFC 4511 section 4.14).
const startTLSOID = "1.3.6.1.4.1.1466.20037"

// conn is one connection to a directory server.
type conn struct {
	lc       *goldap.Conn
	url      string
	created  time.Time
	lastUsed time.Time
	reused   bool // it served an earlier login
}

func (c *conn) close() { _ = c.lc.Close() }

// dialer connects to the first server of the configuration that answers,
// over TLS, and remembers which servers failed recently.
type dialer struct {
	s    *settings
	tls  []*tls.Config // one per URL
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu        sync.Mutex
	downUntil map[string]time.Time
}

func newDialer(s *settings) *dialer {
	d := &dialer{s: s, downUntil: map[string]time.Time{}}
	for _, u := range s.urls {
		name := s.ServerName
		if name == "" {
			name = u.Hostname()
		}
		d.tls = append(d.tls, &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    s.roots,
			ServerName: name,
		})
	}
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	d.dial = nd.DialContext
	return d
}

// order returns the indexes of the URLs to try: those not marked down, in
// configuration order, then the ones marked down as a last resort.
func (d *dialer) order(now time.Time) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	up := make([]int, 0, len(d.s.urls))
	var down []int
	for i, u := range d.s.urls {
		if t, ok := d.downUntil[u.String()]; ok && now.Before(t) {
			down = append(down, i)
			continue
		}
		up = append(up, i)
	}
	return append(up, down...)
}

func (d *dialer) mark(u string, failed bool, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if failed {
		d.downUntil[u] = now.Add(d.s.RetryDownAfter)
	} else {
		delete(d.downUntil, u)
	}
}

// connect returns a connection to the first server that answers. Its error
// is an *errDial listing each server's failure.
func (d *dialer) connect(ctx context.Context) (*conn, error) {
	var failures []dialFailure
	for _, i := range d.order(d.s.Now()) {
		u := d.s.urls[i]
		c, err := d.connectOne(ctx, u, d.tls[i])
		now := d.s.Now()
		if err == nil {
			d.mark(u.String(), false, now)
			if len(failures) > 0 {
				d.s.Events.Emit(ctx, sso.Event{
					Type: sso.EventWarning, Time: now, Connection: d.s.ID, Reason: sso.ReasonUnavailable,
					Detail: fmt.Sprintf("LDAP server failed, using %s instead: %v", u, &errDial{failures}),
				})
			}
			c.created, c.lastUsed = now, now
			return c, nil
		}
		var tlsErr *tlsFailure
		failures = append(failures, dialFailure{url: u.String(), tls: errors.As(err, &tlsErr), err: err})
		if ctx.Err() != nil {
			break // the caller gave up; the server is not to blame
		}
		d.mark(u.String(), true, now)
	}
	return nil, &errDial{failures}
}

// tlsFailure marks a failure to establish TLS with a server that answered.
type tlsFailure struct{ err error }

func (e *tlsFailure) Error() string { return e.err.Error() }
func (e *tlsFailure) Unwrap() error { return e.err }

// connectOne dials one server and establishes TLS (ldaps, or StartTLS on
// ldap unless InsecureNoTLS), all within DialTimeout.
func (d *dialer) connectOne(ctx context.Context, u *url.URL, tc *tls.Config) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.s.DialTimeout)
	defer cancel()
	host := u.Host
	if u.Port() == "" {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	raw, err := d.dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = raw.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	if err := raw.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// Close the socket if the caller's context ends during the handshake.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var nc net.Conn = raw
	isTLS := false
	switch {
	case u.Scheme == "ldaps":
		t := tls.Client(raw, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			return nil, classifyHandshake(ctx, err)
		}
		nc, isTLS = t, true
	case !d.s.InsecureNoTLS:
		if err := startTLS(raw); err != nil {
			return nil, err
		}
		t := tls.Client(raw, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			if dropped(err) {
				// The server agreed to StartTLS, so it speaks TLS: a
				// connection closed now is a drop, not a TLS problem.
				return nil, fmt.Errorf("the connection dropped during the TLS handshake after StartTLS: %w", err)
			}
			return nil, classifyHandshake(ctx, err)
		}
		nc, isTLS = t, true
	}
	if !stop() {
		return nil, ctx.Err()
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	lc := goldap.NewConn(nc, isTLS)
	lc.Start()
	ok = true
	return &conn{lc: lc, url: u.String()}, nil
}

// dropped reports an error of a connection the peer closed or reset.
func dropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// classifyHandshake marks handshake failures as TLS failures, except those
// caused by a timeout. On ldaps a closed connection stays a TLS failure:
// it is what a plain LDAP port answers to a TLS hello (ldaps:// on 389).
func classifyHandshake(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return &tlsFailure{fmt.Errorf("TLS handshake: %w", err)}
}

// startTLS sends the StartTLS request on a fresh connection and reads the
// answer, before any other LDAP traffic. A refusal is a *tlsFailure.
func startTLS(raw net.Conn) error {
	req := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "Start TLS")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, startTLSOID, "TLS Extended Command"))
	req.AppendChild(op)
	if _, err := raw.Write(req.Bytes()); err != nil {
		return err
	}
	resp, err := ber.ReadPacket(raw)
	if err != nil {
		return err
	}
	if len(resp.Children) < 2 {
		return &tlsFailure{errors.New("StartTLS: malformed answer")}
	}
	if id, ok := resp.Children[0].Value.(int64); !ok || id != 1 {
		// A notice of disconnection (message ID 0) or garbage.
		if err := goldap.GetLDAPError(resp); err != nil {
			return &tlsFailure{fmt.Errorf("StartTLS refused: %w", err)}
		}
		return &tlsFailure{errors.New("StartTLS: answer to another message")}
	}
	if op := resp.Children[1]; op.ClassType != ber.ClassApplication || op.Tag != goldap.ApplicationExtendedResponse {
		return &tlsFailure{errors.New("StartTLS: the server did not answer with an extended response")}
	}
	if err := goldap.GetLDAPError(resp); err != nil {
		return &tlsFailure{fmt.Errorf("StartTLS refused: %w", err)}
	}
	return nil
}
