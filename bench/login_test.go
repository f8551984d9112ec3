package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

func newWorld(tb testing.TB, cfg WorldConfig) *World {
	tb.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Close)
	return w
}

// loginAcceptAndRefuse shows that the handler logs each protocol's user
// in, and refuses a SAML response whose signed NameID was changed.
func loginAcceptAndRefuse(tb testing.TB, w *World) {
	tb.Helper()
	for _, proto := range []sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP} {
		a := loginAs(w.NewClient(), proto, 0, false)
		if !a.OK || a.Err != nil {
			tb.Fatalf("%s login of %s: status %d, err %v, reasons %v", proto, a.Email, a.Status, a.Err, a.Reasons)
		}
	}
	a := loginAs(w.NewClient(), sso.ProtocolSAML, 1, true)
	if a.OK || a.Wrong || a.Err != nil || len(a.Reasons) == 0 || a.Reasons[0] != sso.ReasonSignatureInvalid {
		tb.Fatalf("tampered SAML response: ok %v wrong %v err %v reasons %v", a.OK, a.Wrong, a.Err, a.Reasons)
	}
}

func TestLoginThroughHandler(t *testing.T) {
	loginAcceptAndRefuse(t, newWorld(t, WorldConfig{}))
}

// BenchmarkLogin runs complete logins through login.Handler with the
// identity providers in process, one client at a time and with 8 clients
// at once. ns/op is wall time per login; app-ns/login the handler's own
// time (less the wait for the OpenID provider's token endpoint),
// idp-ns/login the providers' (their pages over loopback TLS and the
// token endpoint); new-conns/login the connections the application opened
// to a provider.
func BenchmarkLogin(b *testing.B) {
	w := newWorld(b, WorldConfig{})
	loginAcceptAndRefuse(b, w)
	floorHere(b)
	for _, proto := range []sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC} {
		for _, clients := range []int{1, 8} {
			b.Run(string(proto)+"/clients="+itoa(clients), func(b *testing.B) {
				runLogins(b, w, proto, clients)
			})
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

func runLogins(b *testing.B, w *World, proto sso.Protocol, clients int) {
	cs := make([]*Client, clients)
	for i := range cs {
		cs[i] = w.NewClient()
		// Warm each client's connections to the providers.
		if a := loginAs(cs[i], proto, i%w.Users(), false); !a.OK {
			b.Fatalf("warm-up login: status %d err %v reasons %v", a.Status, a.Err, a.Reasons)
		}
	}
	var app, idp, conns atomic.Int64
	var next atomic.Int64
	var failed atomic.Value
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range cs {
		wg.Add(1)
		go func(c *Client) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				a := loginAs(c, proto, i%w.Users(), false)
				if !a.OK {
					failed.CompareAndSwap(nil, a)
					return
				}
				app.Add(int64(a.App))
				idp.Add(int64(a.IdP))
				conns.Add(int64(a.NewConns))
			}
		}(cs[g])
	}
	wg.Wait()
	b.StopTimer()
	if a, _ := failed.Load().(*Attempt); a != nil {
		b.Fatalf("%s login of %s failed: status %d err %v reasons %v", proto, a.Email, a.Status, a.Err, a.Reasons)
	}
	w.Host.Drop()
	n := float64(b.N)
	b.ReportMetric(float64(app.Load())/n, "app-ns/login")
	b.ReportMetric(float64(idp.Load())/n, "idp-ns/login")
	b.ReportMetric(float64(conns.Load())/n, "new-conns/login")
	b.ReportMetric(n/b.Elapsed().Seconds(), "logins/s")
	runtime.GC()
	_ = time.Now
}
