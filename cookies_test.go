package sso_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ssotest"
)

func TestSealer(t *testing.T) {
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	k1, k2 := sso.NewSealKey(), sso.NewSealKey()
	old, err := sso.NewSealer(clock.Now, k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := sso.NewSealer(clock.Now, k2, k1) // k2 seals, k1 still opens
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := sso.NewSealer(clock.Now, k2)
	if err != nil {
		t.Fatal(err)
	}
	exp := clock.Now().Add(time.Minute)
	sealed, err := old.Seal("flow", []byte("value"), exp)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rotated.Open("flow", sealed); err != nil || string(v) != "value" {
		t.Fatalf("a rotated sealer must open what the old key sealed: %q, %v", v, err)
	}
	newer, _ := rotated.Seal("flow", []byte("value"), exp)
	if _, err := old.Open("flow", newer); err == nil {
		t.Fatal("a sealer without the new key opened a value it sealed")
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	if tampered[len(tampered)-3] == '.' { // stay inside the alphabet
		tampered[len(tampered)-3] = 'A'
	}
	tests := []struct {
		name    string
		s       *sso.Sealer
		purpose string
		sealed  string
		advance time.Duration
	}{
		{"another purpose", old, "binding", sealed, 0},
		{"altered", old, "flow", string(tampered), 0},
		{"dropped key", dropped, "flow", sealed, 0},
		{"expired", old, "flow", sealed, time.Minute},
		{"not base64", old, "flow", "***", 0},
		{"too short", old, "flow", "AAAA", 0},
		{"too long", old, "flow", strings.Repeat("A", 9000), 0},
		{"empty", old, "flow", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			defer clock.Advance(-tc.advance)
			if v, err := tc.s.Open(tc.purpose, tc.sealed); !errors.Is(err, sso.ReasonStateMissing) {
				t.Fatalf("Open = %q, %v; want state_missing", v, err)
			}
		})
	}
	for _, keys := range [][][]byte{nil, {make([]byte, 16)}, {k1, make([]byte, 33)}} {
		if _, err := sso.NewSealer(nil, keys...); !errors.Is(err, sso.ReasonInvalidConfig) {
			t.Errorf("NewSealer(%d keys) = %v; want invalid_config", len(keys), err)
		}
	}
}

// browser is a cookie jar in front of a handler, as a browser would keep
// the cookies of one site.
type browser struct {
	t   *testing.T
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	j, _ := cookiejar.New(nil)
	return &browser{t: t, jar: j}
}

// do runs h for a request to u with the browser's cookies and keeps the
// cookies it sets.
func (b *browser) do(u string, h func(w http.ResponseWriter, r *http.Request)) *http.Response {
	r := httptest.NewRequest(http.MethodGet, u, nil)
	pu, _ := url.Parse(u)
	if pu.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	for _, c := range b.jar.Cookies(pu) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h(w, r)
	res := w.Result()
	b.jar.SetCookies(pu, res.Cookies())
	return res
}

func TestCookiesAttributes(t *testing.T) {
	c, err := sso.NewCookies(sso.CookieConfig{})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		url      string
		secure   bool
		name     string
		sameSite http.SameSite
	}{
		{"https://app.example/x", true, "__Host-ssokit_b", http.SameSiteNoneMode},
		{"http://localhost:8080/x", true, "__Host-ssokit_b", http.SameSiteNoneMode},
		{"http://127.0.0.1:8080/x", true, "__Host-ssokit_b", http.SameSiteNoneMode},
		{"http://app.example/x", false, "ssokit_b", http.SameSiteLaxMode},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.url, nil)
			if strings.HasPrefix(tc.url, "https") {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			if err := c.Set(w, r, "b", []byte("v"), exp); err != nil {
				t.Fatal(err)
			}
			ck := w.Result().Cookies()
			if len(ck) != 1 {
				t.Fatalf("cookies: %v", ck)
			}
			got := ck[0]
			if got.Name != tc.name || got.Secure != tc.secure || got.SameSite != tc.sameSite || !got.HttpOnly || got.Path != "/" || got.Domain != "" || got.MaxAge <= 0 {
				t.Fatalf("cookie %+v", got)
			}
			if strings.Contains(got.Value, "v") && len(got.Value) < 20 {
				t.Fatalf("value not sealed: %q", got.Value)
			}
		})
	}
	// Secure forces the secure attributes behind a TLS-terminating proxy.
	cs, _ := sso.NewCookies(sso.CookieConfig{Secure: true})
	w := httptest.NewRecorder()
	_ = cs.Set(w, httptest.NewRequest(http.MethodGet, "http://app.example/", nil), "b", nil, exp)
	if ck := w.Result().Cookies()[0]; ck.Name != "__Host-ssokit_b" || !ck.Secure {
		t.Fatalf("Secure: %+v", ck)
	}
}

