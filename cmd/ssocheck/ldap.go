package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
)

func init() {
	register("ldap login", command{
		summary: "check an LDAP login: resolve an email to a DN and bind with a password",
		run:     runLDAPLogin,
	})
}

const ldapLoginUsage = `usage: ssocheck ldap login --url URL [--url URL]...
        (--search-base DN --object-class C [--bind-dn DN --bind-password-file FILE]
         | --dn-template T | --upn)
        [--ca FILE] --email E --password-file FILE

Logs in to an LDAP directory as a connection with these settings would:
resolves the email to a DN (subtree search, DN template for the email's
domain, or Active Directory UPN bind), binds with the password and reads the
entry. Traffic uses TLS: ldaps://, or StartTLS on ldap://. Prints the DN and
the identity as JSON and exits 0; prints {"error":{"reason","detail"}} and
exits 1 when the login fails; exits 2 on usage errors. Passwords are read
from files (one trailing newline is removed) and never printed.

flags:`

// ldapLoginJSON is the output of a successful login.
type ldapLoginJSON struct {
	DN       string           `json:"dn"`
	Identity ldapIdentityJSON `json:"identity"`
}

type ldapIdentityJSON struct {
	Issuer        string              `json:"issuer"`
	Subject       string              `json:"subject"`
	Email         string              `json:"email"`
	EmailVerified bool                `json:"email_verified"`
	GivenName     string              `json:"given_name,omitempty"`
	FamilyName    string              `json:"family_name,omitempty"`
	DisplayName   string              `json:"display_name,omitempty"`
	Groups        []string            `json:"groups"`
	Attributes    map[string][]string `json:"attributes"`
	Warnings      []string            `json:"warnings,omitempty"`
}

func runLDAPLogin(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const name = "ssocheck ldap login"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var urls stringList
	fs.Var(&urls, "url", "directory `URL`, ldaps://host[:port] or ldap://host[:port] (StartTLS); repeat for failover")
	searchBase := fs.String("search-base", "", "search for the user under this base `DN`")
	objectClass := fs.String("object-class", "", "the users' object `class` for the search, e.g. inetOrgPerson or user")
	bindDN := fs.String("bind-dn", "", "service account `DN` for the search (default: anonymous)")
	bindPasswordFile := fs.String("bind-password-file", "", "`FILE` holding the service account's password")
	template := fs.String("dn-template", "", "build the DN from a `template` such as uid={},ou=people,dc=example,dc=com")
	upn := fs.Bool("upn", false, "bind with the email as name (Active Directory userPrincipalName)")
	caFile := fs.String("ca", "", "PEM `FILE` of the CA certificates to trust (default: the system roots)")
	email := fs.String("email", "", "the user's `email`")
	passwordFile := fs.String("password-file", "", "`FILE` holding the user's password")
	fs.Usage = func() {
		fmt.Fprintln(stderr, ldapLoginUsage)
		fs.PrintDefaults()
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	search := *searchBase != "" || *objectClass != ""
	methods := 0
	for _, set := range []bool{search, *template != "", *upn} {
		if set {
			methods++
		}
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case len(urls) == 0:
		return usage("--url is required")
	case methods != 1:
		return usage("give exactly one of --search-base/--object-class, --dn-template and --upn")
	case search && (*searchBase == "" || *objectClass == ""):
		return usage("--search-base and --object-class go together")
	case (*bindDN != "" || *bindPasswordFile != "") && !search:
		return usage("--bind-dn and --bind-password-file apply to --search-base only")
	case (*bindDN == "") != (*bindPasswordFile == ""):
		return usage("--bind-dn and --bind-password-file go together")
	case *email == "":
		return usage("--email is required")
	case *passwordFile == "":
		return usage("--password-file is required")
	}
	password, err := readSecretFile(*passwordFile)
	if err != nil {
		return usage("--password-file: %v", err)
	}
	cfg := ldap.Config{ID: "ssocheck", URLs: urls}
	if *caFile != "" {
		if cfg.CACertPEM, err = os.ReadFile(*caFile); err != nil {
			return usage("--ca: %v", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(cfg.CACertPEM) {
			return usage("--ca: %s holds no PEM certificate", *caFile)
		}
	}
	switch {
	case search:
		cfg.Search = &ldap.Search{BaseDN: *searchBase, ObjectClass: *objectClass, BindDN: *bindDN}
		if *bindPasswordFile != "" {
			if cfg.Search.BindPassword, err = readSecretFile(*bindPasswordFile); err != nil {
				return usage("--bind-password-file: %v", err)
			}
		}
	case *template != "":
		// The template serves the domain of the email being checked.
		norm, err := sso.NormalizeEmail(*email)
		if err != nil {
			return writeError(stdout, err)
		}
		cfg.Templates = map[string]string{sso.EmailDomain(norm): *template}
	default:
		cfg.UPN = &ldap.UPN{}
	}
	auth, err := ldap.New(cfg)
	if err != nil {
		var e *sso.Error
		if errors.As(err, &e) {
			return usage("%s", e.Detail)
		}
		return usage("%v", err)
	}
	defer auth.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := auth.Complete(ctx, sso.CompleteRequest{Email: *email, Password: password})
	if err != nil {
		return writeError(stdout, err)
	}
	out := ldapLoginJSON{DN: id.Subject, Identity: ldapIdentityJSON{
		Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified,
		GivenName: id.GivenName, FamilyName: id.FamilyName, DisplayName: id.DisplayName,
		Groups: id.Groups, Attributes: id.Attributes,
	}}
	if out.Identity.Groups == nil {
		out.Identity.Groups = []string{}
	}
	for _, w := range id.Warnings {
		out.Identity.Warnings = append(out.Identity.Warnings, w.String())
	}
	writeJSON(stdout, out)
	return exitOK
}

// readSecretFile reads a password file, removing one trailing newline.
func readSecretFile(path string) (sso.Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	return sso.Secret(s), nil
}
