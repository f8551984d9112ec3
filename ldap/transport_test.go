package ldap_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/ssotest"
)

func deadURL(t *testing.T) string {
	return "ldap://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
}

func TestTLSRequired(t *testing.T) {
	plainCfg := ldaptest.SampleConfig()
	plainCfg.NoTLS = true
	plain := ldaptest.Start(t, plainCfg)
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	other := ldaptest.Start(t, ldaptest.SampleConfig())

	tests := []struct {
		name   string
		cfg    ldap.Config
		detail string
		check  func(t *testing.T, err error)
	}{
		{name: "plain-only server refuses StartTLS", cfg: ldap.Config{URLs: []string{plain.URL()}},
			detail: "StartTLS refused"},
		{name: "certificate from an unknown CA", cfg: ldap.Config{URLs: []string{srv.URL()}},
			detail: "certificate", check: func(t *testing.T, err error) {
				var ve *tls.CertificateVerificationError
				var ua x509.UnknownAuthorityError
				if !errors.As(err, &ve) || !errors.As(err, &ua) {
					t.Fatalf("err = %v; want a certificate verification error in the chain", err)
				}
			}},
		{name: "certificate signed by another CA", cfg: ldap.Config{URLs: []string{srv.LDAPSURL()}, CACertPEM: other.CACertPEM()},
			detail: "certificate"},
		{name: "name mismatch", cfg: ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), ServerName: "ldap.other.example"},
			detail: "ldap.other.example", check: func(t *testing.T, err error) {
				var he x509.HostnameError
				if !errors.As(err, &he) {
					t.Fatalf("err = %v; want a HostnameError in the chain", err)
				}
			}},
		{name: "ldaps to a plain port", cfg: ldap.Config{URLs: []string{strings.Replace(plain.URL(), "ldap://", "ldaps://", 1)}},
			detail: "TLS handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Search = serviceSearch()
			tt.cfg.DialTimeout = 2 * time.Second
			a := newAuth(t, tt.cfg)
			_, err := login(a, "alice@example.com", "alice-password")
			wantReason(t, err, sso.ReasonTLSRequired)
			if !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("err = %v; want it to mention %q", err, tt.detail)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}

	t.Run("plain-only server with InsecureNoTLS", func(t *testing.T) {
		a := newAuth(t, ldap.Config{URLs: []string{plain.URL()}, InsecureNoTLS: true, Search: serviceSearch()})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
		if plain.Stats().StartTLS != 1 { // only the refused attempt above
			t.Fatalf("StartTLS requests = %d", plain.Stats().StartTLS)
		}
	})
	t.Run("server that requires TLS, without TLS", func(t *testing.T) {
		cfg := ldaptest.SampleConfig()
		cfg.RequireTLS = true
		strict := ldaptest.Start(t, cfg)
		a := newAuth(t, ldap.Config{URLs: []string{strict.URL()}, InsecureNoTLS: true, Search: serviceSearch()})
		_, err := login(a, "alice@example.com", "alice-password")
		wantReason(t, err, sso.ReasonTLSRequired)
		a = newAuth(t, ldap.Config{URLs: []string{strict.URL()}, CACertPEM: strict.CACertPEM(), Search: serviceSearch()})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatalf("with StartTLS: %v", err)
		}
	})
	t.Run("ServerName", func(t *testing.T) {
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), ServerName: "localhost", Search: serviceSearch()})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSystemRoots: without CACertPEM the system roots are trusted. The
// test runs its own binary again with SSL_CERT_FILE naming the test CA,
// which Go reads as the system roots on Unix.
func TestSystemRoots(t *testing.T) {
	const urlEnv = "SSOKIT_LDAP_SYSTEM_ROOTS_URL"
	if url := os.Getenv(urlEnv); url != "" {
		a := newAuth(t, ldap.Config{URLs: []string{url}, Search: serviceSearch()})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatalf("with the CA among the system roots: %v", err)
		}
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		t.Skip("the system roots do not come from SSL_CERT_FILE here")
	}
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSystemRoots$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+ca, urlEnv+"="+srv.URL())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSystemRoots") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
}

