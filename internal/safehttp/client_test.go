package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

const doc = `<EntityDescriptor entityID="https://idp.example.com"/>`

func serveDoc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	io.WriteString(w, doc)
}

// tlsServer starts an https server on 127.0.0.1 and returns it with a pool
// that trusts its certificate.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func httpServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// wantReason fails unless err is an *sso.Error with the reason whose Detail
// contains each of details.
func wantReason(t *testing.T, err error, reason sso.Reason, details ...string) *sso.Error {
	t.Helper()
	var se *sso.Error
	if !errors.As(err, &se) || se.Reason != reason {
		t.Fatalf("err = %v, want reason %s", err, reason)
	}
	for _, d := range details {
		if !strings.Contains(se.Detail, d) {
			t.Fatalf("Detail %q does not mention %q", se.Detail, d)
		}
	}
	return se
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	var hits int
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		serveDoc(w, r)
	}))
	ctx := context.Background()

	_, err := Get(ctx, NewClient(Options{RootCAs: pool}), srv.URL+"/metadata", 0)
	se := wantReason(t, err, sso.ReasonAddressNotAllowed, "127.0.0.1", "loopback", "InsecureAllowPrivateNetwork")
	if se.Actual != "127.0.0.1" {
		t.Errorf("Actual = %q, want the refused address", se.Actual)
	}
	if hits != 0 {
		t.Fatalf("the server was reached %d times", hits)
	}

	resp, err := Get(ctx, NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true}), srv.URL+"/metadata", 0)
	if err != nil {
		t.Fatalf("with InsecureAllowPrivateNetwork: %v", err)
	}
	if string(resp.Body) != doc || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("got %d %q %v", resp.StatusCode, resp.Body, resp.Header)
	}
	if resp.URL.String() != srv.URL+"/metadata" {
		t.Errorf("URL = %s", resp.URL)
	}
}

// A host name is checked by the address it resolves to when dialling, not
// by its spelling.
func TestHostNameCheckedAfterResolution(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(serveDoc))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	_, err := Get(context.Background(), NewClient(Options{RootCAs: pool}), "https://localhost:"+port+"/", 0)
	wantReason(t, err, sso.ReasonAddressNotAllowed, `host "localhost" resolves to`, "loopback", "unless InsecureAllowPrivateNetwork is set")
	_, err = Get(context.Background(), NewClient(Options{RootCAs: pool, PrivateNetworkOptionName: "AllowPrivateIssuer"}), "https://localhost:"+port+"/", 0)
	wantReason(t, err, sso.ReasonAddressNotAllowed, "unless AllowPrivateIssuer is set")
}

func TestPlainHTTP(t *testing.T) {
	srv := httpServer(t, http.HandlerFunc(serveDoc))
	ctx := context.Background()

	_, err := Get(ctx, NewClient(Options{InsecureAllowPrivateNetwork: true}), srv.URL, 0)
	se := wantReason(t, err, sso.ReasonAddressNotAllowed, "plain http", "InsecureAllowHTTP")
	if se.Actual != "http" {
		t.Errorf("Actual = %q", se.Actual)
	}
	// InsecureAllowHTTP alone does not open the private network.
	_, err = Get(ctx, NewClient(Options{InsecureAllowHTTP: true}), srv.URL, 0)
	wantReason(t, err, sso.ReasonAddressNotAllowed, "127.0.0.1")

	resp, err := Get(ctx, NewClient(Options{InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true}), srv.URL, 0)
	if err != nil || string(resp.Body) != doc {
		t.Fatalf("with InsecureAllowHTTP and InsecureAllowPrivateNetwork: %v", err)
	}
	// A nil client means the defaults.
	_, err = Get(ctx, nil, srv.URL, 0)
	wantReason(t, err, sso.ReasonAddressNotAllowed, "InsecureAllowHTTP")
}

func TestCredentialsInURLRefused(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(serveDoc))
	u := strings.Replace(srv.URL, "https://", "https://admin:secret@", 1)
	_, err := Get(context.Background(), NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true}), u, 0)
	wantReason(t, err, sso.ReasonAddressNotAllowed, "credentials")
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error reveals the password: %v", err)
	}
}

// publicLoopback treats 127.0.0.1 as a public address, so that a loopback
// test server can play a public host that redirects elsewhere.
func publicLoopback(ip netip.Addr) string {
	if ip == netip.MustParseAddr("127.0.0.1") {
		return ""
	}
	return classify(ip)
}

func TestRedirectToPrivateAddressRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	var privateHits int
	private := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		privateHits++
		io.WriteString(w, "secret")
	}))
	private.Listener.Close()
	private.Listener = l
	private.StartTLS()
	t.Cleanup(private.Close)

	public, pool := tlsServer(t, http.RedirectHandler(private.URL+"/latest/meta-data/", http.StatusFound))

	opts := Options{RootCAs: pool, classify: publicLoopback}
	if err := CheckURL(public.URL, opts); err != nil {
		t.Fatalf("the first URL passes validation: %v", err)
	}
	_, err = Get(context.Background(), NewClient(opts), public.URL+"/metadata", 0)
	se := wantReason(t, err, sso.ReasonAddressNotAllowed, "127.0.0.2", "InsecureAllowPrivateNetwork")
	if se.Actual != "127.0.0.2" {
		t.Errorf("Actual = %q", se.Actual)
	}
	if privateHits != 0 {
		t.Fatal("the private server was reached")
	}
}