func TestCookiesRefuseWhatTheyDidNotSeal(t *testing.T) {
	c, _ := sso.NewCookies(sso.CookieConfig{})
	other, _ := sso.NewCookies(sso.CookieConfig{}) // another key
	exp := time.Now().Add(time.Hour)
	u := "https://app.example/"
	set := func(c *sso.Cookies, name string) *http.Cookie {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, u, nil)
		r.TLS = &tls.ConnectionState{}
		if err := c.Set(w, r, name, []byte("user-1"), exp); err != nil {
			t.Fatal(err)
		}
		return w.Result().Cookies()[0]
	}
	get := func(cks ...*http.Cookie) ([]byte, bool) {
		r := httptest.NewRequest(http.MethodGet, u, nil)
		r.TLS = &tls.ConnectionState{}
		for _, ck := range cks {
			r.AddCookie(ck)
		}
		return c.Get(r, "binding")
	}
	good := set(c, "binding")
	if v, ok := get(good); !ok || string(v) != "user-1" {
		t.Fatalf("own cookie: %q %v", v, ok)
	}
	renamed := set(c, "flow_x")
	renamed.Name = good.Name
	forged := set(other, "binding")
	planted := &http.Cookie{Name: "ssokit_binding", Value: good.Value} // without __Host-, as a sibling subdomain could set it
	for name, ck := range map[string]*http.Cookie{"sealed for another name": renamed, "sealed with another key": forged,
		"planted without the prefix": planted, "garbage": {Name: good.Name, Value: "abc"}} {
		if v, ok := get(ck); ok {
			t.Errorf("%s: Get = %q, true", name, v)
		}
	}
}

func TestCookieFlows(t *testing.T) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	c, err := sso.NewCookies(sso.CookieConfig{Now: clock.Now, MaxFlows: 3})
	if err != nil {
		t.Fatal(err)
	}
	const site = "http://localhost:8080/"
	save := func(b *browser, id string) {
		t.Helper()
		b.do(site, func(w http.ResponseWriter, r *http.Request) {
			f := &sso.Flow{ID: id, Connection: "acme", RequestID: "req-" + id, Created: clock.Now(), Expires: clock.Now().Add(10 * time.Minute)}
			if err := c.Flows(w, r).Save(ctx, f); err != nil {
				t.Fatal(err)
			}
		})
		clock.Advance(time.Second)
	}
	take := func(b *browser, id string) (*sso.Flow, error) {
		var f *sso.Flow
		var err error
		b.do(site, func(w http.ResponseWriter, r *http.Request) { f, err = c.Flows(w, r).Take(ctx, id) })
		return f, err
	}
	alice, mallory := newBrowser(t), newBrowser(t)
	save(alice, "a1")
	save(alice, "a2")
	if f, err := take(alice, "a1"); err != nil || f.RequestID != "req-a1" || f.ID != "a1" {
		t.Fatalf("Take(a1) = %+v, %v", f, err)
	}
	if _, err := take(alice, "a1"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("a taken pending login came back: %v", err)
	}
	// Another browser cannot complete alice's login with its handle.
	if _, err := take(mallory, "a2"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("another browser took a2: %v", err)
	}
	// A pending login's cookie stands for that login only: mallory's own
	// cookie, renamed to a2's, does not open.
	save(mallory, "m1")
	var mcookie *http.Cookie
	for _, ck := range mallory.jar.Cookies(mustURL(site)) {
		mcookie = ck
	}
	u := mustURL(site)
	var a2name string
	for _, ck := range alice.jar.Cookies(u) {
		a2name = ck.Name
	}
	mallory.jar.SetCookies(u, []*http.Cookie{{Name: a2name, Value: mcookie.Value, Path: "/"}})
	if _, err := take(mallory, "a2"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("a renamed cookie completed another login: %v", err)
	}
	// At most MaxFlows pending logins per browser: the oldest go first.
	for i := 3; i <= 6; i++ {
		save(alice, fmt.Sprintf("a%d", i))
	}
	if n := len(alice.jar.Cookies(u)); n != 3 {
		t.Fatalf("the browser keeps %d pending logins; want 3", n)
	}
	for id, kept := range map[string]bool{"a2": false, "a3": false, "a4": true, "a5": true, "a6": true} {
		if _, err := take(alice, id); (err == nil) != kept {
			t.Errorf("Take(%s) = %v; kept %v", id, err, kept)
		}
	}
	// An expired pending login is refused even when the browser still
	// sends its cookie.
	save(alice, "late")
	cks := alice.jar.Cookies(u)
	clock.Advance(11 * time.Minute)
	var err2 error
	r := httptest.NewRequest(http.MethodGet, site, nil)
	for _, ck := range cks {
		r.AddCookie(ck)
	}
	_, err2 = c.Flows(httptest.NewRecorder(), r).Take(ctx, "late")
	if !errors.Is(err2, sso.ReasonStateMissing) {
		t.Fatalf("expired pending login: %v", err2)
	}
	// Too much to fit a cookie is refused, not truncated.
	big := &sso.Flow{ID: "big", Connection: "acme", Data: map[string]string{"x": string(bytes.Repeat([]byte("y"), 5000))}, Expires: clock.Now().Add(time.Minute)}
	if err := c.Flows(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, site, nil)).Save(ctx, big); !errors.Is(err, sso.ReasonRequestTooLarge) {
		t.Fatalf("oversized pending login: %v", err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
