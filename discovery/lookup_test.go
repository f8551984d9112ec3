package discovery_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

const token = "0123456789abcdefghij"

// fixture is one configuration covering the five product scenarios.
func fixture() discovery.Config {
	return discovery.Config{Accounts: []discovery.Account{
		{ // Smart.pr: OIDC, found by email.
			ID: "agency", Name: "Agency",
			Domains:     []discovery.Domain{{Name: "agency.example"}},
			Connections: []discovery.Connection{{ID: "agency-entra", Protocol: sso.ProtocolOIDC, Issuers: []string{"https://login.microsoftonline.com/agency/v2.0"}}},
		},
		{ // SmartyGrants: alias at /login/sso/{domain}; the organisation's domain is shared by its two accounts.
			ID: "example-funds", Name: "Example Funds",
			Aliases:     []string{"example", "example.com"},
			Domains:     []discovery.Domain{{Name: "example.com", Shared: true}},
			Connections: []discovery.Connection{{ID: "example-saml", Protocol: sso.ProtocolSAML, Issuers: []string{"https://sts.windows.net/example-tenant/"}}},
		},
		{
			ID: "example-division", Name: "Example Division",
			Aliases:     []string{"example-division"},
			Domains:     []discovery.Domain{{Name: "EXAMPLE.com", Shared: true}},
			Connections: []discovery.Connection{{ID: "example-division-saml", Protocol: sso.ProtocolSAML, Issuers: []string{"https://sts.windows.net/example-tenant/"}}},
		},
		{ // SmartSimple: IdP-initiated, two connections told apart by SSOModule.
			ID: "shipping", Name: "Shipping Co",
			Domains: []discovery.Domain{{Name: "shipping.example"}},
			Connections: []discovery.Connection{
				{ID: "shipping-saml2", Protocol: sso.ProtocolSAML, Module: "SAML2", Issuers: []string{"sso:saml2:alias:stage:SmartSimple:idp"}},
				{ID: "shipping-partners", Protocol: sso.ProtocolSAML, Module: "Partners", DisplayName: "Partners", Issuers: []string{"sso:saml2:alias:stage:SmartSimple:idp"}},
			},
		},
		{ // SmartRecruiters.
			ID: "hiring", Name: "Hiring",
			Domains:     []discovery.Domain{{Name: "hiring.example"}},
			Connections: []discovery.Connection{{ID: "hiring-okta", Protocol: sso.ProtocolSAML, Issuers: []string{"http://www.okta.com/exk1"}}},
		},
		{ // SmartKey: two accounts with different providers.
			ID: "vault", Name: "Vault",
			Domains: []discovery.Domain{{Name: "vault.example"}},
			Connections: []discovery.Connection{{ID: "vault-saml", Protocol: sso.ProtocolSAML, DisplayName: "Vault SSO",
				LogoURL: "https://cdn.example/vault.svg", Issuers: []string{"https://idp.vault.example/metadata"}}},
		},
		{
			ID: "lab", Name: "Lab",
			Connections: []discovery.Connection{{ID: "lab-ldap", Protocol: sso.ProtocolLDAP, DisplayName: "Lab directory"}},
		},
		{ // Claims a domain, no connection yet.
			ID: "newco", Name: "NewCo", Aliases: []string{"newco"},
			Domains: []discovery.Domain{{Name: "newco.example"}, {Name: "bücher.example"}},
		},
		{ // A domain awaiting its ownership proof.
			ID: "pending", Name: "Pending",
			Domains:     []discovery.Domain{{Name: "pending.example", ProofToken: token}},
			Connections: []discovery.Connection{{ID: "pending-oidc", Protocol: sso.ProtocolOIDC}},
		},
	}}
}

