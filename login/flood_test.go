package login_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// floodRequests is how many anonymous requests TestFlood sends: a million,
// or fewer with -short and under the race detector, which is ten times
// slower.
func floodRequests() int {
	if testing.Short() || raceEnabled {
		return 20_000
	}
	return 1_000_000
}

// TestFlood sends a flood of anonymous login starts (SAML and OpenID
// Connect) and junk answers (callbacks and SAML responses with made-up
// state, codes and messages) straight to the handler, as a client that
// throws its cookies away would. Pending logins are sealed into the
// browser, and replay records are written only for what an identity
// provider signed or a token endpoint accepted, so the flood leaves no
// state on the server: the heap stays flat, the stores stay empty, and
// logins begun before, during and after it succeed.
func TestFlood(t *testing.T) {
	w := newWorld(t, worldOptions{countEvents: true})
	n := floodRequests()

	// Before the flood: a SAML and an OpenID Connect login are begun.
	samlB, oidcB := w.browser(), w.browser()
	samlStart := samlB.post("/auth/login", form("email", "sam@grants.example", "return_to", "/before"))
	oidcStart := oidcB.post("/auth/login", form("email", "olly@acme.example"))
	samlAction, samlForm := samlB.samlIdPLogin(samlStart, "sam@grants.example")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	replayBefore := w.replay.Len()

	requests := []func() *http.Request{
		func() *http.Request { return httptest.NewRequest(http.MethodGet, "/auth/login/sso/grants", nil) },
		func() *http.Request { return postForm("/auth/login/start", form("connection", "acme-oidc")) },
		func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/auth/oidc/acme-oidc/callback?state=junk-state&code=junk-code", nil)
		},
		func() *http.Request {
			return postForm("/auth/saml/grants-saml/acs", form("SAMLResponse", "PHNhbWxwOlJlc3BvbnNlLz4=", "RelayState", "junk"))
		},
	}
	var sent, unexpected atomic.Int64
	var wg sync.WaitGroup
	workers := max(2, runtime.GOMAXPROCS(0))
	during := make(chan error, 1)
	half := make(chan struct{})
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += workers {
				rec := httptest.NewRecorder()
				req := requests[i%len(requests)]()
				w.h.ServeHTTP(rec, req)
				switch i % len(requests) {
				case 0, 1:
					if rec.Code != http.StatusSeeOther {
						unexpected.Add(1)
					}
				default:
					if rec.Code < 400 {
						unexpected.Add(1)
					}
				}
				if sent.Add(1) == int64(n/2) {
					close(half)
				}
			}
		}(g)
	}
	// During the flood: a whole OpenID Connect login.
	go func() {
		<-half
		b := w.browser()
		p := b.oidcLogin(b.post("/auth/login", form("email", "ada@acme.example", "return_to", "/during")), "ada")
		if p.status != http.StatusSeeOther || p.loc != "/during" || b.session() == nil {
			during <- fmt.Errorf("the login during the flood ended with %d %q", p.status, p.loc)
			return
		}
		during <- nil
	}()
	wg.Wait()
	if err := <-during; err != nil {
		t.Fatal(err)
	}
	if u := unexpected.Load(); u != 0 {
		t.Fatalf("%d of %d flood requests got an unexpected status", u, n)
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d anonymous requests: heap in use %.1f MB before, %.1f MB after (%+.1f MB); handler states %d, connection states %d, replay records %d -> %d; events %d",
		n, mb(before.HeapInuse), mb(after.HeapInuse), float64(growth)/(1<<20), w.waiting.Len(), w.states.Len(), replayBefore, w.replay.Len(), w.events.n)
	if growth > 16<<20 {
		t.Errorf("the heap grew by %.1f MB during the flood", float64(growth)/(1<<20))
	}
	if w.waiting.Len() != 0 || w.states.Len() != 0 {
		t.Errorf("the flood left state on the server: %d waiting identities, %d pending logins", w.waiting.Len(), w.states.Len())
	}
	// The login during the flood recorded its code and nonce; the flood
	// recorded nothing.
	if got := w.replay.Len(); got != replayBefore+2 {
		t.Errorf("replay records %d -> %d; want only the two of the login during the flood", replayBefore, got)
	}

	// The logins begun before the flood complete.
	if p := samlB.postACS(samlAction, samlForm); p.status != http.StatusSeeOther || p.loc != "/before" {
		t.Fatalf("the SAML login begun before the flood: %d %q\n%s", p.status, p.loc, p.body)
	}
	samlB.mustSession("sam@grants.example")
	if p := oidcB.oidcLogin(oidcStart, "olly"); p.status != http.StatusSeeOther || oidcB.session() == nil {
		t.Fatalf("the OpenID Connect login begun before the flood: %d %q\n%s", p.status, p.loc, p.body)
	}
	// And a login after it.
	after2 := w.browser()
	if p := after2.samlLogin(after2.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example"); p.status != http.StatusSeeOther {
		t.Fatalf("the login after the flood: %d\n%s", p.status, p.body)
	}
}

func postForm(target string, v url.Values) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return req
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
