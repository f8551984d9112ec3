package demoapp

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/internal/token"
)

// TestPostgresAndRedis: with -postgres and -redis the demo keeps users,
// sessions and the admin page's settings in PostgreSQL and the replay
// records in Redis, and /healthz names both.
func TestPostgresAndRedis(t *testing.T) {
	opts := freeOptions()
	opts.Postgres = servertest.PostgresSchema(t)
	opts.Redis = "redis://" + servertest.Redis(t) + "/0"
	a := startDemo(t, opts)
	if a.store.Dialect() != "postgres" || a.redis == nil {
		t.Fatalf("dialect %q, redis %v", a.store.Dialect(), a.redis)
	}
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	defer rc.Close()
	replayKeys := func() int {
		keys, err := rc.Keys(ctx, "sso:replay:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	before := replayKeys()

	b := newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.get("/login/sso/grantmakers"), "greg@grantmakers.example"), "/")
	b.mustMe("greg@grantmakers.example")
	b = newBrowser(t, a)
	wantRedirect(t, b.oidcLogin(b.post("/login", form("email", "pete@pressroom.example")), "pete"), "/")
	b.mustMe("pete@pressroom.example")

	if got := replayKeys() - before; got < 2 {
		t.Fatalf("%d new replay records in Redis after a SAML and an OpenID login; want at least 2", got)
	}
	var replayRows, sessions int
	if err := a.store.DB().QueryRow(`SELECT COUNT(*) FROM sso_replay`).Scan(&replayRows); err != nil {
		t.Fatal(err)
	}
	if err := a.store.DB().QueryRow(`SELECT COUNT(*) FROM demo_sessions`).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if replayRows != 0 || sessions != 2 {
		t.Fatalf("PostgreSQL holds %d replay records (want 0: they are in Redis) and %d sessions (want 2)", replayRows, sessions)
	}
	// The database keeps the session cookie's digest, not the cookie: a
	// copy of the table logs nobody in.
	u, _ := url.Parse(a.URL())
	var cookie string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			cookie = c.Value
		}
	}
	var plain, hashed int
	_ = a.store.DB().QueryRow(`SELECT COUNT(*) FROM demo_sessions WHERE id = $1`, cookie).Scan(&plain)
	_ = a.store.DB().QueryRow(`SELECT COUNT(*) FROM demo_sessions WHERE id = $1`, token.Hash(cookie)).Scan(&hashed)
	if cookie == "" || plain != 0 || hashed != 1 {
		t.Fatalf("session cookie %q: %d rows under the value, %d under its digest; want 0 and 1", cookie, plain, hashed)
	}
	if rt := a.RoundTrips(); rt.SQL == 0 || rt.Redis == 0 {
		t.Fatalf("round trips not counted: %+v", rt)
	}
	testenv.Eventually(t, 5*time.Second, "the settings listener connects", a.sync.isListening)
	p := b.get("/healthz")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "ok\n", "postgres: ok", "redis: ok", "settings: version 0 applied, notified by PostgreSQL")
}

// TestStoreConfigChecked: postgres, redis and cookie_keys are checked
// before anything starts.
func TestStoreConfigChecked(t *testing.T) {
	cfg := builtinConfig()
	cfg.Postgres, cfg.Database = "postgres://u:secret@db:5432/x?sslmode=bogus", "demo.db"
	cfg.Redis = "http://not-redis"
	cfg.CookieKeys = []Secret{"c2hvcnQ="}
	var p problems
	cfg.check(&p)
	err := p.err()
	wantProblems(t, err, "database", "keep one", "postgres", "not a PostgreSQL URL", "redis", "not a Redis URL",
		"cookie_keys[0]", "32 random bytes in base64")
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the password shows in: %v", err)
	}
}
