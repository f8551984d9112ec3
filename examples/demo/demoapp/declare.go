package demoapp

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
)

// declare turns the configuration into the registry's accounts. auth
// returns each connection's authenticator (field is the connection's place
// in the file); kept holds the policies saved on the admin page in the
// database at keptIn. Every problem goes to p with its field.
func (cfg *Config) declare(p *problems, kept map[string]policy.Policy, keptIn string, auth func(field string, ac *AccountConfig, cc ConnectionConfig) (sso.Authenticator, error)) []login.Account {
	var accounts []login.Account
	for i := range cfg.Accounts {
		ac := &cfg.Accounts[i]
		af := fmt.Sprintf("accounts[%d]", i)
		pol := policy.Policy{Account: ac.ID, Mode: ac.Policy.Mode, Scope: ac.Policy.Scope, AdminsMayUsePassword: ac.Policy.AdminsMayUsePassword,
			DryRun: ac.Policy.DryRun, SecondFactorRequired: ac.Policy.SecondFactorRequired, SSOSatisfiesSecondFactor: ac.Policy.SSOSatisfiesSecondFactor}
		acct := login.Account{ID: ac.ID, Name: ac.Name, Aliases: ac.Aliases, Domains: ac.Domains, Networks: ac.Networks.networks(p, af+".networks")}
		for j, cc := range ac.Connections {
			cf := fmt.Sprintf("%s.connections[%d]", af, j)
			a, err := auth(cf, ac, cc)
			if err != nil {
				p.addErr(cf+"."+string(cc.Protocol), err)
				continue
			}
			lc, ok := cc.loginConnection(p, cf, a)
			if !ok {
				continue
			}
			acct.Connections = append(acct.Connections, lc)
			pol.Connections = append(pol.Connections, policy.Connection{ID: cc.ID, Stage: cc.Stage, TestUserEmails: cc.TestUsers})
		}
		if saved, ok := kept[ac.ID]; ok {
			pol = mergePolicy(pol, saved)
			if err := pol.Validate(); err != nil {
				p.add(af+".policy", "the policy saved on the admin page (in %s) no longer fits the configuration: %v; save the policy again on the admin page, or start with another -db", keptIn, err)
			}
		} else if err := pol.Validate(); err != nil {
			p.addErr(af+".policy", err)
		}
		// The registry takes each connection's stage and test users on the
		// connection itself.
		for k := range acct.Connections {
			if pc, ok := pol.Connection(acct.Connections[k].ID()); ok {
				pc.ID = ""
				acct.Connections[k].Policy = pc
			}
		}
		acct.Policy = pol
		acct.Policy.Account, acct.Policy.Connections = "", nil
		accounts = append(accounts, acct)
	}
	return accounts
}

// loginConnection is the registry's entry for the connection cc with its
// authenticator a (cf is its place in the file): what a start builds, and
// what the admin page builds for a connection it adds. Problems go to p;
// ok is false when there are some.
func (cc ConnectionConfig) loginConnection(p *problems, cf string, a sso.Authenticator) (_ login.Connection, ok bool) {
	n := len(p.list)
	prov, err := cc.Provisioning.toProvisioning(cc.ID)
	if err != nil {
		p.addErr(cf+".provisioning", err)
	}
	lc := login.Connection{Authenticator: a, DisplayName: cc.DisplayName, LogoURL: cc.LogoURL,
		Issuers: cc.Issuers, Module: cc.Module, Provisioning: prov, LogoutRedirectURL: cc.LogoutRedirectURL,
		LandingPage: cc.LandingPage, Networks: cc.Networks.networks(p, cf+".networks"), IdPEnforcesMFA: cc.IdPEnforcesMFA,
		Policy: policy.Connection{Stage: cc.Stage, TestUserEmails: cc.TestUsers}}
	return lc, len(p.list) == n
}

// protocolConfigs holds a connection's protocol settings: one of the three.
type protocolConfigs struct {
	saml *saml.Config
	oidc *oidc.Config
	ldap *ldap.Config
}

