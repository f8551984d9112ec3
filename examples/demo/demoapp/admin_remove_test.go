package demoapp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/policy"
)

// addPressroomSAML adds a SAML connection for Press Room on a's admin page
// as paula and returns its ID.
func addPressroomSAML(t *testing.T, paula *browser, a *App, metadata []byte) string {
	t.Helper()
	wantStatus(t, paula.post("/admin/pressroom/connections", form("protocol", "saml", "display_name", "Press Room SAML", "metadata", string(metadata))), http.StatusOK)
	id := addedConnection(a, "pressroom", "pressroom-saml-")
	if id == "" {
		t.Fatal("the added connection is not in the registry")
	}
	return id
}

// keptKeys returns the settings keys that name connection id.
func keptKeys(t *testing.T, a *App, id string) []string {
	t.Helper()
	var out []string
	for k, v := range keptSettings(t, a, "") {
		if strings.HasSuffix(k, "/"+id) || (strings.HasPrefix(k, policyKeyPrefix) && strings.Contains(string(v), `"`+id+`"`)) {
			out = append(out, k)
		}
	}
	return out
}

// TestReplicasRemoveConnection: a connection added on the admin page and
// removed on replica A's admin page is gone from B's registry and admin
// page without a restart, its settings (connection, kept stage, candidate
// metadata) deleted, and stays gone after a restart. A login begun
// through it before the removal fails with "connection not found".
func TestReplicasRemoveConnection(t *testing.T) {
	a, b, idp, paula := pressroomReplicas(t)
	id := addPressroomSAML(t, paula, a, idp.Metadata())
	// A kept stage and a candidate, for the removal to delete too.
	wantStatus(t, paula.post("/admin/pressroom/connection", form("connection", id, "stage", "testing", "test_users", "paula@pressroom.example")), http.StatusOK)
	if err := a.settings.put(context.Background(), candidateKeyPrefix+id, idp.Metadata()); err != nil {
		t.Fatal(err)
	}
	pb := paula.at(b)
	testenv.Eventually(t, 3*time.Second, "the connection reaches B", func() bool { _, _, ok := b.reg.Connection(id); return ok })
	p := pb.get("/admin/pressroom")
	wantBody(t, p, `id="remove-`+id+`"`, `action="/admin/pressroom/connections/remove#conns"`)
	// A login begun on B before the removal.
	start := pb.get("/login/test/" + id)
	wantStatus(t, start, http.StatusSeeOther)

	p = paula.post("/admin/pressroom/connections/remove", form("connection", id))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Removed Press Room SAML ("+id+").")
	if strings.Contains(p.body, `id="conn-`+id+`"`) {
		t.Fatal("A's admin page still shows the removed connection")
	}
	if _, _, ok := a.reg.Connection(id); ok {
		t.Fatal("the removed connection is still in A's registry")
	}
	if keys := keptKeys(t, a, id); len(keys) > 0 {
		t.Fatalf("settings of the removed connection are left: %v", keys)
	}
	testenv.Eventually(t, 3*time.Second, "the removal reaches B", func() bool { _, _, ok := b.reg.Connection(id); return !ok })
	b.mu.Lock()
	_, inConnOf := b.connOf[id]
	_, inCandidates := b.candidates[id]
	b.mu.Unlock()
	if inConnOf || inCandidates {
		t.Fatalf("B still holds the removed connection (connOf %v, candidates %v)", inConnOf, inCandidates)
	}
	if p := pb.get("/admin/pressroom"); strings.Contains(p.body, `id="conn-`+id+`"`) {
		t.Fatal("B's admin page still shows the removed connection")
	}
	// The login begun before the removal fails, with its reason.
	p = pb.samlLoginAt(idp.URL(), start, "paula@pressroom.example")
	if p.status == http.StatusOK && !strings.Contains(p.body, sso.ReasonConnectionNotFound.UserMessage()) {
		t.Fatalf("a login through the removed connection answered %d:\n%s", p.status, p.body)
	}
	wantBody(t, p, sso.ReasonConnectionNotFound.UserMessage())
	found := false
	recent, err := a.store.Recent(context.Background(), "pressroom", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range recent {
		if e.Type == sso.EventConnectionChanged && e.Connection == id && e.Reason == "" && strings.HasPrefix(e.Detail, "Removed") {
			found = true
		}
	}
	if !found {
		t.Fatal("no audit event for the removal")
	}

	// After a restart the connection stays removed.
	opts := a.opts
	a.Close()
	c := startDemo(t, opts)
	if _, _, ok := c.reg.Connection(id); ok {
		t.Fatal("the removed connection is back after a restart")
	}
}

// TestRemoveConnectionRefused: removing a live connection, a connection of
// the configuration file, one the account does not have, or as someone
// who does not administer the account, is refused and writes nothing.
func TestRemoveConnectionRefused(t *testing.T) {
	a := startDemo(t, freeOptions())
	idp := pressroomIdP(t)
	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	id := addPressroomSAML(t, paula, a, idp.Metadata())
	wantStatus(t, paula.post("/admin/pressroom/connection", form("connection", id, "stage", "live", "go_live_anyway", "on")), http.StatusOK)
	pol, _ := a.reg.Policy("pressroom")
	if pc, _ := pol.Connection(id); pc.Stage != policy.StageLive {
		t.Fatalf("the connection is %q; want live", pc.Stage)
	}
	var configured string
	for _, pc := range pol.Connections {
		if pc.ID != id {
			configured = pc.ID
		}
	}
	if configured == "" {
		t.Fatal("Press Room has no connection of the configuration file")
	}
	before := sortedKeysJoin(keptSettings(t, a, ""))
	v := a.SettingsVersion()
	nothingWritten := func(t *testing.T) {
		t.Helper()
		if got, _ := a.settings.version(context.Background()); got != v {
			t.Fatalf("a refused removal wrote settings: version %d, want %d", got, v)
		}
		if _, _, ok := a.reg.Connection(id); !ok {
			t.Fatal("a refused removal took the connection out of the registry")
		}
		if got := sortedKeysJoin(keptSettings(t, a, "")); got != before {
			t.Fatalf("settings changed: %s, want %s", got, before)
		}
	}
	// The live one has no button; a POST is refused.
	p := paula.get("/admin/pressroom")
	wantBody(t, p, `id="remove-title-`+id+`"`, "A live connection cannot be removed")
	if strings.Contains(p.body, `id="remove-`+id+`"`) || strings.Contains(p.body, `id="remove-`+configured+`"`) {
		t.Fatal("the page offers to remove a live connection or one of the configuration file")
	}
	for _, tc := range []struct {
		name, conn string
		status     int
		says       string
	}{
		{"live", id, http.StatusConflict, "the connection is live: move it back to testing"},
		{"configuration file", configured, http.StatusConflict, "Not removed: this connection is in the configuration file"},
		{"unknown", "pressroom-saml-nope", http.StatusBadRequest, "Not removed: the account has no connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := paula.post("/admin/pressroom/connections/remove", form("connection", tc.conn))
			wantStatus(t, p, tc.status)
			wantBody(t, p, tc.says)
			nothingWritten(t)
		})
	}
	t.Run("not an administrator", func(t *testing.T) {
		pete := newBrowser(t, a)
		wantRedirect(t, pete.post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), "/")
		wantStatus(t, pete.post("/admin/pressroom/connections/remove", form("connection", id)), http.StatusForbidden)
		wantStatus(t, paula.post("/admin/hireco/connections/remove", form("connection", id)), http.StatusForbidden)
		if p := newBrowser(t, a).post("/admin/pressroom/connections/remove", form("connection", id)); p.status != http.StatusSeeOther {
			t.Fatalf("anonymous removal answered %d; want 303 to the login", p.status)
		}
		nothingWritten(t)
	})
	t.Run("cross-site", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, paula.abs("/admin/pressroom/connections/remove"), strings.NewReader(form("connection", id).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantStatus(t, paula.do(req), http.StatusForbidden)
		nothingWritten(t)
	})
	// Back to testing, it can be removed.
	wantStatus(t, paula.post("/admin/pressroom/connection", form("connection", id, "stage", "testing", "test_users", "paula@pressroom.example")), http.StatusOK)
	p = paula.post("/admin/pressroom/connections/remove", form("connection", id))
	if i := strings.Index(p.body, `class="notice`); p.status != http.StatusOK && i > 0 {
		t.Fatalf("%d %s", p.status, p.body[i:i+600])
	}
	if _, _, ok := a.reg.Connection(id); ok {
		t.Fatal("the connection back in testing was not removed")
	}
}

func sortedKeysJoin(m map[string][]byte) string {
	return strings.Join(sortedKeys(keysOf(m)), ",")
}