func TestRedirectHopsChecked(t *testing.T) {
	plain := httpServer(t, http.HandlerFunc(serveDoc))
	final, pool := tlsServer(t, http.HandlerFunc(serveDoc))
	mux := http.NewServeMux()
	mux.Handle("/to-http", http.RedirectHandler(plain.URL+"/", http.StatusFound))
	mux.Handle("/to-ftp", http.RedirectHandler("ftp://127.0.0.1/x", http.StatusFound))
	mux.Handle("/to-creds", http.RedirectHandler(strings.Replace(final.URL, "https://", "https://u:p@", 1), http.StatusFound))
	mux.Handle("/to-final", http.RedirectHandler(final.URL+"/", http.StatusMovedPermanently))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	chain := func(n int) string { return "/chain" + strings.Repeat("x", n) }
	for i := 1; i <= 3; i++ {
		mux.Handle(chain(i), http.RedirectHandler(chain(i-1), http.StatusFound))
	}
	mux.Handle(chain(0), http.RedirectHandler(final.URL+"/", http.StatusFound))
	// Both test servers present the same built-in certificate.
	srv, _ := tlsServer(t, mux)

	private := Options{RootCAs: pool, InsecureAllowPrivateNetwork: true}
	tests := []struct {
		name   string
		path   string
		opts   Options
		reason sso.Reason // "" = success
		detail string
	}{
		{"https to http", "/to-http", private, sso.ReasonAddressNotAllowed, "InsecureAllowHTTP"},
		{"to ftp", "/to-ftp", private, sso.ReasonAddressNotAllowed, "only https"},
		{"to credentials", "/to-creds", private, sso.ReasonAddressNotAllowed, "credentials"},
		{"one hop", "/to-final", private, "", ""},
		{"four hops refused", chain(3), private, sso.ReasonMetadataFetchFailed, "more than 3"},
		{"three hops", chain(2), private, "", ""},
		{"loop", "/loop", private, sso.ReasonMetadataFetchFailed, "redirected more than"},
		{"no redirects", "/to-final", Options{RootCAs: pool, InsecureAllowPrivateNetwork: true, MaxRedirects: -1}, sso.ReasonMetadataFetchFailed, "more than 0"},
		{"five allowed", chain(3), Options{RootCAs: pool, InsecureAllowPrivateNetwork: true, MaxRedirects: 5}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Get(context.Background(), NewClient(tt.opts), srv.URL+tt.path, 0)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != doc || resp.URL.String() != final.URL+"/" {
					t.Fatalf("got %q from %s", resp.Body, resp.URL)
				}
				return
			}
			wantReason(t, err, tt.reason, tt.detail)
		})
	}
}

func TestSizeCap(t *testing.T) {
	const limit = 1000
	body := strings.Repeat("a", limit)
	mux := http.NewServeMux()
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	mux.HandleFunc("/known", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body+"b") })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		// Flushing first makes the response chunked, without Content-Length.
		w.(http.Flusher).Flush()
		for range 5 {
			io.WriteString(w, body[:limit/4])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		chunk := strings.Repeat("x", 64<<10)
		for range 32 { // 2 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	srv, pool := tlsServer(t, mux)
	ctx := context.Background()

	tests := []struct {
		name     string
		path     string
		opts     Options
		maxBytes int64
		wantErr  string
	}{
		{"client cap exact", "/exact", Options{MaxBytes: limit}, 0, ""},
		{"client cap, Content-Length over", "/known", Options{MaxBytes: limit}, 0, "larger than 1000 bytes (Content-Length is 1001 bytes)"},
		{"client cap, chunked over", "/chunked", Options{MaxBytes: limit}, 0, "larger than 1000 bytes"},
		{"Get cap exact", "/exact", Options{}, limit, ""},
		{"Get cap, Content-Length over", "/known", Options{}, limit, "larger than 1000 bytes"},
		{"Get cap, chunked over", "/chunked", Options{}, limit, "larger than 1000 bytes"},
		{"default cap", "/big", Options{}, 0, "larger than 1048576 bytes"},
		{"default cap with larger Get cap", "/big", Options{}, 4 << 20, "larger than 1048576 bytes"},
		{"raised caps", "/big", Options{MaxBytes: 4 << 20}, 4 << 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.RootCAs, tt.opts.InsecureAllowPrivateNetwork = pool, true
			resp, err := Get(ctx, NewClient(tt.opts), srv.URL+tt.path, tt.maxBytes)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(resp.Body); n != limit && n != 2<<20 {
					t.Fatalf("got %d bytes", n)
				}
				return
			}
			wantReason(t, err, sso.ReasonMetadataFetchFailed, tt.wantErr)
		})
	}

	// A caller reading the client's response directly is capped too.
	c := NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true, MaxBytes: limit})
	resp, err := c.Get(srv.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	wantReason(t, err, sso.ReasonMetadataFetchFailed, "larger than 1000 bytes")
	if len(got) != limit {
		t.Fatalf("read %d bytes before the error, want %d", len(got), limit)
	}
}

