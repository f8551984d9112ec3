package demoapp

import (
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// mockUser is a person at one of the mock identity providers, for the start
// page.
type mockUser struct {
	Protocol sso.Protocol
	Email    string
	Password string
	Note     string
}

// The mock identity providers' users. The SAML IdP's password is
// samltest.DefaultPassword for everyone; the OpenID provider asks for none
// (its login page lists the users); the directory has its own passwords.
var mockUsers = []mockUser{
	{sso.ProtocolOIDC, "paula@pressroom.example", "", "Press Room administrator"},
	{sso.ProtocolOIDC, "pete@pressroom.example", "", "Press Room user"},
	{sso.ProtocolOIDC, "nina@newsdesk.example", "", "Newsdesk user (SSO required)"},
	{sso.ProtocolOIDC, "ned@newsdesk.example", "", "Newsdesk administrator"},
	{sso.ProtocolOIDC, "kim@keyteam.example", "", "in three Key Team accounts"},
	{sso.ProtocolSAML, "gina@grantmakers.example", samltest.DefaultPassword, "Grantmakers administrator, test user of the staging connection"},
	{sso.ProtocolSAML, "greg@grantmakers.example", samltest.DefaultPassword, "Grantmakers user, added by an administrator beforehand"},
	{sso.ProtocolSAML, "gus@grantmakers.example", samltest.DefaultPassword, "at the IdP but never added to Grantmakers: refused"},
	{sso.ProtocolSAML, "david@simplecity.example", samltest.DefaultPassword, "SSOModule SAML2, UID T5014CD, Department Shipping, Roles Clerk: created at first login"},
	{sso.ProtocolSAML, "priya@simplecity.example", samltest.DefaultPassword, "SSOModule PARTNERS, Roles Reviewer,Approver: lands on the partners connection"},
	{sso.ProtocolSAML, "sally@simplecity.example", samltest.DefaultPassword, "pre-provisioned with roles Administrator and Intern; the IdP says Clerk"},
	{sso.ProtocolSAML, "rachel@hireco.example", samltest.DefaultPassword, "NameID HC-1001, preset as Rachel's SSO identifier"},
	{sso.ProtocolSAML, "ronald@hireco.example", samltest.DefaultPassword, "NameID HC-1002, unknown to HireCo: login binding"},
	{sso.ProtocolSAML, "kim@keyteam.example", samltest.DefaultPassword, "in three Key Team accounts"},
	{sso.ProtocolLDAP, "kim@keyteam.example", "kim-directory-pw", "Key Team directory"},
	{sso.ProtocolLDAP, "ken@keyteam.example", "ken-directory-pw", "Key Team directory"},
}

func mockSAMLUsers() []samltest.User {
	return []samltest.User{
		{Email: "gina@grantmakers.example", GivenName: "Gina", FamilyName: "Grant"},
		{Email: "greg@grantmakers.example", GivenName: "Greg", FamilyName: "Giles"},
		{Email: "gus@grantmakers.example", GivenName: "Gus", FamilyName: "Gale"},
		{Email: "david@simplecity.example", GivenName: "David", FamilyName: "Smith", Department: "Shipping",
			Attributes: map[string][]string{"SSOModule": {"SAML2"}, "UID": {"T5014CD"}, "Roles": {"Clerk"}}},
		{Email: "priya@simplecity.example", GivenName: "Priya", FamilyName: "Patel", Department: "Partner Org",
			Attributes: map[string][]string{"SSOModule": {"PARTNERS"}, "UID": {"P2002"}, "Roles": {"Reviewer,Approver"}}},
		{Email: "sally@simplecity.example", GivenName: "Sally", FamilyName: "Simple", Department: "Shipping",
			Attributes: map[string][]string{"SSOModule": {"SAML2"}, "UID": {"S3003"}, "Roles": {"Clerk"}}},
		{Email: "rachel@hireco.example", GivenName: "Rachel", FamilyName: "Reed", NameID: "HC-1001", NameIDFormat: saml.NameIDFormatPersistent},
		{Email: "ronald@hireco.example", GivenName: "Ronald", FamilyName: "Ross", NameID: "HC-1002", NameIDFormat: saml.NameIDFormatPersistent},
		{Email: "kim@keyteam.example", GivenName: "Kim", FamilyName: "Key"},
	}
}

func mockOIDCUsers() []oidctest.User {
	return []oidctest.User{
		{Subject: "paula", Email: "paula@pressroom.example", GivenName: "Paula", FamilyName: "Press"},
		{Subject: "pete", Email: "pete@pressroom.example", GivenName: "Pete", FamilyName: "Print"},
		{Subject: "nina", Email: "nina@newsdesk.example", GivenName: "Nina", FamilyName: "News"},
		{Subject: "ned", Email: "ned@newsdesk.example", GivenName: "Ned", FamilyName: "Desk"},
		{Subject: "kim", Email: "kim@keyteam.example", GivenName: "Kim", FamilyName: "Key"},
	}
}

const mockDirectoryBase = "dc=keyteam,dc=example"

func mockDirectory() ldaptest.Config {
	person := func(uid, given, sn string) ldaptest.User {
		return ldaptest.User{
			DN:       "uid=" + uid + ",ou=people," + mockDirectoryBase,
			Password: uid + "-directory-pw",
			Attributes: map[string][]string{
				"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
				"uid":         {uid}, "mail": {uid + "@keyteam.example"},
				"cn": {given + " " + sn}, "givenName": {given}, "sn": {sn}, "displayName": {given + " " + sn},
			},
		}
	}
	return ldaptest.Config{
		BaseDN: mockDirectoryBase,
		Users: []ldaptest.User{
			{DN: "cn=demo,ou=services," + mockDirectoryBase, Password: "demo-service-pw",
				Attributes: map[string][]string{"objectClass": {"top", "applicationProcess", "simpleSecurityObject"}, "cn": {"demo"}}},
			person("kim", "Kim", "Key"),
			person("ken", "Ken", "Keys"),
		},
		Groups: []ldaptest.Group{
			{DN: "cn=vault-admins,ou=groups," + mockDirectoryBase, Members: []string{"uid=kim,ou=people," + mockDirectoryBase}},
		},
	}
}

// builtinConfig is the setup of `go run ./examples/demo`: one or more
// accounts per product scenario, all connected to the mock identity providers
// through the {mock_...} references. sample-config.json is the same setup
// as a file.
func builtinConfig() *Config {
	samlConn := func(id, name string, mod func(*ConnectionConfig)) ConnectionConfig {
		c := ConnectionConfig{ID: id, Protocol: sso.ProtocolSAML, DisplayName: name, Stage: policy.StageLive,
			SAML:         &SAMLConfig{IdPMetadataURL: mockSAMLRef + "/metadata", InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, TrustEmail: true},
			Provisioning: ProvisioningConfig{}}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	oidcConn := func(id, name string) ConnectionConfig {
		return ConnectionConfig{ID: id, Protocol: sso.ProtocolOIDC, DisplayName: name, Stage: policy.StageLive,
			OIDC: &OIDCConfig{Issuer: mockOIDCRef, ClientID: id + "-client", ClientSecret: Secret(id + "-secret"), InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true,
				PostLogoutRedirectURL: "/?logged_out=" + id},
			Provisioning: ProvisioningConfig{}}
	}
	domain := func(n string) []discovery.Domain { return []discovery.Domain{{Name: n}} }
	keyteam := []discovery.Domain{{Name: "keyteam.example", Shared: true}}
	simpleJIT := func(module, role string) func(*ConnectionConfig) {
		return func(c *ConnectionConfig) {
			c.Module = module
			c.SAML.AllowIdPInitiated = true
			c.SAML.SubjectAttribute = "UID"
			c.Provisioning = ProvisioningConfig{Identifier: "attribute", IdentifierAttribute: "UID",
				JIT:         &JITConfig{DefaultRoles: []string{role}, DefaultOrganisation: "Head office", CreateOrganisation: true},
				UpdateNames: true, UpdateRoles: true, UpdateOrganisation: true,
				RolesAttribute: "Roles", RolesSplitCommas: true, RolesPassThrough: true}
		}
	}
	return &Config{
		Comment: "The demo's built-in setup as a file: go run ./examples/demo -config examples/demo/sample-config.json. " +
			"{mock_saml}, {mock_oidc}, {mock_ldap} and {mock_ldap_ca} stand for the built-in mock identity providers started by mock_idps. " +
			"To connect a real identity provider, replace them with its metadata URL (or idp_metadata_xml / idp_metadata_file), issuer or LDAP URL and CA; " +
			"drop mock_idps when nothing refers to it. Every field is described in examples/demo/CONFIG.md.",
		AdminRole: "Administrator",
		MockIdPs:  &MockIdPs{SAMLAddr: DefaultSAMLAddr, OIDCAddr: DefaultOIDCAddr, LDAPAddr: DefaultLDAPAddr},
		Accounts: []AccountConfig{
			{ID: "pressroom", Name: "Press Room", Aliases: []string{"pressroom"}, Domains: domain("pressroom.example"),
				Comment:     "Smart.pr: OpenID Connect, single sign-on optional. Its administrator switches it to required on the admin page; lockout prevention refuses until she has logged in through SSO once or keeps the break-glass. Logging out of an OpenID session logs out at the provider too (RP-initiated logout) and returns to the start page.",
				Policy:      PolicyConfig{Mode: policy.ModeSSOOptional},
				Connections: []ConnectionConfig{oidcConn("pressroom-oidc", "Press Room Entra ID")}},
			{ID: "newsdesk", Name: "Newsdesk", Aliases: []string{"newsdesk"}, Domains: domain("newsdesk.example"),
				Comment:     "Smart.pr after the rollout: OpenID Connect, single sign-on required; administrators keep their password (break-glass).",
				Policy:      PolicyConfig{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
				Connections: []ConnectionConfig{oidcConn("newsdesk-oidc", "Newsdesk Okta")}},
			{ID: "grantmakers", Name: "Grantmakers", Aliases: []string{"grantmakers"}, Domains: domain("grantmakers.example"),
				Comment: "SmartyGrants: SAML through the SSO domain prompt (/login/sso, /login/sso/grantmakers), required for @grantmakers.example only so external assessors keep their password; users must be added beforehand; a second connection is being tested by Gina.",
				Policy:  PolicyConfig{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"grantmakers.example"}}},
				Connections: []ConnectionConfig{
					samlConn("grantmakers-saml", "Grantmakers Entra ID", nil),
					samlConn("grantmakers-staging", "Grantmakers staging IdP", func(c *ConnectionConfig) {
						c.Stage, c.TestUsers, c.Debug = policy.StageTesting, []string{"gina@grantmakers.example"}, true
					}),
				}},
			{ID: "simplecity", Name: "Simple City", Aliases: []string{"simplecity"}, Domains: domain("simplecity.example"),
				Comment: "SmartSimple: logins the IdP starts, users created at their first login, the SSOModule attribute picks the staff or partners connection, roles and department updated at each login. SSO for Clerks is in a dry run: their password logins still work but show up as policy_dry_run_refusal events.",
				Policy:  PolicyConfig{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"Clerk"}}, DryRun: true},
				Connections: []ConnectionConfig{
					samlConn("simplecity-staff", "Simple City staff", func(c *ConnectionConfig) {
						simpleJIT("SAML2", "Staff")(c)
						c.LogoutRedirectURL = "/?logged_out=simplecity"
						c.LandingPage = "/?landing=simplecity" // an IdP-initiated login without RelayState
					}),
					samlConn("simplecity-partners", "Simple City partners", simpleJIT("PARTNERS", "Partner")),
				}},
			{ID: "hireco", Name: "HireCo", Aliases: []string{"hireco"}, Domains: domain("hireco.example"),
				Comment: "SmartRecruiters: SAML matched on SSO identifiers (the persistent NameID); an identifier nobody has gets the password form, and the password login, once confirmed, binds it (also for logins started at the IdP).",
				Policy:  PolicyConfig{Mode: policy.ModeSSOOptional},
				Connections: []ConnectionConfig{samlConn("hireco-saml", "HireCo Okta", func(c *ConnectionConfig) {
					c.SAML.AllowIdPInitiated = true
					c.SAML.NameIDFormat = saml.NameIDFormatPersistent
					c.Provisioning = ProvisioningConfig{Identifier: "subject", LoginBinding: true, LoginBindingIdPInitiated: true}
				})}},
			{ID: "vault-eu", Name: "Key Team EU", Aliases: []string{"vault-eu"}, Domains: keyteam,
				Comment:     "SmartKey: SSO required with the administrators' break-glass; keyteam.example is shared by three accounts, so its people pick one.",
				Policy:      PolicyConfig{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
				Connections: []ConnectionConfig{samlConn("vault-eu-saml", "Key Team EU SAML", nil)}},
			{ID: "vault-us", Name: "Key Team US", Aliases: []string{"vault-us"}, Domains: keyteam,
				Comment:     "SmartKey: the same people through OpenID Connect.",
				Policy:      PolicyConfig{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
				Connections: []ConnectionConfig{oidcConn("vault-us-oidc", "Key Team US OpenID")}},
			{ID: "vault-lab", Name: "Key Team Lab", Aliases: []string{"vault-lab"}, Domains: keyteam,
				Comment: "SmartKey: the same people through the LDAP directory (search as a service account, StartTLS).",
				Policy:  PolicyConfig{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
				Connections: []ConnectionConfig{{ID: "vault-lab-ldap", Protocol: sso.ProtocolLDAP, DisplayName: "Key Team directory", Stage: policy.StageLive,
					LDAP: &LDAPConfig{URLs: []string{mockLDAPRef}, CACertPEM: mockLDAPCARef, TrustEmail: true,
						Search: &LDAPSearch{BaseDN: mockDirectoryBase, ObjectClass: "inetOrgPerson", BindDN: "cn=demo,ou=services," + mockDirectoryBase, BindPassword: "demo-service-pw"}},
					Provisioning: ProvisioningConfig{}}}},
		},
		Users: []UserConfig{
			{Email: "paula@pressroom.example", Password: "paula-pw", GivenName: "Paula", FamilyName: "Press",
				Memberships: []MembershipConfig{{Account: "pressroom", Roles: []string{"Administrator"}}},
				Comment:     "Administrator: logs in either way; on the admin page switches Press Room to SSO required."},
			{Email: "pete@pressroom.example", Password: "pete-pw", GivenName: "Pete", FamilyName: "Print",
				Memberships: []MembershipConfig{{Account: "pressroom"}},
				Comment:     "Password or SSO while optional; after the switch his password is refused."},
			{Email: "nina@newsdesk.example", Password: "nina-pw", GivenName: "Nina", FamilyName: "News",
				Memberships: []MembershipConfig{{Account: "newsdesk"}},
				Comment:     "Her password is refused (SSO required); the email alone sends her to the OpenID provider."},
			{Email: "ned@newsdesk.example", Password: "ned-pw", GivenName: "Ned", FamilyName: "Desk",
				Memberships: []MembershipConfig{{Account: "newsdesk", Roles: []string{"Administrator"}}},
				Comment:     "Administrator: his password still works (break-glass)."},
			{Email: "gina@grantmakers.example", Password: "gina-pw", GivenName: "Gina", FamilyName: "Grant",
				Memberships: []MembershipConfig{{Account: "grantmakers", Roles: []string{"Administrator"}}},
				Comment:     "Administrator and test user: her email offers both the live and the staging connection."},
			{Email: "greg@grantmakers.example", Password: "greg-pw", GivenName: "Greg", FamilyName: "Giles",
				Memberships: []MembershipConfig{{Account: "grantmakers"}},
				Comment:     "Added beforehand: SSO links him by email; his password is refused."},
			{Email: "alex@assessors.example", Password: "alex-pw", GivenName: "Alex", FamilyName: "Assessor",
				Memberships: []MembershipConfig{{Account: "grantmakers", Roles: []string{"Assessor"}}},
				Comment:     "External assessor: outside the SSO email domains, so the password works."},
			{Email: "sally@simplecity.example", Password: "sally-pw", GivenName: "Sally", FamilyName: "Simple",
				Memberships: []MembershipConfig{{Account: "simplecity", Roles: []string{"Administrator"}, IdPRoles: []string{"Intern"}, SSOIdentifier: "S3003"}},
				Comment:     "Pre-provisioned with UID S3003: after an IdP-initiated login her IdP roles are Clerk instead of Intern, her Administrator role stays; from then on her password login is a dry-run refusal."},
			{Email: "rachel@hireco.example", Password: "rachel-pw", GivenName: "Rachel", FamilyName: "Reed",
				Memberships: []MembershipConfig{{Account: "hireco", Roles: []string{"Administrator"}, SSOIdentifier: "HC-1001"}},
				Comment:     "SSO identifier HC-1001 set in advance: SSO logs her in directly."},
			{Email: "ron@hireco.example", Password: "ron-pw", GivenName: "Ron", FamilyName: "Ross",
				Memberships: []MembershipConfig{{Account: "hireco"}},
				Comment:     "Log in at the IdP as ronald@hireco.example (HC-1002), then with Ron's password: the identity is bound to Ron."},
			{Email: "kim@keyteam.example", Password: "kim-pw", GivenName: "Kim", FamilyName: "Key",
				Memberships: []MembershipConfig{{Account: "vault-lab", Roles: []string{"Administrator"}}, {Account: "vault-eu"}, {Account: "vault-us"}},
				Comment:     "In three accounts with three identity providers: picks one; each SSO login grants only its own account. Her password works only for Key Team Lab, where she is an administrator (break-glass)."},
			{Email: "ken@keyteam.example", Password: "ken-pw", GivenName: "Ken", FamilyName: "Keys",
				Memberships: []MembershipConfig{{Account: "vault-lab"}},
				Comment:     "Key Team Lab member: his password is refused, the directory login works."},
		},
	}
}
