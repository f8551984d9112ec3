package demoapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
)

// Connections added on the admin page. The "Add a connection" form takes a
// SAML IdP's metadata (XML, or an https URL the service provider fetches
// and refreshes through its guarded client) or an OpenID provider's
// issuer, client ID and secret (checked by discovery), and a display name.
// The connection gets a generated ID and starts as a draft. It is checked
// as a connection of the configuration file is (Config.check), built by
// the same code (newAuthenticator, loginConnection), and kept in
// demo_settings under connectionKeyPrefix + its ID as the file would hold
// it, client secret included. Every replica builds and registers it from
// there (syncSettings), and a start loads it with the configuration's
// connections. "Remove this connection" (adminRemoveConnection) deletes it
// again, and every replica drops it through the same sync.

// connectionKeyPrefix + connection ID: a connection added on the admin
// page, as a storedConnection in JSON.
const connectionKeyPrefix = "connection/"

// maxDisplayName bounds a display name, in characters.
const maxDisplayName = 100

// storedConnection is a connection added on the admin page.
type storedConnection struct {
	Account    string           `json:"account"`
	Connection ConnectionConfig `json:"connection"`
	// Added is when, and AddedBy by whom, it was added.
	Added   time.Time `json:"added"`
	AddedBy string    `json:"added_by,omitempty"`
}

// storedConnections returns the kept connections by ID.
func (s *settings) storedConnections(ctx context.Context) (map[string]storedConnection, error) {
	raw, err := s.all(ctx, connectionKeyPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]storedConnection, len(raw))
	for id, b := range raw {
		var sc storedConnection
		if err := json.Unmarshal(b, &sc); err != nil {
			return nil, fmt.Errorf("the connection %q added on the admin page is not valid JSON: %w", id, err)
		}
		out[id] = sc
	}
	return out, nil
}

