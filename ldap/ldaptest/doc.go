// Package ldaptest runs an in-process LDAP directory for tests of code that
// uses package ldap, in the manner of net/http/httptest: [Start] gives a
// test a [Server] on 127.0.0.1 with users, groups and a CA of its own,
// offering StartTLS on [Server.URL] and implicit TLS on [Server.LDAPSURL],
// closed when the test ends; [NewServer] does the same for a program,
// which closes it. [Server.CACertPEM] is the CA for ldap.Config.CACertPEM,
// and [Server.TLSConfig] a client TLS configuration that trusts it (the
// analogue of samltest's and oidctest's Client). [Config.Addr] chooses
// the address of URL; [Config.NoTLS] makes a plain-only server.
//
// The server evaluates search filters as a real directory does (RFC 4515,
// case-insensitive values, DN-valued member attributes), computes memberOf
// from the groups, and answers binds like OpenLDAP or, with
// [Config.ActiveDirectory], like Active Directory, including its
// "data 52e"-style sub-codes ([ADError]) and the password policy control.
// Switches make it slow ([Server.SetDelay]), down ([Server.SetDown]) or
// drop its connections ([Server.DropConnections]).
//
// It is built on github.com/jimlambrt/gldap and is meant for tests and
// demos only.
package ldaptest
