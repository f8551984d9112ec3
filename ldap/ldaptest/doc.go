// Package ldaptest runs an in-process LDAP directory for tests of code that
// uses package ldap, in the manner of net/http/httptest: [Start] gives a
// [Server] on 127.0.0.1 with users, groups and a throwaway CA, offering
// StartTLS on [Server.URL] and implicit TLS on [Server.LDAPSURL].
//
// The server evaluates search filters as a real directory does (RFC 4515,
// case-insensitive values, DN-valued member attributes), computes memberOf
// from the groups, and answers binds like OpenLDAP or, with
// [Config.ActiveDirectory], like Active Directory, including its
// "data 52e"-style sub-codes ([ADError]) and the password policy control.
// Switches make it slow ([Server.SetDelay]), down ([Server.SetDown]) or
// drop its connections ([Server.DropConnections]); [Config.NoTLS] makes a
// plain-only server.
//
// It is built on github.com/jimlambrt/gldap and is meant for tests and
// demos only.
package ldaptest
