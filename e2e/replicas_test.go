package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso/examples/demo/demoapp"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// cluster is several replicas of the demo behind a round-robin load
// balancer, sharing a PostgreSQL database and a Redis server, each reached
// through a proxy the test can take down.
type cluster struct {
	t     testing.TB
	rr    *servertest.RoundRobin
	apps  []*demoapp.App
	pg    *servertest.Proxy
	redis *servertest.Proxy
	log   *syncBuffer
}

// startCluster starts n replicas. The first runs the mock identity
// providers; all have the load balancer's URL as their base URL. Without
// withRedis the replay records go to PostgreSQL too.
func startCluster(t testing.TB, n int, withRedis bool, interval time.Duration) *cluster {
	t.Helper()
	c := &cluster{t: t, log: new(syncBuffer)}
	dsn := servertest.PostgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c.pg = servertest.NewProxy(t, u.Host)
	u.Host = c.pg.Addr()
	c.redis = servertest.NewProxy(t, servertest.StartRedis(t))
	c.rr = servertest.NewRoundRobin(t, "localhost")
	for i := range n {
		opts := demoapp.Options{Addr: "localhost:0", SAMLAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", LDAPAddr: "127.0.0.1:0",
			BaseURL: c.rr.URL(), Postgres: u.String(), SyncInterval: interval,
			Logger: slog.New(slog.NewTextHandler(c.log, &slog.HandlerOptions{Level: slog.LevelInfo}))}
		if withRedis {
			opts.Redis = "redis://" + c.redis.Addr() + "/0"
		}
		if i > 0 {
			opts.MockIdPsOf = c.apps[0]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		a, err := demoapp.Start(ctx, opts)
		cancel()
		if err != nil {
			t.Fatalf("starting replica %d: %v\n%s", i, err, c.log.String())
		}
		t.Cleanup(func() { a.Close() })
		c.rr.Add(a.ListenURL())
		c.apps = append(c.apps, a)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the replicas' log:\n%s", tail(c.log.String(), 40))
		}
	})
	return c
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// visitor is a browser without JavaScript: it keeps cookies (for
// localhost, whatever the port, as browsers do) and does not follow
// redirects.
type visitor struct {
	t testing.TB
	c *cluster
	h *http.Client
}

func (c *cluster) visitor() *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: c.t, c: c, h: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is an HTTP response, read.
type answer struct {
	status int
	loc    string
	body   string
}

// on returns u (a path, or a URL at the load balancer) sent to replica i
// directly, as the load balancer might have routed it; i < 0 leaves it to
// the load balancer.
func (v *visitor) on(i int, u string) string {
	if strings.HasPrefix(u, "/") {
		u = v.c.rr.URL() + u
	}
	if i >= 0 {
		u = strings.Replace(u, v.c.rr.URL(), v.c.apps[i].ListenURL(), 1)
	}
	return u
}

func (v *visitor) send(method, u string, form url.Values, hdr ...string) answer {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := v.h.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, loc: resp.Header.Get("Location"), body: string(b)}
}

// get and post go to replica i (-1: the load balancer); post is a form
// of the application's own pages.
func (v *visitor) get(i int, u string) answer {
	v.t.Helper()
	return v.send(http.MethodGet, v.on(i, u), nil)
}

func (v *visitor) post(i int, u string, form url.Values) answer {
	v.t.Helper()
	return v.send(http.MethodPost, v.on(i, u), form, "Sec-Fetch-Site", "same-origin")
}

// acs posts the IdP's form to the ACS on replica i, cross-site as the
// IdP's page does.
func (v *visitor) acs(i int, acs string, form url.Values) answer {
	v.t.Helper()
	return v.send(http.MethodPost, v.on(i, acs), form, "Origin", v.c.apps[0].SAMLURL(), "Sec-Fetch-Site", "cross-site")
}

// samlAt signs in at the mock SAML IdP from the redirect a.
func (v *visitor) samlAt(a answer, email string) (string, url.Values) {
	v.t.Helper()
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.loc, v.c.apps[0].SAMLURL()) {
		v.t.Fatalf("want a redirect to the SAML IdP, got %d %q\n%s", a.status, a.loc, a.body)
	}
	acs, form, err := samltest.LoginAs(v.h, a.loc, email, "")
	if err != nil {
		v.t.Fatal(err)
	}
	return acs, form
}