func mustNew(t testing.TB, cfg discovery.Config) *discovery.Table {
	t.Helper()
	tab, err := discovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func conns(r discovery.Route) string {
	var ids []string
	for _, c := range r.Choices() {
		ids = append(ids, c.Connection)
	}
	return strings.Join(ids, ",")
}

func TestLookup(t *testing.T) {
	tab := mustNew(t, fixture())
	tests := []struct {
		email  string
		key    string
		conns  string
		reason sso.Reason
	}{
		{"olly@agency.example", "agency.example", "agency-entra", ""},
		{"  Olly.Smith+x@AGENCY.Example ", "agency.example", "agency-entra", ""},
		{"agency.example@agency.example.", "agency.example", "agency-entra", ""},
		{"nobody-at-all@agency.example", "agency.example", "agency-entra", ""}, // unknown people get the same route
		{"olly@example.com", "example.com", "example-saml,example-division-saml", ""},
		{"kim@vault.example", "vault.example", "vault-saml", ""},
		{"x@sub.agency.example", "", "", sso.ReasonNoSSO},   // subdomains are not claimed
		{"x@agency.example.evil", "", "", sso.ReasonNoSSO},  // nor suffixes
		{"assessor@gmail.com", "", "", sso.ReasonNoSSO},     // unclaimed
		{"x@newco.example", "", "", sso.ReasonNoSSO},        // claimed, no connection
		{"x@Bücher.example", "", "", sso.ReasonNoSSO},       // IDNA, claimed, no connection
		{"x@pending.example", "", "", sso.ReasonNoSSO},      // proof missing
		{"not an email", "", "", sso.ReasonInvalidEmail},    //
		{"@agency.example", "", "", sso.ReasonInvalidEmail}, //
		{"a..b@agency.example", "", "", sso.ReasonInvalidEmail},
		{"a@agency", "", "", sso.ReasonInvalidEmail},
		{"", "", "", sso.ReasonInvalidEmail},
	}
	for _, tc := range tests {
		r, err := tab.Lookup(tc.email)
		if tc.reason != "" {
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != tc.reason || e.Detail == "" || r.Len() != 0 {
				t.Errorf("Lookup(%q) = %+v, %v; want %q", tc.email, r, err, tc.reason)
			}
			continue
		}
		if err != nil || r.Key != tc.key || conns(r) != tc.conns {
			t.Errorf("Lookup(%q) = %q [%s], %v; want %q [%s]", tc.email, r.Key, conns(r), err, tc.key, tc.conns)
		}
	}
	// The detail tells an administrator why a claimed domain does not route.
	if _, err := tab.Lookup("x@newco.example"); !strings.Contains(err.Error(), `claimed by "newco", which has no connection yet`) {
		t.Errorf("detail = %v", err)
	}
}

func TestLookupNormalized(t *testing.T) {
	tab := mustNew(t, fixture())
	if r, ok := tab.LookupNormalized("olly@agency.example"); !ok || conns(r) != "agency-entra" {
		t.Fatalf("LookupNormalized = %+v, %v", r, ok)
	}
	for _, miss := range []string{"olly@AGENCY.example", "no-at-sign", "x@newco.example", "x@gmail.com", "x@pending.example"} {
		if r, ok := tab.LookupNormalized(miss); ok || r.Len() != 0 {
			t.Errorf("LookupNormalized(%q) = %+v, true", miss, r)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := mustNew(t, fixture())
	email := strings.Clone("olly.smith@example.com")
	var r discovery.Route
	if n := testing.AllocsPerRun(200, func() { r, _ = tab.Lookup(email) }); n != 0 {
		t.Errorf("Lookup of a normalised email allocates %v times", n)
	}
	if n := testing.AllocsPerRun(200, func() { r, _ = tab.LookupNormalized(email) }); n != 0 {
		t.Errorf("LookupNormalized allocates %v times", n)
	}
	if r.Len() != 2 {
		t.Fatalf("route = %+v", r)
	}
	// A miss (an unclaimed domain, typed normalised) allocates nothing
	// either, and its error is still a typed one.
	miss := strings.Clone("someone@unclaimed.example")
	var err error
	if n := testing.AllocsPerRun(200, func() { r, err = tab.Lookup(miss) }); n != 0 {
		t.Errorf("Lookup of an unclaimed domain allocates %v times", n)
	}
	var e *sso.Error
	if !errors.Is(err, sso.ReasonNoSSO) || !errors.As(err, &e) || e.Reason != sso.ReasonNoSSO || e.Op != "discovery.Lookup" || e.Detail == "" || r.Len() != 0 {
		t.Errorf("miss: %+v, %v", r, err)
	}
	if err != discovery.ErrNoSSO {
		t.Errorf("miss: %v, want ErrNoSSO", err)
	}
}

func TestChoiceAndIDLookupsDoNotAllocate(t *testing.T) {
	tab := mustNew(t, fixture())
	r, _ := tab.Lookup("kim@vault.example")
	id, conn := strings.Clone("vault"), strings.Clone("vault-saml")
	var c discovery.Choice
	for name, f := range map[string]func(){
		"Route.Choice":  func() { c = r.Choice(0) },
		"Connection":    func() { c, _ = tab.Connection(conn) },
		"LookupAccount": func() { r, _ = tab.LookupAccount(id) },
		"LookupModule":  func() { c, _ = tab.LookupModule(id, "") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
	if c.Connection != "vault-saml" || r.Key != "vault" {
		t.Fatalf("choice %+v, route %+v", c, r)
	}
}

// TestLongStrings checks that names, logos, modules and issuers of any
// length come back exactly as configured.
func TestLongStrings(t *testing.T) {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	want := discovery.Choice{Account: long("a", 255), AccountName: long("Name ", 1000), Connection: long("c", 255),
		Protocol: sso.ProtocolOIDC, DisplayName: long("Display ", 130), LogoURL: long("https://cdn.example/", 5000), Module: long("M", 128)}
	iss := long("https://idp.example/", 70000)
	tab := mustNew(t, discovery.Config{Accounts: []discovery.Account{
		{ID: "short", Connections: []discovery.Connection{{ID: "short-idp", Protocol: sso.ProtocolSAML, Issuers: []string{iss + "/other"}}}},
		{ID: want.Account, Name: want.AccountName, Domains: []discovery.Domain{{Name: "long.example"}},
			Connections: []discovery.Connection{{ID: want.Connection, Protocol: want.Protocol, DisplayName: want.DisplayName,
				LogoURL: want.LogoURL, Module: want.Module, Issuers: []string{iss}}}},
	}})
	if r, err := tab.Lookup("x@long.example"); err != nil || r.Len() != 1 || r.Choice(0) != want {
		t.Fatalf("Lookup = %+v, %v", r.Choices(), err)
	}
	if cs, err := tab.LookupIssuer(iss); err != nil || len(cs) != 1 || cs[0] != want {
		t.Fatalf("LookupIssuer = %+v, %v", cs, err)
	}
	if c, err := tab.LookupModule(want.Account, strings.ToUpper(want.Module)); err != nil || c != want {
		t.Fatalf("LookupModule = %+v, %v", c, err)
	}
	if c, err := tab.Connection(want.Connection); err != nil || c != want {
		t.Fatalf("Connection = %+v, %v", c, err)
	}
	if r, err := tab.LookupAccount(want.Account); err != nil || !reflect.DeepEqual(r.Accounts(), []string{want.Account}) {
		t.Fatalf("LookupAccount = %+v, %v", r.Accounts(), err)
	}
}

func TestChoice(t *testing.T) {
	tab := mustNew(t, fixture())
	r, _ := tab.Lookup("kim@vault.example")
	want := discovery.Choice{Account: "vault", AccountName: "Vault", Connection: "vault-saml", Protocol: sso.ProtocolSAML,
		DisplayName: "Vault SSO", LogoURL: "https://cdn.example/vault.svg"}
	if r.Len() != 1 || r.Choice(0) != want {
		t.Fatalf("choices = %+v", r.Choices())
	}
	// DisplayName defaults to the account's name.
	c, err := tab.Connection("agency-entra")
	if err != nil || c.DisplayName != "Agency" || c.Account != "agency" {
		t.Fatalf("Connection = %+v, %v", c, err)
	}
	// Routes are read-only views of the table: changing a copy of the
	// choices (sorting them for display, say) must not touch it.
	r, _ = tab.Lookup("olly@example.com")
	cs := r.Choices()
	cs[0].Connection = "injected"
	_ = append(cs[:1], discovery.Choice{Connection: "injected"})
	if r2, _ := tab.Lookup("olly@example.com"); conns(r2) != "example-saml,example-division-saml" {
		t.Fatalf("changing the choices changed the table: %s", conns(r2))
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"key":"example.com","choices":[{"account":"example-funds"`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
	if b, _ := json.Marshal(discovery.Route{}); string(b) != `{"key":"","choices":[]}` {
		t.Fatalf("zero route JSON %s", b)
	}
}

func TestLookupAlias(t *testing.T) {
	tab := mustNew(t, fixture())
	tests := []struct {
		alias  string
		conns  string
		reason sso.Reason
	}{
		{"example", "example-saml", ""},
		{" Example ", "example-saml", ""},
		{"example.com", "example-saml", ""}, // the alias wins over the shared domain
		{"example-division", "example-division-saml", ""},
		{"agency.example", "agency-entra", ""},             // a claimed domain works as an alias
		{"AGENCY.example.", "agency-entra", ""},            //
		{"newco", "", sso.ReasonNoSSO},                     // no connection yet
		{"newco.example", "", sso.ReasonNoSSO},             //
		{"pending.example", "", sso.ReasonAccountNotFound}, // not proven
		{"unknown", "", sso.ReasonAccountNotFound},         //
		{"../etc/passwd", "", sso.ReasonAccountNotFound},
		{"", "", sso.ReasonAccountNotFound},
	}
	for _, tc := range tests {
		r, err := tab.LookupAlias(tc.alias)
		if tc.reason != "" {
			if !errors.Is(err, tc.reason) {
				t.Errorf("LookupAlias(%q) = %+v, %v; want %q", tc.alias, r, err, tc.reason)
			}
			continue
		}
		if err != nil || conns(r) != tc.conns {
			t.Errorf("LookupAlias(%q) = [%s], %v; want [%s]", tc.alias, conns(r), err, tc.conns)
		}
	}
}

func TestLookupIssuerModuleConnectionAccount(t *testing.T) {
	tab := mustNew(t, fixture())

	cs, err := tab.LookupIssuer("https://sts.windows.net/example-tenant/")
	if err != nil || len(cs) != 2 || cs[0].Account == cs[1].Account {
		t.Fatalf("LookupIssuer(shared tenant) = %+v, %v", cs, err)
	}
	cs, err = tab.LookupIssuer("http://www.okta.com/exk1")
	if err != nil || len(cs) != 1 || cs[0].Connection != "hiring-okta" {
		t.Fatalf("LookupIssuer = %+v, %v", cs, err)
	}
	// The answer is a copy: changing it does not change the table.
	cs[0].Connection = "injected"
	if cs, _ := tab.LookupIssuer("http://www.okta.com/exk1"); cs[0].Connection != "hiring-okta" {
		t.Fatalf("changing an issuer's choices changed the table: %+v", cs)
	}
	for _, iss := range []string{"http://www.okta.com/exk1/", "HTTP://www.okta.com/exk1", "", "https://evil.example"} {
		if _, err := tab.LookupIssuer(iss); !errors.Is(err, sso.ReasonUnknownIssuer) {
			t.Errorf("LookupIssuer(%q) = %v; want unknown_issuer (exact match only)", iss, err)
		}
	}

	for _, tc := range []struct {
		account, module, conn string
		reason                sso.Reason
	}{
		{"shipping", "SAML2", "shipping-saml2", ""},
		{"shipping", "partners", "shipping-partners", ""},
		{"shipping", " Partners ", "shipping-partners", ""},
		{"shipping", "", "", sso.ReasonConnectionNotFound}, // two connections, both with modules
		{"shipping", "SAML3", "", sso.ReasonConnectionNotFound},
		{"shipping", "\u017FAML2", "", sso.ReasonConnectionNotFound},    // long s: Unicode folds it to s, ASCII folding does not
		{"shipping", "PARTNER\u017F", "", sso.ReasonConnectionNotFound}, // likewise
		{"hiring", "", "hiring-okta", ""},                               // the only connection
		{"hiring", "SAML2", "", sso.ReasonConnectionNotFound},
		{"agency", "SAML2", "", sso.ReasonConnectionNotFound}, // another account's module does not count
		{"nobody", "SAML2", "", sso.ReasonAccountNotFound},
	} {
		c, err := tab.LookupModule(tc.account, tc.module)
		if tc.reason != "" {
			if !errors.Is(err, tc.reason) {
				t.Errorf("LookupModule(%q, %q) = %+v, %v; want %q", tc.account, tc.module, c, err, tc.reason)
			}
			continue
		}
		if err != nil || c.Connection != tc.conn {
			t.Errorf("LookupModule(%q, %q) = %q, %v; want %q", tc.account, tc.module, c.Connection, err, tc.conn)
		}
	}

	if _, err := tab.Connection("nope"); !errors.Is(err, sso.ReasonConnectionNotFound) {
		t.Errorf("Connection(nope) = %v", err)
	}
	r, err := tab.LookupAccount("lab")
	if err != nil || conns(r) != "lab-ldap" || r.Key != "lab" {
		t.Errorf("LookupAccount(lab) = %+v, %v", r, err)
	}
	if r, err := tab.LookupAccount("newco"); err != nil || r.Len() != 0 {
		t.Errorf("LookupAccount(newco) = %+v, %v", r, err)
	}
	if _, err := tab.LookupAccount("nobody"); !errors.Is(err, sso.ReasonAccountNotFound) {
		t.Errorf("LookupAccount(nobody) = %v", err)
	}
	if r, err := tab.LookupDomain("Vault.Example"); err != nil || conns(r) != "vault-saml" {
		t.Errorf("LookupDomain = %+v, %v", r, err)
	}
	if _, err := tab.LookupDomain("not a domain"); !errors.Is(err, sso.ReasonInvalidEmail) {
		t.Errorf("LookupDomain(bad) = %v", err)
	}
}

func TestForAccounts(t *testing.T) {
	tab := mustNew(t, fixture())
	r, err := tab.ForAccounts([]string{"vault", "unknown", "newco", "lab", "vault"})
	if err != nil || conns(r) != "vault-saml,lab-ldap" || !reflect.DeepEqual(r.Accounts(), []string{"vault", "lab"}) {
		t.Fatalf("ForAccounts = %+v, %v", r, err)
	}
	if _, err := tab.ForAccounts([]string{"newco", "unknown"}); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatalf("ForAccounts(no connections) = %v", err)
	}
	if _, err := tab.ForAccounts(nil); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatalf("ForAccounts(nil) = %v", err)
	}
}

func TestSharedRoutesAreDeduplicated(t *testing.T) {
	cfg := discovery.Config{}
	for _, id := range []string{"a", "b", "c"} {
		a := acct(id)
		for _, d := range []string{"one.example", "two.example"} {
			a.Domains = append(a.Domains, discovery.Domain{Name: d, Shared: true})
		}
		cfg.Accounts = append(cfg.Accounts, a)
	}
	cfg.Accounts[2].Domains = cfg.Accounts[2].Domains[:1]
	tab := mustNew(t, cfg)
	r1, _ := tab.Lookup("x@one.example")
	r2, _ := tab.Lookup("x@two.example")
	if conns(r1) != "a-idp,b-idp,c-idp" || conns(r2) != "a-idp,b-idp" {
		t.Fatalf("routes %s / %s", conns(r1), conns(r2))
	}
}

func TestEmptyTable(t *testing.T) {
	tab := mustNew(t, discovery.Config{})
	if _, err := tab.Lookup("a@b.example"); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatal(err)
	}
	if _, ok := tab.LookupNormalized("a@b.example"); ok {
		t.Fatal("empty table found a route")
	}
	if _, err := tab.LookupAlias("x"); !errors.Is(err, sso.ReasonAccountNotFound) {
		t.Fatal(err)
	}
}
