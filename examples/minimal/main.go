// Command minimal is the smallest complete application with ssokit's login
// handler, to copy and adapt: one account (Acme) logs in with SAML, one
// (Globex) with OpenID Connect, people are created at their first login,
// the session is the application's own, and the start page says who is
// logged in.
//
// To run it against real identity providers, register the application at
// Acme's SAML IdP with its SP metadata, BASE/auth/saml/acme-saml/metadata,
// and at Globex's OpenID provider with the redirect URI
// BASE/auth/oidc/globex-oidc/callback, where BASE is $BASE_URL
// (http://localhost:8080 by default, from -addr). Then run
//
//	SAML_METADATA_URL=https://idp.acme.example/metadata SAML_DOMAIN=acme.example \
//	OIDC_ISSUER=https://login.globex.example OIDC_CLIENT_ID=my-app OIDC_CLIENT_SECRET=... \
//	OIDC_DOMAIN=globex.example go run ./examples/minimal
//
// and open http://localhost:8080: an email at SAML_DOMAIN or OIDC_DOMAIN
// leads to its account's identity provider. INSECURE_IDPS=true admits
// identity providers on http:// or the local network (a test IdP).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "where the application listens")
	flag.Parse()
	for _, k := range []string{"SAML_METADATA_URL", "SAML_DOMAIN", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_DOMAIN"} {
		if os.Getenv(k) == "" {
			log.Fatalf("%s is not set; see go doc ./examples/minimal", k)
		}
	}
	base := cmp.Or(os.Getenv("BASE_URL"), "http://"+*addr) // the application's public URL
	h, err := run(context.Background(), base, os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving %s", base)
	log.Fatal((&http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe())
}

// run builds the application at baseURL, configured by getenv: the login
// handler under /auth and the start page at /. The identity providers'
// background refreshes stop with ctx.
func run(ctx context.Context, baseURL string, getenv func(string) string) (http.Handler, error) {
	auth := strings.TrimSuffix(baseURL, "/") + "/auth" // where the login handler is mounted
	insecure := getenv("INSECURE_IDPS") == "true"
	at := login.EndpointsOf(auth, "acme-saml") // the URLs the handler serves for the connection
	acme, err := saml.New(ctx, saml.Config{ID: "acme-saml", EntityID: at.EntityID, ACSURL: at.ACS, SLOURL: at.SLO,
		IdPMetadataURL: getenv("SAML_METADATA_URL"), TrustEmail: true, // the IdP vouches for the emails it sends
		InsecureAllowHTTP: insecure, InsecureAllowPrivateNetwork: insecure})
	if err != nil {
		return nil, err
	}
	globex, err := oidc.New(oidc.Config{ID: "globex-oidc", Issuer: getenv("OIDC_ISSUER"), ClientID: getenv("OIDC_CLIENT_ID"),
		ClientSecret: sso.Secret(getenv("OIDC_CLIENT_SECRET")), RedirectURL: login.EndpointsOf(auth, "globex-oidc").Callback,
		InsecureAllowHTTP: insecure, InsecureAllowPrivateNetwork: insecure})
	if err != nil {
		return nil, err
	}
	// Each account, declared once: its email domain, single sign-on
	// required, and its connection, which creates people at their first
	// login as members (an email outside the domain is refused).
	account := func(id, name, domain string, a sso.Authenticator) login.Account {
		return login.Account{ID: id, Name: name, Domains: []discovery.Domain{{Name: domain}},
			Policy: policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: a, Policy: policy.Connection{Stage: policy.StageLive},
				Provisioning: provisioning.Connection{JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"member"}}}}}}
	}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: auth, Accounts: []login.Account{
		account("acme", "Acme", getenv("SAML_DOMAIN"), acme), account("globex", "Globex", getenv("OIDC_DOMAIN"), globex)}})
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = reg.Close() })
	users := provisioning.NewMemoryStore(provisioning.MemoryOptions{}) // the application's users
	prov, err := provisioning.New(provisioning.Config{Store: users})
	if err != nil {
		return nil, err
	}
	ses := &sessions{byID: map[string]login.Result{}}
	// Passwords, the application's own password check, is left out: both
	// accounts require single sign-on.
	h, err := login.New(login.Config{Registry: reg, Provisioner: prov, Users: login.StoreUsers{Store: users}, Sessions: ses})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", h)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		_, res := ses.get(r)
		_ = home.Execute(w, res)
	})
	return mux, nil
}

// home is the start page: who is logged in, with the logout button, or the
// login link.
var home = template.Must(template.New("home").Parse(`{{if .User}}<p id="whoami">Logged in as {{.Email}} ({{range $i, $a := .Accounts}}{{if $i}}, {{end}}{{$a}}{{end}}).</p>
<form method="post" action="/auth/logout"><button>Log out</button></form>{{else}}<p id="whoami">Not logged in.</p><a href="/auth/login">Log in</a>{{end}}`))

// sessions is the application's own session: a random ID in an HttpOnly,
// SameSite=Lax cookie naming the login, kept in memory. A real application
// keeps its sessions in its database and expires them.
type sessions struct {
	mu   sync.Mutex
	byID map[string]login.Result
}

// get returns the request's session ID and its login (zero when none).
func (s *sessions) get(r *http.Request) (string, login.Result) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", login.Result{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.Value, s.byID[c.Value]
}

// StartSession, EndSession and CurrentUser implement login.Sessions.
func (s *sessions) StartSession(w http.ResponseWriter, r *http.Request, res *login.Result) error {
	old, _ := s.get(r)
	id := rand.Text()
	s.mu.Lock()
	delete(s.byID, old) // a new login replaces the browser's session
	s.byID[id] = *res
	s.mu.Unlock()
	// Secure: browsers and the login handler treat http://localhost as secure.
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *sessions) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	id, res := s.get(r)
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
	return res.Identity, nil // a single sign-on session's, for the logout at the identity provider
}

func (s *sessions) CurrentUser(r *http.Request) string {
	_, res := s.get(r)
	return res.User
}

// EndSessions implements login.SessionEnder: a logout at the SAML IdP ends
// the sessions it names, in every browser.
func (s *sessions) EndSessions(_ context.Context, connection string, matches func(*sso.Identity) bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, res := range s.byID {
		if res.Identity != nil && res.Identity.Connection == connection && matches(res.Identity) {
			delete(s.byID, id)
		}
	}
	return false, nil
}
