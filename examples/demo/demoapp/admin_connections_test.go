package demoapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// pressroomIdP is a SAML IdP for Press Room that the demo does not know.
func pressroomIdP(t *testing.T) *samltest.Server {
	return samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://idp.pressroom.example/metadata",
		Users: []samltest.User{{Email: "paula@pressroom.example", GivenName: "Paula", FamilyName: "Press"}}})
}

// addedConnection returns the ID of the account's connection whose ID
// starts with prefix, or "".
func addedConnection(a *App, acct, prefix string) string {
	pol, _ := a.reg.Policy(acct)
	for _, pc := range pol.Connections {
		if strings.HasPrefix(pc.ID, prefix) {
			return pc.ID
		}
	}
	return ""
}

// storedConnectionKeys returns the keys of the kept connections.
func storedConnectionKeys(t *testing.T, a *App) []string {
	t.Helper()
	return sortedKeys(keysOf(keptSettings(t, a, connectionKeyPrefix)))
}

// keptSettings returns the settings whose keys start with prefix.
func keptSettings(t *testing.T, a *App, prefix string) map[string][]byte {
	t.Helper()
	kept, err := a.settings.all(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return kept
}

// pressroomReplicas starts two replicas (B listening), an IdP for Press
// Room and Paula, its administrator, logged in on A.
func pressroomReplicas(t *testing.T) (a, b *App, idp *samltest.Server, paula *browser) {
	rs := replicas(t, 2, time.Hour)
	a, b = rs[0], rs[1]
	testenv.Eventually(t, 5*time.Second, "B listens", b.sync.isListening)
	idp = pressroomIdP(t)
	paula = newBrowser(t, a).at(a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	return a, b, idp, paula
}

// TestReplicasAddConnection: a SAML connection added on replica A's admin
// page (metadata XML) appears on replica B's admin page and in its
// registry without a restart, as a draft; a test login through it on B
// passes, and its stage changes reach B too.
func TestReplicasAddConnection(t *testing.T) {
	a, b, idp, paula := pressroomReplicas(t)
	p := paula.post("/admin/pressroom/connections", form("protocol", "saml", "display_name", "Press Room SAML", "metadata", string(idp.Metadata())))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Added Press Room SAML as a draft.")
	id := addedConnection(a, "pressroom", "pressroom-saml-")
	if id == "" {
		t.Fatal("the added connection is not in A's registry")
	}
	wantBody(t, p, `id="conn-`+id+`"`)
	if pc, _ := func() (policy.Connection, bool) { pol, _ := a.reg.Policy("pressroom"); return pol.Connection(id) }(); pc.Stage != policy.StageDraft {
		t.Fatalf("the added connection is in stage %q; want draft", pc.Stage)
	}

	testenv.Eventually(t, 3*time.Second, "the added connection reaches B", func() bool {
		c, acct, ok := b.reg.Connection(id)
		sp, isSAML := c.Authenticator.(*saml.ServiceProvider)
		return ok && acct == "pressroom" && isSAML && sp.IdP().EntityID == "https://idp.pressroom.example/metadata"
	})
	pb := paula.at(b)
	p = pb.get("/admin/pressroom")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="conn-`+id+`"`, "Press Room SAML")
	// A test login through B: the service provider B built works.
	wantBody(t, pb.samlLoginAt(idp.URL(), pb.get("/login/test/"+id), "paula@pressroom.example"),
		`<li class="ok"><span class="sr-only">Passed:</span> The identity provider&#39;s answer passed every check`)
	// A stage change on B reaches A.
	wantStatus(t, pb.post("/admin/pressroom/connection", form("connection", id, "stage", "testing", "test_users", "paula@pressroom.example")), http.StatusOK)
	testenv.Eventually(t, 3*time.Second, "the stage change reaches A", func() bool {
		pol, _ := a.reg.Policy("pressroom")
		pc, _ := pol.Connection(id)
		return pc.Stage == policy.StageTesting
	})
}

// TestAddedConnectionSurvivesRestart: a connection added on the admin page
// is kept in the database and loaded at the next start, with its stage.
func TestAddedConnectionSurvivesRestart(t *testing.T) {
	a, opts := startWithDB(t)
	idp := pressroomIdP(t)
	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	wantStatus(t, paula.post("/admin/pressroom/connections", form("protocol", "saml", "display_name", "Press Room SAML", "metadata", string(idp.Metadata()))), http.StatusOK)
	id := addedConnection(a, "pressroom", "pressroom-saml-")
	wantStatus(t, paula.post("/admin/pressroom/connection", form("connection", id, "stage", "testing", "test_users", "paula@pressroom.example")), http.StatusOK)
	a.Close()

	b := startDemo(t, opts)
	c, acct, ok := b.reg.Connection(id)
	if !ok || acct != "pressroom" || c.DisplayName != "Press Room SAML" || c.Policy.Stage != policy.StageTesting {
		t.Fatalf("after a restart the added connection is %v in %q (%+v); want it in pressroom, testing", ok, acct, c.Policy)
	}
}

// TestAddConnectionRefused: a form the checks refuse stores nothing, and
// shows each problem at its field; only administrators of the account may
// add, and only from the page's own origin.
func TestAddConnectionRefused(t *testing.T) {
	a := startDemo(t, freeOptions())
	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	before := len(func() policy.Policy { p, _ := a.reg.Policy("pressroom"); return p }().Connections)
	nothingKept := func(t *testing.T) {
		t.Helper()
		if keys := storedConnectionKeys(t, a); len(keys) > 0 {
			t.Fatalf("a refused form kept connections %v", keys)
		}
		if p, _ := a.reg.Policy("pressroom"); len(p.Connections) != before {
			t.Fatalf("a refused form changed the registry: %d connections, want %d", len(p.Connections), before)
		}
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string // the form field marked invalid
		says  string
	}{
		{"bad metadata", form("protocol", "saml", "display_name", "X", "metadata", "<not-metadata/>"), "metadata", ""},
		{"non-https metadata URL", form("protocol", "saml", "display_name", "X", "metadata", "http://idp.example.com/metadata"), "metadata", "https://"},
		{"no metadata", form("protocol", "saml", "display_name", "X"), "metadata", "Paste the IdP"},
		{"empty issuer", form("protocol", "oidc", "display_name", "X", "client_id", "app", "client_secret", "s3cret"), "issuer", "is not an issuer URL"},
		{"non-https issuer", form("protocol", "oidc", "display_name", "X", "issuer", "http://login.example.com", "client_id", "app", "client_secret", "s3cret"), "issuer", "https://"},
		{"issuer without discovery", form("protocol", "oidc", "display_name", "X", "issuer", "https://127.0.0.1:1", "client_id", "app", "client_secret", "s3cret"), "issuer", ""},
		{"no client secret", form("protocol", "oidc", "display_name", "X", "issuer", "https://login.example.com", "client_id", "app"), "client_secret", "client secret"},
		{"no display name", form("protocol", "oidc", "issuer", "https://login.example.com", "client_id", "app", "client_secret", "s3cret"), "display_name", "Enter the name"},
		{"no name and bad metadata", form("protocol", "saml", "metadata", "<not-metadata/>"), "metadata", `id="new-display_name-error"`},
		{"no protocol", form("display_name", "X"), "protocol", "Choose SAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := paula.post("/admin/pressroom/connections", tc.form)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantBody(t, p, `id="add-error"`, `id="new-`+tc.field+`-error"`, tc.says)
			if tc.field != "protocol" {
				wantBody(t, p, `id="new-`+tc.field+`"`, `aria-describedby="new-`+tc.field+`-error`)
				if !strings.Contains(p.body[strings.Index(p.body, `id="new-`+tc.field+`"`):], `aria-invalid="true"`) {
					t.Fatal("the field is not marked aria-invalid")
				}
			}
			nothingKept(t)
		})
	}

	idp := pressroomIdP(t)
	good := form("protocol", "saml", "display_name", "Press Room SAML", "metadata", string(idp.Metadata()))
	// Pete is a member of Press Room, not an administrator.
	pete := newBrowser(t, a)
	wantRedirect(t, pete.post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), "/")
	wantStatus(t, pete.post("/admin/pressroom/connections", good), http.StatusForbidden)
	// Anonymous: sent to the login.
	if p := newBrowser(t, a).post("/admin/pressroom/connections", good); p.status != http.StatusSeeOther {
		t.Fatalf("anonymous add answered %d; want 303 to the login", p.status)
	}
	// Paula administers Press Room, not HireCo.
	wantStatus(t, paula.post("/admin/hireco/connections", good), http.StatusForbidden)
	// A cross-site form post is refused.
	req, _ := http.NewRequest(http.MethodPost, paula.abs("/admin/pressroom/connections"), strings.NewReader(good.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, paula.do(req), http.StatusForbidden)
	nothingKept(t)
}

// TestReplicaRefusesStoredConnection: a kept connection a replica cannot
// build (its account unknown there, its metadata refused) is registered
// nowhere, takes the replicas out of the balancer naming it, and once
// removed they are healthy again.
func TestReplicaRefusesStoredConnection(t *testing.T) {
	rs := replicas(t, 2, time.Hour)
	a, b := rs[0], rs[1]
	ctx := context.Background()
	bad := map[string]storedConnection{
		"nosuch-saml-1": {Account: "nosuch", Connection: ConnectionConfig{ID: "nosuch-saml-1", Protocol: "saml", DisplayName: "X",
			SAML: &SAMLConfig{IdPMetadataXML: string(pressroomIdP(t).Metadata())}}},
		"pressroom-saml-2": {Account: "pressroom", Connection: ConnectionConfig{ID: "pressroom-saml-2", Protocol: "saml", DisplayName: "X",
			Stage: policy.StageDraft, SAML: &SAMLConfig{IdPMetadataXML: "<not-metadata/>"}}},
	}
	for id, sc := range bad {
		v, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.settings.put(ctx, connectionKeyPrefix+id, v); err != nil {
			t.Fatal(err)
		}
	}
	inSync(t, rs...)
	hb := newBrowser(t, b).at(b)
	for id := range bad {
		for _, r := range rs {
			if _, _, ok := r.reg.Connection(id); ok {
				t.Fatalf("the refused connection %s is registered", id)
			}
		}
		p := hb.get("/healthz")
		wantStatus(t, p, http.StatusServiceUnavailable)
		wantBody(t, p, connectionKeyPrefix+id)
	}
	for id := range bad {
		if err := a.settings.put(ctx, connectionKeyPrefix+id, nil); err != nil {
			t.Fatal(err)
		}
	}
	inSync(t, rs...)
	wantStatus(t, hb.get("/healthz"), http.StatusOK)
}
