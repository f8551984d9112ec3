package ldap

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
)

// PoolStats describes one connection pool.
type PoolStats struct {
	// Open is the number of connections open now, idle or in use.
	Open int
	// Idle is the number of open connections waiting for a login.
	Idle int
	// Dials counts the connections made since New.
	Dials uint64
	// Reuses counts the times an idle connection was handed out again.
	Reuses uint64
}

// Stats describes the authenticator's two pools: Service for the searches
// (bound as the service account, or anonymous), Bind for the users' binds.
// With Config.DisablePooling every login dials once: under Service with
// Search (the user's bind reuses the search's connection), under Bind with
// Templates and UPN.
type Stats struct {
	Service, Bind PoolStats
}

// pool is a bounded set of connections to the directory. A connection is
// either idle in the pool or held by one login; at most MaxConns exist at
// once. Idle connections are closed after IdleTimeout, checked with a root
// DSE read when idle longer than HealthCheckAfter, and dropped when the
// server closed them.
//
// The service pool's connections are bound as the service account (or
// anonymous) when dialled and are never used for a user's bind. The bind
// pool's connections are used only by bindUser, whose first operation is
// always the user's bind: whatever identity a connection kept from the
// previous login is replaced before anything else is sent, and a connection
// whose bind ends in anything but an LDAP result is closed.
type pool struct {
	name   string
	s      *settings
	d      *dialer
	bindDN string
	bindPW sso.Secret
	slots  chan struct{}

	mu     sync.Mutex
	idle   []*conn // most recently used last
	open   int
	dials  uint64
	reuses uint64
	closed bool
}

func newPool(name string, s *settings, d *dialer, bindDN string, bindPW sso.Secret) *pool {
	return &pool{name: name, s: s, d: d, bindDN: bindDN, bindPW: bindPW, slots: make(chan struct{}, s.MaxConns)}
}

var errPoolClosed = errors.New("ldap: the authenticator is closed")

// get returns a connection for the caller's exclusive use until put.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		c, err := p.takeIdle()
		if err != nil {
			<-p.slots
			return nil, err
		}
		if c == nil {
			break
		}
		now := p.s.Now()
		if c.lc.IsClosing() || now.Sub(c.lastUsed) >= p.s.IdleTimeout {
			p.discard(c)
			continue
		}
		if now.Sub(c.lastUsed) >= p.s.HealthCheckAfter {
			if err := p.probe(ctx, c); err != nil {
				p.discard(c)
				if ctx.Err() != nil {
					<-p.slots
					return nil, ctx.Err()
				}
				continue
			}
		}
		c.reused = true
		p.mu.Lock()
		p.reuses++
		p.mu.Unlock()
		return c, nil
	}
	c, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

func (p *pool) takeIdle() (*conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	if len(p.idle) == 0 {
		return nil, nil
	}
	c := p.idle[len(p.idle)-1]
	p.idle[len(p.idle)-1] = nil
	p.idle = p.idle[:len(p.idle)-1]
	return c, nil
}

// dial connects and, for the service pool, binds as the service account.
func (p *pool) dial(ctx context.Context) (*conn, error) {
	c, err := p.d.connect(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.open++
	p.dials++
	p.mu.Unlock()
	if p.bindDN != "" {
		err := run(ctx, c, p.s.OpTimeout, func() error {
			_, err := c.lc.SimpleBind(&goldap.SimpleBindRequest{Username: p.bindDN, Password: p.bindPW.Reveal()})
			return err
		})
		if err != nil {
			p.discard(c)
			return nil, &serviceBindError{dn: p.bindDN, url: c.url, err: err}
		}
	}
	return c, nil
}

// serviceBindError is the failure of the service account's bind.
type serviceBindError struct {
	dn, url string
	err     error
}

func (e *serviceBindError) Error() string { return "service account bind: " + e.err.Error() }
func (e *serviceBindError) Unwrap() error { return e.err }

// probe checks an idle connection with a root DSE read.
func (p *pool) probe(ctx context.Context, c *conn) error {
	timeout := min(p.s.OpTimeout, p.s.DialTimeout)
	return run(ctx, c, timeout, func() error {
		_, err := c.lc.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		return err
	})
}

// put gives c back. A connection that is not reusable (network failure,
// timeout, unknown state) is closed.
func (p *pool) put(c *conn, reusable bool) {
	defer func() { <-p.slots }()
	if !reusable || p.s.DisablePooling || c.lc.IsClosing() {
		p.discard(c)
		return
	}
	c.lastUsed = p.s.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.discard(c)
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pool) discard(c *conn) {
	c.close()
	p.mu.Lock()
	p.open--
	p.mu.Unlock()
}

// evict closes the connections idle since before now-IdleTimeout or closed
// by the server.
func (p *pool) evict(now time.Time) {
	p.mu.Lock()
	var drop []*conn
	keep := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.lastUsed) >= p.s.IdleTimeout || c.lc.IsClosing() {
			drop = append(drop, c)
		} else {
			keep = append(keep, c)
		}
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
	p.mu.Unlock()
	for _, c := range drop {
		p.discard(c)
	}
}

// close closes the idle connections and makes get fail; connections in use
// are closed when they are put back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		p.discard(c)
	}
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Open: p.open, Idle: len(p.idle), Dials: p.dials, Reuses: p.reuses}
}

// run performs op on c, bounded by timeout and by ctx: when ctx ends first,
// the connection is closed so that op returns at once.
func run(ctx context.Context, c *conn, timeout time.Duration, op func() error) error {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	c.lc.SetTimeout(timeout)
	stop := context.AfterFunc(ctx, func() { _ = c.lc.Close() })
	err := op()
	stop()
	if err != nil {
		// The context ended first, or the request timeout derived from its
		// deadline fired a moment before the context's own timer.
		if cerr := ctx.Err(); cerr != nil {
			return errors.Join(cerr, err)
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return errors.Join(context.DeadlineExceeded, err)
		}
	}
	return err
}

// reusableAfter reports whether a connection is in a known state after an
// operation that returned err: success, or an LDAP result from the server.
// Client-side failures (timeouts, network errors) leave it unknown.
func reusableAfter(c *conn, err error) bool {
	if c.lc.IsClosing() {
		return false
	}
	if err == nil {
		return true
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode < goldap.ErrorNetwork && le.Packet != nil
	}
	// A typed outcome without a cause (no entry, several entries) leaves
	// the connection as it was.
	var se *sso.Error
	return errors.As(err, &se) && se.Err == nil
}

// retryable reports whether an operation that failed with err on a reused
// connection may be tried again on another: the connection broke, as idle
// connections do when a server restarts or a firewall forgets them. A bind
// is retried only when its request was never sent, so that a wrong
// password is not counted twice by the directory's lockout policy.
func retryable(c *conn, err error, isBind bool) bool {
	if !c.reused || err == nil {
		return false
	}
	var se *sso.Error
	if errors.As(err, &se) {
		return false // a typed outcome, not a broken connection
	}
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode < goldap.ErrorNetwork && le.Packet != nil {
		return false // the server answered
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "timed out") {
		return false // slow, not broken: another try would double the wait
	}
	if !isBind {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "ldap: connection closed") || strings.Contains(msg, "unable to send request")
}