func TestFailover(t *testing.T) {
	first := ldaptest.Start(t, ldaptest.SampleConfig())
	second := ldaptest.Start(t, ldaptest.SampleConfig())
	clock := ssotest.NewClock(fixedNow)
	var mu sync.Mutex
	var events []sso.Event
	a := newAuth(t, ldap.Config{
		URLs:           []string{first.URL(), second.URL()},
		CACertPEM:      append(append([]byte(nil), first.CACertPEM()...), second.CACertPEM()...),
		Search:         serviceSearch(),
		DisablePooling: true,
		Now:            clock.Now,
		Events: func(ctx context.Context, e sso.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	})
	issuer := func() string {
		t.Helper()
		id, err := login(a, "alice@example.com", "alice-password")
		if err != nil {
			t.Fatal(err)
		}
		return id.Issuer
	}
	if got := issuer(); got != first.URL() {
		t.Fatalf("Issuer = %q; want the first server", got)
	}
	if err := first.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if got := issuer(); got != second.URL() {
		t.Fatalf("with the first down, Issuer = %q; want the second", got)
	}
	mu.Lock()
	if len(events) != 1 || events[0].Type != sso.EventWarning || !strings.Contains(events[0].Detail, first.URL()) {
		t.Fatalf("events = %+v; want one warning naming the failed server", events)
	}
	mu.Unlock()
	// Back up, but still skipped until RetryDownAfter has passed.
	if err := first.SetDown(false); err != nil {
		t.Fatal(err)
	}
	before := first.Stats().Connections
	if got := issuer(); got != second.URL() {
		t.Fatalf("Issuer = %q; want the second while the first is marked down", got)
	}
	if first.Stats().Connections != before {
		t.Fatalf("the server marked down was dialled")
	}
	clock.Advance(ldap.DefaultRetryDownAfter + time.Second)
	if got := issuer(); got != first.URL() {
		t.Fatalf("after RetryDownAfter, Issuer = %q; want the first again", got)
	}

	// Everything down: unavailable, with each server's failure.
	_ = first.SetDown(true)
	_ = second.SetDown(true)
	_, err := login(a, "alice@example.com", "alice-password")
	se := wantReason(t, err, sso.ReasonUnavailable)
	if !strings.Contains(se.Error(), first.URL()) || !strings.Contains(se.Error(), second.URL()) {
		t.Fatalf("err = %v; want both URLs", err)
	}
	// Servers marked down are still tried when nothing else is left.
	_ = second.SetDown(false)
	if got := issuer(); got != second.URL() {
		t.Fatalf("Issuer = %q; want the second", got)
	}
}

func TestFailoverDeadPort(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{deadURL(t), srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil || id.Issuer != srv.URL() {
		t.Fatalf("login = %+v, %v", id, err)
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("dial", func(t *testing.T) {
		srv := ldaptest.Start(t, ldaptest.SampleConfig())
		srv.SetDelay(2 * time.Second) // StartTLS answers late
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), DialTimeout: 50 * time.Millisecond})
		start := time.Now()
		_, err := login(a, "alice@example.com", "alice-password")
		wantReason(t, err, sso.ReasonUnavailable)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("login took %v; DialTimeout is 50ms", d)
		}
	})
	t.Run("operation", func(t *testing.T) {
		srv := ldaptest.Start(t, ldaptest.SampleConfig())
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), OpTimeout: 50 * time.Millisecond})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
		srv.SetDelay(2 * time.Second)
		start := time.Now()
		_, err := login(a, "alice@example.com", "alice-password")
		wantReason(t, err, sso.ReasonUnavailable)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("login took %v; OpTimeout is 50ms", d)
		}
		if st := a.Stats(); st.Service.Open != 0 {
			t.Fatalf("the timed-out connection was kept: %+v", st)
		}
		srv.SetDelay(0)
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatalf("after the delay: %v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		srv := ldaptest.Start(t, ldaptest.SampleConfig())
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
		srv.SetDelay(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := a.Complete(ctx, sso.CompleteRequest{Email: "alice@example.com", Password: "alice-password"})
		wantReason(t, err, sso.ReasonUnavailable)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v; want it to wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("login took %v; the context ended after 50ms", d)
		}
	})
	t.Run("waiting for a connection", func(t *testing.T) {
		srv := ldaptest.Start(t, ldaptest.SampleConfig())
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), MaxConns: 1})
		srv.SetDelay(60 * time.Millisecond)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = login(a, "alice@example.com", "alice-password")
		}()
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := a.Complete(ctx, sso.CompleteRequest{Email: "bob@example.com", Password: "bob-password"})
		wantReason(t, err, sso.ReasonUnavailable)
		<-done
	})
}