// oidcAt signs in at the mock OpenID provider from the redirect a and
// returns the callback URL.
func (v *visitor) oidcAt(a answer, who string) string {
	v.t.Helper()
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.loc, v.c.apps[0].OIDCURL()) {
		v.t.Fatalf("want a redirect to the OpenID provider, got %d %q\n%s", a.status, a.loc, a.body)
	}
	cb, err := oidctest.LoginAs(v.h, a.loc, who)
	if err != nil {
		v.t.Fatal(err)
	}
	return cb.String()
}

// whoAmI asks replica i for /me: the email, or "" when logged out.
func (v *visitor) whoAmI(i int) string {
	v.t.Helper()
	a := v.get(i, "/me")
	if a.status == http.StatusUnauthorized {
		return ""
	}
	if a.status != http.StatusOK {
		v.t.Fatalf("/me on replica %d: %d %s", i, a.status, a.body)
	}
	var me struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(a.body), &me); err != nil {
		v.t.Fatalf("/me on replica %d: %v\n%s", i, err, a.body)
	}
	return me.User.Email
}

// loggedInEverywhere checks that every replica sees the session.
func (v *visitor) loggedInEverywhere(email string) {
	v.t.Helper()
	for i := range v.c.apps {
		if got := v.whoAmI(i); got != email {
			v.t.Fatalf("replica %d: /me is %q; want %s", i, got, email)
		}
		if got := v.whoAmI(-1); got != email {
			v.t.Fatalf("through the load balancer: /me is %q; want %s", got, email)
		}
	}
}

func wantAnswer(t testing.TB, a answer, status int, parts ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d (Location %q); want %d\n%s", a.status, a.loc, status, a.body)
	}
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Fatalf("the page lacks %q:\n%s", p, a.body)
		}
	}
}

// health returns replica i's /healthz.
func (c *cluster) health(i int) answer {
	c.t.Helper()
	return (&visitor{t: c.t, c: c, h: http.DefaultClient}).get(i, "/healthz")
}