func TestStatusRefused(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
	srv, pool := tlsServer(t, mux)
	c := NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true})
	for path, status := range map[string]string{"/missing": "404 Not Found", "/broken": "500 Internal Server Error", "/notmodified": "304 Not Modified"} {
		_, err := Get(context.Background(), c, srv.URL+path, 0)
		se := wantReason(t, err, sso.ReasonMetadataFetchFailed, "status "+status)
		if se.Actual != status {
			t.Errorf("%s: Actual = %q", path, se.Actual)
		}
	}
}

func TestTimeout(t *testing.T) {
	mux := http.NewServeMux()
	// The handlers stall until the client goes away, then abort the
	// connection rather than complete the response. They give up after a
	// while, so that a missing timeout fails the test instead of hanging it.
	wait := func(r *http.Request) {
		select {
		case <-r.Context().Done():
			panic(http.ErrAbortHandler)
		case <-time.After(3 * time.Second):
		}
	}
	mux.HandleFunc("/slow-headers", func(w http.ResponseWriter, r *http.Request) {
		wait(r)
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<EntityDescriptor")
		w.(http.Flusher).Flush()
		wait(r)
	})
	srv, pool := tlsServer(t, mux)
	c := NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true, Timeout: 200 * time.Millisecond})
	for _, path := range []string{"/slow-headers", "/slow-body"} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			_, err := Get(context.Background(), c, srv.URL+path, 0)
			wantReason(t, err, sso.ReasonMetadataFetchFailed, "timed out")
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}

	// The caller's context bounds the request too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Get(ctx, NewClient(Options{RootCAs: pool, InsecureAllowPrivateNetwork: true}), srv.URL+"/slow-headers", 0)
	wantReason(t, err, sso.ReasonMetadataFetchFailed, "timed out")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestCustomRootCAs(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(serveDoc))
	_, err := Get(context.Background(), NewClient(Options{InsecureAllowPrivateNetwork: true}), srv.URL+"/?token=secret", 0)
	wantReason(t, err, sso.ReasonMetadataFetchFailed, "failed")
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error reveals the query: %v", err)
	}
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("err = %v, want it to wrap x509.UnknownAuthorityError", err)
	}
	resp, err := Get(context.Background(), NewClient(Options{InsecureAllowPrivateNetwork: true, RootCAs: pool}), srv.URL, 0)
	if err != nil || string(resp.Body) != doc {
		t.Fatalf("with RootCAs: %v", err)
	}
}

func TestTLSVersionFloor(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(serveDoc))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	_, err := Get(context.Background(), NewClient(Options{InsecureAllowPrivateNetwork: true, RootCAs: pool}), srv.URL, 0)
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	tr := NewClient(Options{}).Transport.(*guard).base.(*http.Transport)
	if tr.TLSClientConfig.MinVersion < tls.VersionTLS12 || tr.Proxy != nil {
		t.Fatalf("MinVersion %x, Proxy set %v", tr.TLSClientConfig.MinVersion, tr.Proxy != nil)
	}
}

// TestConcurrentRequestsReuseConnections runs 8 clients in parallel
// against one HTTP/1.1 TLS host, as 8 logins at a time exchange their codes
// at a token endpoint: once warm, they open no new connection, and every
// connection they did open went through the address check.
func TestConcurrentRequestsReuseConnections(t *testing.T) {
	const clients = 8
	var mu sync.Mutex
	opened, checked := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(serveDoc))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := NewClient(Options{RootCAs: pool, classify: func(netip.Addr) string {
		mu.Lock()
		checked++
		mu.Unlock()
		return "" // the loopback test server stands in for a public host
	}})
	run := func(perClient int) {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range perClient {
					resp, err := Get(context.Background(), c, srv.URL, 0)
					if err != nil || string(resp.Body) != doc {
						t.Errorf("Get: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	count := func() (int, int) { mu.Lock(); defer mu.Unlock(); return opened, checked }
	run(20) // warm up
	warm, _ := count()
	if warm < 1 || warm > MaxIdleConnsPerHost {
		t.Fatalf("warm-up opened %d connections", warm)
	}
	run(100)
	after, checks := count()
	if after != warm {
		t.Errorf("%d clients in steady state opened %d new connections in %d requests (MaxIdleConnsPerHost %d); want 0", clients, after-warm, clients*100, MaxIdleConnsPerHost)
	}
	if checks != after {
		t.Errorf("%d connections opened, %d address checks; every connection must be checked", after, checks)
	}
}