// protocolConfig converts a connection's settings for a handler at
// baseURL, reading the files they name. Stores, events and the logger are
// the caller's to add.
func protocolConfig(cc ConnectionConfig, account, baseURL string) (protocolConfigs, error) {
	at := login.EndpointsOf(baseURL, cc.ID)
	read := func(field, file string) ([]byte, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return b, nil
	}
	var out protocolConfigs
	var err error
	switch {
	case cc.SAML != nil:
		s := cc.SAML
		sc := &saml.Config{ID: cc.ID, Account: account, EntityID: at.EntityID, ACSURL: at.ACS, SLOURL: at.SLO,
			IdPMetadataURL: s.IdPMetadataURL, IdPEntityID: s.IdPEntityID,
			InsecureAllowHTTP: s.InsecureAllowHTTP, InsecureAllowPrivateNetwork: s.InsecureAllowPrivateNetwork,
			AllowIdPInitiated: s.AllowIdPInitiated, SubjectAttribute: s.SubjectAttribute, NameIDFormat: s.NameIDFormat,
			TrustEmail: s.TrustEmail, AllowSHA1: s.AllowSHA1, Debug: cc.Debug,
			RequestedAuthnContext: s.RequestedAuthnContext, MFAContexts: s.MFAContexts}
		switch {
		case s.IdPMetadataXML != "":
			sc.IdPMetadataXML = []byte(s.IdPMetadataXML)
		case s.IdPMetadataFile != "":
			sc.IdPMetadataXML, err = read("idp_metadata_file", s.IdPMetadataFile)
		}
		sc.SignAuthnRequests = s.SignAuthnRequests
		for i, k := range s.SPKeys {
			kp := saml.KeyPair{Key: sso.Secret(k.KeyPEM), Certificate: []byte(k.CertPEM)}
			kp.UseFrom, _ = time.Parse(time.RFC3339, k.UseFrom) // checked with the file
			if err == nil && k.KeyFile != "" {
				var b []byte
				b, err = read(fmt.Sprintf("sp_keys[%d].key_file", i), k.KeyFile)
				kp.Key = sso.Secret(b)
			}
			if err == nil && k.CertFile != "" {
				kp.Certificate, err = read(fmt.Sprintf("sp_keys[%d].cert_file", i), k.CertFile)
			}
			sc.SPKeys = append(sc.SPKeys, kp)
		}
		out.saml = sc
	case cc.OIDC != nil:
		o := cc.OIDC
		oc := &oidc.Config{ID: cc.ID, Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: sso.Secret(o.ClientSecret), AuthMethod: oidc.AuthMethod(o.AuthMethod),
			RedirectURL: at.Callback, Scopes: o.Scopes, PostLogoutRedirectURL: absolute(baseURL, o.PostLogoutRedirectURL),
			TrustEmail: o.TrustEmail, InsecureAllowHTTP: o.InsecureAllowHTTP, InsecureAllowPrivateNetwork: o.InsecureAllowPrivateNetwork, Debug: cc.Debug,
			ACRValues: o.ACRValues, MFAACRValues: o.MFAACRValues}
		if o.CACertFile != "" {
			oc.CACertPEM, err = read("ca_cert_file", o.CACertFile)
		}
		out.oidc = oc
	case cc.LDAP != nil:
		l := cc.LDAP
		lc := &ldap.Config{ID: cc.ID, URLs: l.URLs, ServerName: l.ServerName, Templates: l.Templates, TrustEmail: l.TrustEmail, Debug: cc.Debug}
		if l.CACertPEM != "" {
			lc.CACertPEM = []byte(l.CACertPEM)
		}
		if l.CACertFile != "" {
			lc.CACertPEM, err = read("ca_cert_file", l.CACertFile)
		}
		if l.Search != nil {
			lc.Search = &ldap.Search{BaseDN: l.Search.BaseDN, ObjectClass: l.Search.ObjectClass, BindDN: l.Search.BindDN, BindPassword: sso.Secret(l.Search.BindPassword)}
		}
		if l.UPN != nil {
			lc.UPN = &ldap.UPN{BaseDN: l.UPN.BaseDN}
		}
		out.ldap = lc
	default:
		err = fmt.Errorf("unknown protocol %q", cc.Protocol)
	}
	return out, err
}

// offline builds the connection as far as that needs no network: a SAML
// connection whose metadata is fetched from a URL is only validated, and
// stands as a declared one.
func (pc protocolConfigs) offline(ctx context.Context, id string) (sso.Authenticator, error) {
	switch {
	case pc.saml != nil && pc.saml.IdPMetadataURL != "":
		return declared{id, sso.ProtocolSAML}, pc.saml.Validate()
	case pc.saml != nil:
		return saml.New(ctx, *pc.saml)
	case pc.oidc != nil:
		return oidc.New(*pc.oidc)
	default:
		return ldap.New(*pc.ldap)
	}
}

// declared stands for a connection that Check cannot build without
// fetching its metadata: the registry needs only its ID and protocol.
type declared struct {
	id    string
	proto sso.Protocol
}

func (d declared) ID() string             { return d.id }
func (d declared) Protocol() sso.Protocol { return d.proto }
func (d declared) Begin(context.Context, sso.BeginRequest) (*sso.Step, error) {
	return nil, &sso.Error{Op: "demo.Check", Reason: sso.ReasonInternal, Detail: "not a running connection"}
}
func (d declared) Complete(context.Context, sso.CompleteRequest) (*sso.Identity, error) {
	return nil, &sso.Error{Op: "demo.Check", Reason: sso.ReasonInternal, Detail: "not a running connection"}
}

// checkDeclarations makes the checks a start makes that need no identity
// provider, database or listener: it builds each connection (IdP metadata
// given as XML or a file is parsed and checked; metadata URLs are not
// fetched), its provisioning and policy, and the registry as a whole
// (domains claimed by two accounts, aliases, connection IDs, URLs). It
// replaces cfg's mock references with the mocks' default addresses.
func (cfg *Config) checkDeclarations(ctx context.Context, p *problems) {
	c := cfg
	placeholders := strings.NewReplacer(mockSAMLRef, "http://"+DefaultSAMLAddr, mockOIDCRef, "http://"+DefaultOIDCAddr, mockLDAPRef, "ldap://"+DefaultLDAPAddr, mockLDAPCARef, "")
	walkRefs(c, func(_ string, v *string) { *v = placeholders.Replace(*v) })
	base := firstNonEmpty(c.BaseURL, "http://"+DefaultAddr)
	var built []io.Closer
	defer func() {
		for _, c := range built {
			_ = c.Close()
		}
	}()
	accounts := c.declare(p, nil, "", func(_ string, ac *AccountConfig, cc ConnectionConfig) (sso.Authenticator, error) {
		pc, err := protocolConfig(cc, ac.ID, base)
		if err != nil {
			return nil, err
		}
		a, err := pc.offline(ctx, cc.ID)
		if cl, ok := a.(io.Closer); ok && err == nil {
			built = append(built, cl)
		}
		return a, err
	})
	if len(p.list) > 0 {
		return
	}
	if _, err := login.NewRegistry(login.RegistryConfig{BaseURL: base, Accounts: accounts}); err != nil {
		p.addErr("accounts", err)
	}
}