// addStoredConnections appends the kept connections to their accounts in
// cfg, for the start to build with the configuration's own. A kept
// connection whose account the configuration no longer has, or whose ID
// it now uses itself, is left out and reported by /healthz.
func (a *App) addStoredConnections(cfg *Config, kept map[string]storedConnection) {
	ids := map[string]bool{}
	for _, ac := range cfg.Accounts {
		for _, cc := range ac.Connections {
			ids[cc.ID] = true
		}
	}
	for _, id := range sortedKeys(keysOf(kept)) {
		sc := kept[id]
		i := slices.IndexFunc(cfg.Accounts, func(ac AccountConfig) bool { return ac.ID == sc.Account })
		var err error
		switch {
		case sc.Connection.ID != id:
			err = fmt.Errorf("kept under %s%s but has the ID %q", connectionKeyPrefix, id, sc.Connection.ID)
		case i < 0:
			err = fmt.Errorf("its account %q is not in the configuration", sc.Account)
		case ids[id]:
			err = fmt.Errorf("the configuration has a connection %q too", id)
		}
		if err != nil {
			a.log.Error("settings: a connection added on the admin page is left out", "connection", id, "err", err)
			a.refused[connectionKeyPrefix+id] = err
			continue
		}
		cfg.Accounts[i].Connections = append(cfg.Accounts[i].Connections, sc.Connection)
		ids[id] = true
	}
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// addForm is what the "Add a connection" form shows: what was submitted
// and, after a refusal, the problem of each field.
type addForm struct {
	Protocol, DisplayName, Metadata, Issuer, ClientID string
	// Errors holds a problem by form field name ("display_name",
	// "metadata", "issuer", "client_id", "client_secret", "protocol");
	// Other holds those of no one field.
	Errors map[string]string
	Other  []string
}

func (f *addForm) fail(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if prev := f.Errors[field]; prev != "" {
		msg = prev + " " + msg
	}
	f.Errors[field] = msg
}

// formField maps a configuration problem's field to the form's.
func formField(field string) string {
	for suffix, name := range map[string]string{
		".oidc.issuer": "issuer", ".oidc.client_id": "client_id", ".oidc.client_secret": "client_secret", ".oidc": "issuer",
		".saml.idp_metadata_url": "metadata", ".saml": "metadata", ".display_name": "display_name", ".protocol": "protocol",
	} {
		if strings.HasSuffix(field, suffix) {
			return name
		}
	}
	return ""
}

// newConnectionID returns an ID for a connection of account acct that
// no connection has, here or in the database.
func (a *App) newConnectionID(ctx context.Context, acct, proto string) (string, error) {
	for range 5 {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		id := acct + "-" + proto + "-" + hex.EncodeToString(b)
		a.mu.Lock()
		_, used := a.connOf[id]
		a.mu.Unlock()
		if used {
			continue
		}
		kept, err := a.settings.get(ctx, connectionKeyPrefix+id)
		if err != nil {
			return "", err
		}
		if kept == nil {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free connection ID found")
}

// adminAddConnection serves POST /admin/{account}/connections: the "Add a
// connection" form. The connection is checked and built as a connection
// of the configuration is, registered here and kept in the database, from
// where every other replica registers it too. A refusal stores nothing and
// shows the form again with each problem at its field.
func (a *App) adminAddConnection(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxMetadataUpload+64<<10)
	if err := r.ParseForm(); err != nil {
		a.renderAdmin(w, r, pol, http.StatusRequestEntityTooLarge, &adminData{Add: &addForm{Other: []string{"The form is too large (the metadata may have at most 4 MiB)."}}})
		return
	}
	f := r.PostForm
	form := &addForm{Protocol: f.Get("protocol"), DisplayName: strings.TrimSpace(f.Get("display_name")), Metadata: strings.TrimSpace(f.Get("metadata")),
		Issuer: strings.TrimSpace(f.Get("issuer")), ClientID: strings.TrimSpace(f.Get("client_id"))}
	secret := strings.TrimSpace(f.Get("client_secret"))
	refuse := func(status int) {
		s := a.host.current(r)
		a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, User: s.Result.User,
			Reason: sso.ReasonInvalidConfig, Detail: "refused: a new " + form.Protocol + " connection " + fmt.Sprintf("%q", form.DisplayName) + " was not added"})
		a.renderAdmin(w, r, pol, status, &adminData{Add: form})
	}
	switch n := utf8.RuneCountInString(form.DisplayName); {
	case n == 0:
		form.fail("display_name", "Enter the name people see on the sign-in button, e.g. “Acme Okta”.")
	case n > maxDisplayName:
		form.fail("display_name", fmt.Sprintf("At most %d characters.", maxDisplayName))
	}
	cc := ConnectionConfig{Protocol: sso.Protocol(form.Protocol), DisplayName: form.DisplayName, Stage: policy.StageDraft}
	switch cc.Protocol {
	case sso.ProtocolSAML:
		s := &SAMLConfig{}
		switch {
		case form.Metadata == "":
			form.fail("metadata", "Paste the IdP's metadata XML, or its https URL.")
		case isURL(form.Metadata):
			s.IdPMetadataURL = form.Metadata
			if u, _ := url.Parse(form.Metadata); u.Scheme != "https" {
				form.fail("metadata", "The metadata URL must start with https://, so that nobody on the way can change it.")
			}
		default:
			s.IdPMetadataXML = form.Metadata
		}
		cc.SAML = s
	case sso.ProtocolOIDC:
		cc.OIDC = &OIDCConfig{Issuer: form.Issuer, ClientID: form.ClientID, ClientSecret: Secret(secret)}
		if u, err := url.Parse(form.Issuer); form.Issuer != "" && err == nil && u.Host != "" && u.Scheme != "https" {
			form.fail("issuer", "The issuer must start with https://.")
		}
	default:
		form.fail("protocol", "Choose SAML or OpenID Connect.")
	}
	for _, v := range []string{form.Metadata, form.Issuer} {
		if strings.Contains(v, "{mock_") {
			form.fail(iff(v == form.Issuer, "issuer", "metadata"), "Give the identity provider's real address.")
		}
	}
	// A missing name alone does not hold back the checks of the rest, so
	// that one answer names every problem.
	if _, nameOnly := form.Errors["display_name"]; len(form.Errors) > 1 || (len(form.Errors) == 1 && !nameOnly) {
		refuse(http.StatusUnprocessableEntity)
		return
	}
	id, err := a.newConnectionID(ctx, pol.Account, form.Protocol)
	if err != nil {
		form.Other = append(form.Other, "Not added: the database did not answer: "+err.Error())
		refuse(http.StatusServiceUnavailable)
		return
	}
	cc.ID = id
	// The checks of a connection in the configuration file, then its
	// construction as at start.
	var p problems
	(&Config{Accounts: []AccountConfig{{ID: pol.Account, Connections: []ConnectionConfig{cc}}}}).check(&p)
	var auth sso.Authenticator
	ci := &connInfo{account: pol.Account, cfg: cc, field: connectionKeyPrefix + id}
	if len(p.list) == 0 {
		if auth, err = a.newAuthenticator(ctx, ci); err != nil {
			auth = nil // may be a typed nil
			p.addErr("connection."+string(cc.Protocol), err)
		}
	}
	if c, ok := auth.(*oidc.Connection); ok {
		// Discovery must work now: a typo in the issuer shows here, not
		// at the first login.
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.Refresh(rctx); err != nil {
			p.addErr("connection.oidc.issuer", err)
		}
		cancel()
	}
	var lc login.Connection
	if len(p.list) == 0 {
		lc, _ = cc.loginConnection(&p, "connection", auth)
	}
	if len(p.list) > 0 || len(form.Errors) > 0 {
		if c, ok := auth.(io.Closer); ok {
			_ = c.Close()
		}
		for _, pr := range p.list {
			if fld := formField(pr.Field); fld != "" {
				form.fail(fld, pr.Fix)
			} else {
				form.Other = append(form.Other, pr.Fix)
			}
		}
		refuse(http.StatusUnprocessableEntity)
		return
	}
	ci.auth = auth
	s := a.host.current(r)
	kept, err := json.Marshal(storedConnection{Account: pol.Account, Connection: cc, Added: time.Now().UTC(), AddedBy: s.Result.Email})
	// Registered here first (the registry checks it against every other
	// connection), then kept; taken back out when the database refuses.
	a.mu.Lock()
	if err == nil {
		_, _, err = a.reg.SetConnection(pol.Account, lc)
	}
	if err == nil {
		if err = a.settings.put(ctx, connectionKeyPrefix+id, kept); err != nil {
			_ = a.reg.Batch(func(b *login.Batch) error { return removeConnection(b, pol.Account, id) })
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonUnavailable, Detail: "the database did not take the connection: " + err.Error()}
		}
	}
	if err == nil {
		a.connOf[id] = ci
	}
	a.mu.Unlock()
	if err != nil {
		if c, ok := auth.(io.Closer); ok {
			_ = c.Close()
		}
		form.Other = append(form.Other, "Not added: "+errorDetail(err))
		refuse(http.StatusUnprocessableEntity)
		return
	}
	a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: id, User: s.Result.User,
		Detail: "connection added on the admin page by " + s.Result.Email + " (draft)"})
	if cur, ok := a.reg.Policy(pol.Account); ok {
		pol = cur
	}
	a.renderAdmin(w, r, pol, http.StatusOK, &adminData{Notice: &notice{OK: true, Section: id,
		Title: "Added " + form.DisplayName + " as a draft.", Lines: []string{"Enter the values below at the identity provider, run a test login, then start testing."}}})
}