// TestReplicas runs three replicas of the demo behind a round-robin load
// balancer on one PostgreSQL database and one Redis server: logins begun
// on one replica complete on another, a response accepted by one is
// refused by another, an admin change on one takes effect on the others,
// and with Redis or PostgreSQL down every login is refused (never
// accepted unchecked) until it is back, without a restart.
func TestReplicas(t *testing.T) {
	c := startCluster(t, 3, true, time.Second)
	const a, b, lb = 0, 1, -1

	t.Run("SAMLBegunOnACompletesOnB", func(t *testing.T) {
		v := c.visitor()
		acs, form := v.samlAt(v.get(a, "/login/sso/grantmakers"), "greg@grantmakers.example")
		if !strings.HasPrefix(acs, c.rr.URL()+"/saml/") {
			t.Fatalf("the IdP posts to %s; want the load balancer", acs)
		}
		r := v.acs(b, acs, form)
		wantAnswer(t, r, http.StatusSeeOther)
		v.loggedInEverywhere("greg@grantmakers.example")
	})

	t.Run("OIDCBegunOnACompletesOnB", func(t *testing.T) {
		v := c.visitor()
		cb := v.oidcAt(v.post(a, "/login", url.Values{"email": {"pete@pressroom.example"}}), "pete")
		wantAnswer(t, v.get(b, cb), http.StatusSeeOther)
		v.loggedInEverywhere("pete@pressroom.example")
	})

	t.Run("LDAP", func(t *testing.T) {
		v := c.visitor()
		wantAnswer(t, v.post(lb, "/ldap/vault-lab-ldap/login", url.Values{"email": {"kim@keyteam.example"}, "password": {"kim-directory-pw"}}), http.StatusSeeOther)
		v.loggedInEverywhere("kim@keyteam.example")
	})

	t.Run("ReplayAtBRefused", func(t *testing.T) {
		v := c.visitor()
		acs, form := v.samlAt(v.get(a, "/login/sso/grantmakers"), "greg@grantmakers.example")
		// The attacker has the response and the browser's cookies as
		// they were when it was posted.
		thief := c.visitor()
		u, _ := url.Parse(c.rr.URL())
		thief.h.Jar.SetCookies(u, v.h.Jar.Cookies(u))
		wantAnswer(t, v.acs(a, acs, form), http.StatusSeeOther)
		r := thief.acs(b, acs, form)
		if r.status < 400 {
			t.Fatalf("the replayed response was accepted by replica B: %d %q", r.status, r.loc)
		}
		if got := thief.whoAmI(b); got != "" {
			t.Fatalf("the replay gave a session to %s", got)
		}
		if !strings.Contains(c.log.String(), "reason=replayed") {
			t.Fatal("the replay was not refused as replayed")
		}
	})

	t.Run("AdminChangeOnAReachesB", func(t *testing.T) {
		paula := c.visitor()
		wantAnswer(t, paula.post(a, "/login", url.Values{"email": {"paula@pressroom.example"}, "password": {"paula-pw"}}), http.StatusSeeOther)
		// Pete's password works on B before the change.
		wantAnswer(t, c.visitor().post(b, "/login", url.Values{"email": {"pete@pressroom.example"}, "password": {"pete-pw"}}), http.StatusSeeOther)
		wantAnswer(t, paula.post(a, "/admin/pressroom/policy", url.Values{"mode": {"sso_required"}, "scope_kind": {"all_users"}, "admins_may_use_password": {"1"}}), http.StatusOK)
		took := testenv.Eventually(t, 2*time.Second, "replica B refuses Pete's password", func() bool {
			return c.visitor().post(b, "/login", url.Values{"email": {"pete@pressroom.example"}, "password": {"pete-pw"}}).status == http.StatusUnauthorized
		})
		t.Logf("the policy switch on A took effect on B within %v", took)
		// Back, for the tests below.
		wantAnswer(t, paula.post(a, "/admin/pressroom/policy", url.Values{"mode": {"sso_optional"}, "scope_kind": {"all_users"}}), http.StatusOK)
	})

	t.Run("ConnectionAddedOnAReachesEveryReplica", func(t *testing.T) {
		idp := samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://idp.pressroom.example/metadata"})
		paula := c.visitor()
		wantAnswer(t, paula.post(a, "/login", url.Values{"email": {"paula@pressroom.example"}, "password": {"paula-pw"}}), http.StatusSeeOther)
		wantAnswer(t, paula.post(a, "/admin/pressroom/connections", url.Values{"protocol": {"saml"}, "display_name": {"Press Room SAML"},
			"metadata": {string(idp.Metadata())}}), http.StatusOK, "Added Press Room SAML as a draft.")
		took := testenv.Eventually(t, 3*time.Second, "every replica's admin page shows the new connection", func() bool {
			for i := range c.apps {
				if !strings.Contains(paula.get(i, "/admin/pressroom").body, `id="conn-pressroom-saml-`) {
					return false
				}
			}
			return true
		})
		t.Logf("the connection added on A was on every replica's admin page within %v", took)
		// Through the balancer, each request to another replica.
		for range c.apps {
			wantAnswer(t, paula.get(lb, "/admin/pressroom"), http.StatusOK, "Press Room SAML", "https://idp.pressroom.example/metadata")
		}
	})

	t.Run("ConnectionRemovedOnBLeavesEveryReplica", func(t *testing.T) {
		paula := c.visitor()
		wantAnswer(t, paula.post(b, "/login", url.Values{"email": {"paula@pressroom.example"}, "password": {"paula-pw"}}), http.StatusSeeOther)
		m := regexp.MustCompile(`id="conn-(pressroom-saml-[0-9a-f]+)"`).FindStringSubmatch(paula.get(b, "/admin/pressroom").body)
		if m == nil {
			t.Skip("no connection added on the admin page (ConnectionAddedOnAReachesEveryReplica did not run)")
		}
		wantAnswer(t, paula.post(b, "/admin/pressroom/connections/remove", url.Values{"connection": {m[1]}}), http.StatusOK, "Removed Press Room SAML ("+m[1]+").")
		took := testenv.Eventually(t, 3*time.Second, "no replica's admin page shows the removed connection", func() bool {
			for i := range c.apps {
				if strings.Contains(paula.get(i, "/admin/pressroom").body, `id="conn-`+m[1]+`"`) {
					return false
				}
			}
			return true
		})
		t.Logf("the connection removed on B was gone from every replica's admin page within %v", took)
	})

	// login runs a SAML login begun on A and completed on B and returns
	// the answer of B's ACS.
	login := func(t *testing.T) (answer, *visitor) {
		v := c.visitor()
		acs, form := v.samlAt(v.get(a, "/login/sso/grantmakers"), "greg@grantmakers.example")
		return v.acs(b, acs, form), v
	}
	recovers := func(t *testing.T, what string) {
		testenv.Eventually(t, 20*time.Second, "every replica healthy again after "+what+" returned", func() bool {
			for i := range c.apps {
				if c.health(i).status != http.StatusOK {
					return false
				}
			}
			return true
		})
		r, v := login(t)
		wantAnswer(t, r, http.StatusSeeOther)
		v.loggedInEverywhere("greg@grantmakers.example")
		cb := v.oidcAt(v.post(b, "/login", url.Values{"email": {"pete@pressroom.example"}}), "pete")
		wantAnswer(t, v.get(a, cb), http.StatusSeeOther)
	}

	// Each store down (refusing connections) and hanging (accepting them,
	// answering nothing), in the middle of logins begun while it ran.
	for _, o := range []struct {
		name, store string
		proxy       *servertest.Proxy
		hang        bool
		within      time.Duration // the refusal comes within this
	}{
		{"RedisDown", "redis", c.redis, false, 5 * time.Second},
		{"RedisHangs", "redis", c.redis, true, 8 * time.Second},
		{"PostgresDown", "postgres", c.pg, false, 5 * time.Second},
		{"PostgresHangs", "postgres", c.pg, true, 12 * time.Second},
	} {
		t.Run(o.name, func(t *testing.T) {
			v := c.visitor()
			acs, form := v.samlAt(v.get(a, "/login/sso/grantmakers"), "greg@grantmakers.example")
			ov := c.visitor()
			cb := ov.oidcAt(ov.post(a, "/login", url.Values{"email": {"pete@pressroom.example"}}), "pete")
			if o.hang {
				o.proxy.Stall()
			} else {
				o.proxy.Down()
			}
			start := time.Now()
			wantAnswer(t, v.acs(b, acs, form), http.StatusBadGateway, "try again later")
			if d := time.Since(start); d > o.within {
				t.Fatalf("the refusal took %v; want it within %v", d, o.within)
			} else {
				t.Logf("SAML login refused after %v", d.Round(time.Millisecond))
			}
			// OpenID too: its code is a one-time value.
			if r := ov.get(b, cb); r.status < 400 {
				t.Fatalf("an OpenID login was accepted: %d %q", r.status, r.loc)
			}
			t.Logf("OpenID refused after %v", time.Since(start).Round(time.Millisecond))
			if o.store == "postgres" {
				wantAnswer(t, c.visitor().post(lb, "/login", url.Values{"email": {"pete@pressroom.example"}, "password": {"pete-pw"}}), http.StatusBadGateway, "try again later")
			}
			t.Logf("password refused after %v", time.Since(start).Round(time.Millisecond))
			for i := range c.apps {
				wantAnswer(t, c.health(i), http.StatusServiceUnavailable, "down: "+o.store, o.store+": down")
			}
			t.Logf("health after %v", time.Since(start).Round(time.Millisecond))
			o.proxy.Up(t)
			recovers(t, o.store)
			// The refused logins left no session behind.
			if got := v.whoAmI(a) + ov.whoAmI(b); got != "" {
				t.Fatalf("a login refused during the outage is logged in as %s", got)
			}
		})
	}

	t.Run("SettingsFollowAfterOutage", func(t *testing.T) {
		// The listening connections were cut with PostgreSQL: a change on
		// B reaches A again.
		paula := c.visitor()
		wantAnswer(t, paula.post(b, "/login", url.Values{"email": {"paula@pressroom.example"}, "password": {"paula-pw"}}), http.StatusSeeOther)
		wantAnswer(t, paula.post(b, "/admin/pressroom/policy", url.Values{"mode": {"sso_required"}, "scope_kind": {"all_users"}, "admins_may_use_password": {"1"}}), http.StatusOK)
		testenv.Eventually(t, 3*time.Second, "replica A refuses Pete's password after the change on B", func() bool {
			return c.visitor().post(a, "/login", url.Values{"email": {"pete@pressroom.example"}, "password": {"pete-pw"}}).status == http.StatusUnauthorized
		})
	})

	for i, app := range c.apps {
		if n := c.rr.Served(app.ListenURL()); n == 0 {
			t.Errorf("the load balancer sent nothing to replica %d", i)
		}
	}
}
