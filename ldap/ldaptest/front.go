package ldaptest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// front is the listener clients connect to. It forwards each connection to
// the LDAP backend, so that the server can refuse connections (down) and
// drop open ones without restarting the backend.
type front struct {
	addr    string
	backend string
	count   *atomic.Int64
	pending *sync.WaitGroup // backend connections gldap has not finished

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newFront(listen, backend string, count *atomic.Int64, pending *sync.WaitGroup) (*front, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	f := &front{addr: ln.Addr().String(), backend: backend, count: count, pending: pending, conns: map[net.Conn]struct{}{}}
	f.serve(ln)
	return f, nil
}

func (f *front) serve(ln net.Listener) {
	f.ln = ln
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.count.Add(1)
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.forward(c)
			}()
		}
	}()
}

func (f *front) forward(c net.Conn) {
	f.pending.Add(1)
	b, err := net.Dial("tcp", f.backend)
	if err != nil {
		f.pending.Done()
		_ = c.Close()
		return
	}
	f.mu.Lock()
	if f.ln == nil { // went down while dialling
		f.mu.Unlock()
		_ = c.Close()
		_ = b.Close()
		return
	}
	f.conns[c] = struct{}{}
	f.conns[b] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = c.Close()
			_ = b.Close()
			f.mu.Lock()
			delete(f.conns, c)
			delete(f.conns, b)
			f.mu.Unlock()
		})
	}
	go func() {
		_, _ = io.Copy(b, c)
		closeBoth()
	}()
	_, _ = io.Copy(c, b)
	closeBoth()
}

func (f *front) dropAll() {
	f.mu.Lock()
	conns := make([]net.Conn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (f *front) setDown(down bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if down {
		if f.ln != nil {
			_ = f.ln.Close()
			f.ln = nil
		}
		go f.dropAll()
		return nil
	}
	if f.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	f.serve(ln)
	return nil
}

func (f *front) close() {
	f.mu.Lock()
	if f.ln != nil {
		_ = f.ln.Close()
		f.ln = nil
	}
	f.mu.Unlock()
	f.dropAll()
	f.wg.Wait()
}