// isURL reports whether v is an http(s) URL rather than XML.
func isURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(v, " \n<")
}

// removeConnection takes the connection id out of the account acct.
func removeConnection(b *login.Batch, acct, id string) error {
	ac, ok := b.Account(acct)
	if !ok {
		return nil
	}
	ac.Connections = slices.DeleteFunc(slices.Clone(ac.Connections), func(c login.Connection) bool { return c.ID() == id })
	b.Set(ac)
	return nil
}

// newStoredConnection builds a connection another replica added, for
// syncSettings: its authenticator and registry entry, with the stage and
// test users the kept policy gives it (a draft without one). a.mu is
// held.
func (a *App) newStoredConnection(ctx context.Context, id string, sc storedConnection, kept map[string]policy.Policy) (*connInfo, login.Connection, error) {
	cc := sc.Connection
	if cc.ID != id {
		return nil, login.Connection{}, fmt.Errorf("kept under %s%s but has the ID %q", connectionKeyPrefix, id, cc.ID)
	}
	if _, ok := a.accounts[sc.Account]; !ok {
		return nil, login.Connection{}, fmt.Errorf("its account %q is not in this replica's configuration", sc.Account)
	}
	var p problems
	(&Config{Accounts: []AccountConfig{{ID: sc.Account, Connections: []ConnectionConfig{cc}}}}).check(&p)
	if err := p.err(); err != nil {
		return nil, login.Connection{}, err
	}
	ci := &connInfo{account: sc.Account, cfg: cc, field: connectionKeyPrefix + id}
	auth, err := a.newAuthenticator(ctx, ci)
	if err != nil {
		return nil, login.Connection{}, err
	}
	ci.auth = auth
	lc, _ := cc.loginConnection(&p, "connection", auth)
	if err := p.err(); err != nil {
		if c, ok := auth.(io.Closer); ok {
			_ = c.Close()
		}
		return nil, login.Connection{}, err
	}
	kp := kept[sc.Account]
	if pc, ok := kp.Connection(id); ok {
		pc.ID = ""
		lc.Policy = pc
	}
	return ci, lc, nil
}

