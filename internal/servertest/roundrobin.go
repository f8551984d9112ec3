package servertest

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// RoundRobin is a load balancer for tests: an HTTP reverse proxy on a
// loopback port that sends each request to the next of its backends in
// turn, as a load balancer without session affinity does. Requests keep
// the Host they were sent with, so the backends see the balancer's
// address as their own. It is safe for concurrent use.
type RoundRobin struct {
	url  string
	mu   sync.RWMutex
	back []*url.URL
	next atomic.Uint64
	// Served counts the requests sent to each backend, by its URL.
	served sync.Map
}

// NewRoundRobin starts a RoundRobin without backends (it answers 502
// until Add) on host ("localhost" or "127.0.0.1") and a free port; it
// stops when the test ends.
func NewRoundRobin(t testing.TB, host string) *RoundRobin {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("round robin: %v", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	rr := &RoundRobin{url: "http://" + net.JoinHostPort(host, port)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target := rr.pick()
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "round robin: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rr
}

// URL returns the balancer's base URL, e.g. http://localhost:41234.
func (rr *RoundRobin) URL() string { return rr.url }

// Add adds a backend by its base URL.
func (rr *RoundRobin) Add(backend string) {
	u, err := url.Parse(backend)
	if err != nil {
		panic("round robin: backend " + backend + ": " + err.Error())
	}
	rr.mu.Lock()
	rr.back = append(rr.back, u)
	rr.mu.Unlock()
}

// Served returns how many requests went to the backend.
func (rr *RoundRobin) Served(backend string) int64 {
	if v, ok := rr.served.Load(backend); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (rr *RoundRobin) pick() *url.URL {
	rr.mu.RLock()
	defer rr.mu.RUnlock()
	if len(rr.back) == 0 {
		return &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	}
	u := rr.back[rr.next.Add(1)%uint64(len(rr.back))]
	v, _ := rr.served.LoadOrStore(u.String(), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	return u
}
