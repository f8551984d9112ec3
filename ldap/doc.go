// Package ldap authenticates people against an LDAP directory (OpenLDAP,
// Active Directory, and others that speak LDAPv3) behind the
// [sso.Authenticator] interface: Begin asks for a password, Complete checks
// it and returns an [sso.Identity] whose Subject is the entry's normalised
// DN.
//
// A login has two steps. First the email becomes a DN, by one of three
// methods chosen per connection: a subtree search for
// (&(objectClass=C)(mail=EMAIL)) as a service account or anonymously
// ([Search]), a DN template per email domain such as
// uid={},ou=users,dc=example,dc=com ([Config.Templates]), or Active
// Directory's userPrincipalName, where the email itself is the bind name
// ([UPN]). Then the authenticator binds as that DN with the password and
// reads mail, names and groups (memberOf, or a [GroupSearch]).
//
// The identity's email is the entry's mail value, or the login email when
// the entry has none. Only a mail value counts as verified, and only with
// [Config.TrustEmail]: a login email the directory merely accepted (an
// Active Directory UPN, an address a DN template was filled from) is not
// an address the directory vouches for, unless a UPN connection says so
// with [Config.TrustUPNAsEmail].
//
// Every value taken from the login is escaped: RFC 4515 in filters
// ([EscapeFilterValue]) and RFC 4514 in DNs ([EscapeDNValue]). The email
// is validated with [sso.NormalizeEmail] first, and an empty password is
// refused before any network traffic, because LDAP treats a bind without a
// password as an anonymous bind that succeeds.
//
// Traffic is always encrypted: ldaps://, or ldap:// followed at once by
// StartTLS. Certificates are verified against the system roots or
// [Config.CACertPEM]. Plain LDAP needs [Config.InsecureNoTLS], for tests.
//
// Several URLs give failover: a server that fails is skipped for a while
// and the next one is used. Searches run on a bounded pool of connections
// bound as the service account; users' binds run on a second pool whose
// connections are only ever used for binds, so no connection bound as a
// user is used for a service search. Pooled connections are health-checked
// and closed when idle. Active Directory's bind sub-codes ("data 775") and
// the password policy control map to typed reasons such as
// [sso.ReasonAccountLocked].
//
// The package ldap/ldaptest provides an in-process directory for tests.
package ldap