// postedConnection returns the connection a form names (its "connection"
// field) and what the application knows of it, nil when nothing.
func (a *App) postedConnection(r *http.Request) (string, *connInfo) {
	id := r.PostForm.Get("connection")
	a.mu.Lock()
	defer a.mu.Unlock()
	return id, a.connOf[id]
}

// added reports whether the connection was added on the admin page, rather
// than in the configuration file.
func (ci *connInfo) added() bool { return strings.HasPrefix(ci.field, connectionKeyPrefix) }

// adminRemoveConnection serves POST /admin/{account}/connections/remove:
// the "Remove this connection" form of a connection added on the admin
// page. It is refused for a connection of the configuration file (removed
// by editing the file), while the connection is live (so that one click
// cannot cut every user off: it goes back to testing first), and when
// the account's policy without it would lock every administrator out
// (policy.Update, as any policy change). A refusal writes nothing.
// Otherwise the connection's settings and its entry in the kept policy
// are deleted, and every replica removes it through the settings sync.
func (a *App) adminRemoveConnection(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.adminForm(w, r)
	if !ok {
		return
	}
	id, ci := a.postedConnection(r)
	refuse := func(status int, why string) {
		s := a.host.current(r)
		a.events(r.Context(), sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: id, User: s.Result.User,
			Reason: sso.ReasonInvalidRequest, Detail: "refused: the connection was not removed: " + why})
		section := id
		if _, ok := pol.Connection(id); !ok {
			section = "connections"
		}
		a.renderAdmin(w, r, pol, status, &adminData{Notice: &notice{Section: section, Title: "Not removed: " + why}})
	}
	if _, ok := pol.Connection(id); !ok || ci == nil || ci.account != pol.Account {
		refuse(http.StatusBadRequest, "the account has no connection "+fmt.Sprintf("%q", id)+".")
		return
	}
	if !ci.added() {
		refuse(http.StatusConflict, "this connection is in the configuration file, not added on this page: remove it from the file and restart.")
		return
	}
	name := ci.cfg.DisplayName
	a.changePolicy(w, r, pol, id, formOf(pol), &alsoSave{
		event: sso.EventConnectionChanged, section: "connections", refused: "Not removed",
		done: "Removed " + name + " (" + id + ").",
		save: func(ctx context.Context) error {
			// The connection first: once it is gone, its other settings
			// are unused.
			if err := a.settings.put(ctx, connectionKeyPrefix+id, nil); err != nil {
				return err
			}
			for _, key := range []string{candidateKeyPrefix + id, metadataKeyPrefix + id} {
				if err := a.settings.put(ctx, key, nil); err != nil {
					a.log.Error("settings: a setting of a removed connection is left in the database", "setting", key, "err", err)
				}
			}
			return nil
		},
	}, func(next *policy.Policy) error {
		// Checked against the latest saved policy, under the lock of
		// every change: a "Go live" saved a moment ago counts.
		pc, _ := next.Connection(id)
		if stageOf(pc) == policy.StageLive {
			return &sso.Error{Op: "demo.admin", Reason: sso.ReasonInvalidRequest,
				Detail: "the connection is live: move it back to testing (or draft) first, so that removing it cannot cut its users off."}
		}
		next.Connections = slices.DeleteFunc(slices.Clone(next.Connections), func(c policy.Connection) bool { return c.ID == id })
		return nil
	})
}