func TestPoolReuse(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	for i := 0; i < 5; i++ {
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
		if _, err := login(a, "bob@example.com", "wrong"); !errors.Is(err, sso.ReasonInvalidCredentials) {
			t.Fatal(err)
		}
	}
	st := a.Stats()
	want := ldap.Stats{
		Service: ldap.PoolStats{Open: 1, Idle: 1, Dials: 1, Reuses: 9},
		Bind:    ldap.PoolStats{Open: 1, Idle: 1, Dials: 1, Reuses: 9},
	}
	if st != want {
		t.Fatalf("Stats = %+v; want %+v", st, want)
	}
	if s := srv.Stats(); s.Connections != 2 || s.StartTLS != 2 || s.Searches != 10 || s.Binds != 11 {
		t.Fatalf("server stats = %+v; want 2 connections, 2 StartTLS, 10 searches, 1+10 binds", s)
	}
	a.Close()
	_, err := login(a, "alice@example.com", "alice-password")
	se := wantReason(t, err, sso.ReasonUnavailable)
	if !strings.Contains(se.Detail, "closed") {
		t.Fatalf("Detail = %q", se.Detail)
	}
	if st := a.Stats(); st.Service.Open != 0 || st.Bind.Open != 0 {
		t.Fatalf("after Close: %+v", st)
	}
}

// TestSearchesNeverRunAsUser: a connection on which a user has bound is
// never used for the next login's search, which must run as the service
// account (or anonymously) whoever logged in before.
func TestSearchesNeverRunAsUser(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	for _, tc := range []struct {
		name    string
		search  *ldap.Search
		boundAs string
	}{
		{"service account", serviceSearch(), ldaptest.SampleServiceDN},
		{"anonymous", &ldap.Search{BaseDN: sampleBase, ObjectClass: "inetOrgPerson"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: tc.search, MaxConns: 1})
			for _, l := range []struct{ user, password string }{
				{"alice", "alice-password"}, {"bob", "bob-password"}, {"alice", "wrong"}, {"bob", "bob-password"},
			} {
				_, err := login(a, l.user+"@example.com", l.password)
				if (err == nil) != (l.password != "wrong") {
					t.Fatalf("%s: %v", l.user, err)
				}
			}
			searches := srv.Searches()
			if len(searches) != 4 {
				t.Fatalf("server saw %d searches; want 4", len(searches))
			}
			for i, s := range searches {
				if s.BoundDN != tc.boundAs {
					t.Fatalf("search %d ran bound as %q; want %q", i, s.BoundDN, tc.boundAs)
				}
			}
			if st := a.Stats(); st.Service.Reuses != 3 || st.Bind.Reuses != 3 {
				t.Fatalf("Stats = %+v; want the connections reused", st)
			}
		})
	}
}

func TestDisablePooling(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	for _, tc := range []struct {
		name string
		cfg  ldap.Config
		want ldap.Stats
	}{
		{"search", ldap.Config{Search: serviceSearch()}, ldap.Stats{Service: ldap.PoolStats{Dials: 3}}},
		{"template", ldap.Config{Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}},
			ldap.Stats{Bind: ldap.PoolStats{Dials: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			cfg := tc.cfg
			cfg.URLs, cfg.CACertPEM, cfg.DisablePooling = []string{srv.URL()}, srv.CACertPEM(), true
			a := newAuth(t, cfg)
			for i := 0; i < 3; i++ {
				if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
					t.Fatal(err)
				}
			}
			if st := a.Stats(); st != tc.want {
				t.Fatalf("Stats = %+v; want %+v", st, tc.want)
			}
			if s := srv.Stats(); s.Connections != 3 {
				t.Fatalf("server saw %d connections; want one per login", s.Connections)
			}
		})
	}
}

