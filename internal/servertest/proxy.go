package servertest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a server. [Proxy.Down] cuts every
// connection and refuses new ones, as a server that went down or a broken
// network would; [Proxy.Up] accepts connections again on the same address,
// as the server coming back. It is safe for concurrent use.
type Proxy struct {
	target  string
	addr    string
	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	stalled bool
}

// NewProxy returns a running Proxy to target (host:port) on a loopback
// port. It is taken down when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

// Addr returns the proxy's host:port, to connect to instead of the target.
func (p *Proxy) Addr() string { return p.addr }

// Down closes the listener and every forwarded connection; connecting to
// Addr is then refused.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Stall cuts every connection, then accepts new ones but forwards
// nothing on them and never answers, as a server that hangs (overloaded,
// or behind a network that drops packets) would. [Proxy.Up] ends it.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Up listens on Addr again after Down, or forwards again after Stall (the
// connections held while stalled are closed).
func (p *Proxy) Up(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	if p.stalled {
		p.stalled = false
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
	}
	up := p.ln != nil
	p.mu.Unlock()
	if up {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

// track records c for Down; it reports false, closing c, when the proxy
// went down meanwhile.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forward(c net.Conn) {
	if !p.track(c) {
		return
	}
	p.mu.Lock()
	stalled := p.stalled
	p.mu.Unlock()
	if stalled {
		return // held open, silent, until Up or Down closes it
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(s) {
		c.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	go pipe(s, c)
	go pipe(c, s)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}
