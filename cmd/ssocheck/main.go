// Command ssocheck is the administrator's and developer's tool for checking
// single sign-on configurations and captured messages without an
// application: a SAML response against a connection's settings, IdP metadata,
// an OpenID provider's discovery document, an LDAP login.
//
// Usage:
//
//	ssocheck saml response [flags] [FILE]
//	ssocheck saml metadata FILE|URL
//	ssocheck oidc discover ISSUER_URL [--ca FILE]
//	ssocheck ldap login [flags]
//	ssocheck discovery lookup --config FILE [--alias|--issuer|--module ACCOUNT|--accounts|--connection] QUERY
//	ssocheck discovery validate --config FILE
//	ssocheck discovery prove --config FILE DOMAIN
//
// Exit status: 0 when the check passes, 1 when it fails (the reason is
// printed as JSON), 2 on usage errors.
//
// # Output
//
// Every subcommand prints one JSON object on stdout, indented, and nothing
// else there (usage errors go to stderr). The keys, which scripts may rely
// on:
//
// A failed check, in every subcommand:
//
//	{"error": {"reason", "detail", "connection", "expected", "actual"}}
//
// reason is a stable code (see sso.Reason); detail tells an administrator
// what to fix; connection, expected and actual appear when known.
//
// saml response: "subject", "nameid_format", "email", "attributes" (name to
// values), "issuer", "warnings" (strings, when any).
//
// saml metadata: saml.Report: "entity_id", "sso" and "slo" (each
// {"binding", "location", "response_location"}), "signing_certificates"
// (each {"subject", "issuer", "not_before", "not_after", "sha1",
// "sha256", "key_type"}),
// "nameid_formats", "want_authn_requests_signed", "valid_until",
// "cache_duration", "problems" (each {"severity", "reason", "detail"}).
//
// oidc discover: oidc.Report: "issuer", "discovery_url", "usable",
// "endpoints", "token_endpoint_auth_methods", "supported_auth_methods",
// "id_token_signing_algorithms", "code_flow", "pkce_s256", "email_scope",
// "userinfo", "rp_initiated_logout", "iss_parameter", "jwks_signing_keys",
// "missing" (what makes the provider unusable), "warnings".
//
// ldap login: "dn", "identity" with "issuer", "subject", "email",
// "email_verified", "given_name", "family_name", "display_name", "groups",
// "attributes", "warnings".
//
// discovery lookup: the route: "key" and "choices", each choice
// {"account", "account_name", "connection", "protocol", "display_name",
// "logo_url", "module"}; with --issuer {"issuer", "choices"}; with
// --connection one choice. discovery validate: "valid", "accounts",
// "domains", "unproven_domains", or "valid": false with "problems".
// discovery prove: "account", "domain", "record_name", "record_value",
// "proven".
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one "ssocheck <protocol> <verb>" handler. It gets the remaining
// arguments and returns the exit code.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is filled by each protocol's file in init, keyed "protocol verb".
var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c.run(args[2:], stdin, stdout, stderr)
		}
	}
	if len(args) >= 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		usage(stdout)
		return exitOK
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "ssocheck: unknown command %q\n", strings.Join(args[:min(2, len(args))], " "))
	}
	usage(stderr)
	return exitUsage
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag (--url, --idp-cert).
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ssocheck <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 check passed, 1 check failed, 2 usage error")
}