func TestPoolIdleAndHealth(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	clock := ssotest.NewClock(fixedNow)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), Now: clock.Now,
		HealthCheckAfter: 10 * time.Second, IdleTimeout: time.Minute})
	mustLogin := func() {
		t.Helper()
		if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
			t.Fatal(err)
		}
	}
	mustLogin()
	srv.ResetStats()

	// Idle beyond HealthCheckAfter: each pool probes its connection with a
	// root DSE read before reusing it.
	clock.Advance(11 * time.Second)
	mustLogin()
	probes := 0
	for _, s := range srv.Searches() {
		if s.BaseDN == "" && s.Scope == 0 {
			probes++
		}
	}
	if probes != 2 || srv.Stats().Connections != 0 {
		t.Fatalf("probes = %d, new connections = %d; want 2 probes and no dial", probes, srv.Stats().Connections)
	}

	// Idle beyond IdleTimeout: replaced without a probe.
	clock.Advance(2 * time.Minute)
	srv.ResetStats()
	mustLogin()
	if s := srv.Stats(); s.Connections != 2 || s.Searches != 1 {
		t.Fatalf("server stats = %+v; want 2 new connections and no probe", s)
	}

	// The server dropped the connections (restart, firewall): the next
	// login notices and dials again.
	srv.DropConnections()
	time.Sleep(20 * time.Millisecond)
	srv.ResetStats()
	mustLogin()
	if s := srv.Stats(); s.Connections != 2 {
		t.Fatalf("server stats = %+v; want 2 new connections", s)
	}

	// A probe that fails discards the connection and dials again.
	clock.Advance(11 * time.Second)
	srv.DropConnections()
	mustLogin()
}

func TestPoolBounded(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	srv.SetDelay(10 * time.Millisecond)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), MaxConns: 2})
	var wg sync.WaitGroup
	var failed sync.Map
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := login(a, "bob@example.com", "bob-password"); err != nil {
				failed.Store(i, err)
			}
		}(i)
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("login %v: %v", k, v); return true })
	st := a.Stats()
	if st.Service.Dials > 2 || st.Bind.Dials > 2 || srv.Stats().Connections > 4 {
		t.Fatalf("Stats = %+v, server connections = %d; want at most 2 per pool", st, srv.Stats().Connections)
	}
}

// TestHangingServer: a server that accepts connections but never answers
// is bounded by DialTimeout.
func TestHangingServer(t *testing.T) {
	// Accepts, reads and never answers, until the client gives up.
	ln := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{"ldap://" + ln.Addr().String(), srv.URL()}, CACertPEM: srv.CACertPEM(),
		Search: serviceSearch(), DialTimeout: 100 * time.Millisecond})
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil || id.Issuer != srv.URL() {
		t.Fatalf("login = %+v, %v; want the second server", id, err)
	}
}

// TestCancelledLoginDoesNotMarkServerDown: a login whose context ends while
// dialling leaves the server in the rotation.
func TestCancelledLoginDoesNotMarkServerDown(t *testing.T) {
	first := ldaptest.Start(t, ldaptest.SampleConfig())
	second := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{first.URL(), second.URL()},
		CACertPEM: append(append([]byte(nil), first.CACertPEM()...), second.CACertPEM()...), Search: serviceSearch(), DisablePooling: true})
	first.SetDelay(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.Complete(ctx, sso.CompleteRequest{Email: "alice@example.com", Password: "alice-password"})
	wantReason(t, err, sso.ReasonUnavailable)
	first.SetDelay(0)
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil || id.Issuer != first.URL() {
		t.Fatalf("login = %+v, %v; want the first server still in use", id, err)
	}
	if second.Stats().Connections != 0 {
		t.Fatalf("the second server was dialled")
	}
}

// TestDropAfterStartTLS: a server that agrees to StartTLS and then drops
// the connection (a restart, a balancer cutting it) is unavailable, not a
// TLS problem: an administrator must not be sent to the TLS settings for
// a network drop. ldaps:// to a plain port stays ReasonTLSRequired
// (TestTLSRequired).
func TestDropAfterStartTLS(t *testing.T) {
	ln := serve(t, func(c net.Conn) {
		req, err := ber.ReadPacket(c)
		if err != nil || len(req.Children) < 1 {
			return
		}
		// ExtendedResponse, success, for the StartTLS request.
		resp := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
		resp.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, req.Children[0].Value, "MessageID"))
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedResponse, nil, "Extended Response")
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "resultCode"))
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
		resp.AppendChild(op)
		_, _ = c.Write(resp.Bytes())
		// Then the hello arrives and the connection drops.
		_, _ = c.Read(make([]byte, 512))
	})
	a := newAuth(t, ldap.Config{URLs: []string{"ldap://" + ln.Addr().String()}, Search: serviceSearch(), DialTimeout: 2 * time.Second})
	_, err := login(a, "alice@example.com", "alice-password")
	wantReason(t, err, sso.ReasonUnavailable)
	if !strings.Contains(err.Error(), "dropped during the TLS handshake after StartTLS") {
		t.Fatalf("err = %v; want it to say the connection dropped", err)
	}
}

// serve listens on a loopback port and runs handle on each connection,
// closing it afterwards; the listener closes when the test ends.
func serve(t *testing.T, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln
}
