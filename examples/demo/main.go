// Command demo is a multi-tenant web application that embeds ssokit: every
// product scenario's single sign-on, ready to click through with no setup.
//
//	go run ./examples/demo
//
// starts it on http://localhost:8080 with a built-in mock SAML IdP
// (127.0.0.1:8081), a mock OpenID provider (127.0.0.1:8082) and a mock LDAP
// directory (127.0.0.1:8389), an embedded SQLite database in a temporary
// directory, and accounts for each scenario. The identity providers run on
// 127.0.0.1 while the application runs on localhost, so that they are other
// sites, as in real life, and cookie or SameSite mistakes show. The start
// page lists the test users and what each one shows.
//
// Flags:
//
//	-addr ADDR        where the application listens (default localhost:8080)
//	-base-url URL     its public URL, when it differs (behind a proxy)
//	-config FILE      replace the built-in setup (see sample-config.json)
//	-db FILE          the SQLite database (default: a temporary file); it
//	                  keeps users, logins, events and the admin page's
//	                  changes, so a restart with the same file keeps them
//	-postgres URL     a PostgreSQL database in place of the SQLite file,
//	                  e.g. postgres://demo:pw@db:5432/demo: what several
//	                  replicas of the demo share (see README.md, "Running
//	                  several replicas")
//	-redis URL        a Redis server (redis://host:6379/0) for the replay
//	                  records and the identities waiting on login pages
//	-saml-addr ADDR   the mock SAML IdP (default 127.0.0.1:8081)
//	-oidc-addr ADDR   the mock OpenID provider (default 127.0.0.1:8082)
//	-ldap-addr ADDR   the mock LDAP directory (default 127.0.0.1:8389)
//	-check            check the configuration, start nothing, exit
//
// Port 0 picks a free port. A configuration with problems is refused before
// anything starts, with one line per problem naming the field and the fix.
//
// Routes: the login handler's (/login, /login/sso, /login/sso/{domain},
// /saml/{connection}/metadata and /acs, /oidc/{connection}/callback,
// /ldap/{connection}/login, /logout), the start page /, /me (the session
// as JSON, 401 when logged out), /healthz, and /admin/{account}, the SSO
// settings page of an account for its administrators.
//
// The application itself is package demoapp beside this file: tests (and
// the browser end-to-end tests in e2e) start it in-process with
// demoapp.Start(ctx, demoapp.Options{...}) on free ports (port 0) and stop
// it with App.Close.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssokit/sso/examples/demo/demoapp"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain parses args, runs the demo and returns the exit code: 0, 1 for
// a failure, 2 for bad usage.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts demoapp.Options
	var check bool
	fs.StringVar(&opts.Addr, "addr", demoapp.DefaultAddr, "where the application listens")
	fs.StringVar(&opts.BaseURL, "base-url", "", "the application's public URL (default http://ADDR)")
	fs.StringVar(&opts.ConfigFile, "config", "", "configuration file replacing the built-in setup (see sample-config.json)")
	fs.StringVar(&opts.DB, "db", "", "SQLite database file (default: a temporary file)")
	fs.StringVar(&opts.Postgres, "postgres", "", "PostgreSQL URL shared by the replicas, in place of the SQLite file")
	fs.StringVar(&opts.Redis, "redis", "", "Redis URL (redis://host:6379/0) for replay records and waiting identities")
	fs.StringVar(&opts.SAMLAddr, "saml-addr", "", "mock SAML IdP address (default "+demoapp.DefaultSAMLAddr+")")
	fs.StringVar(&opts.OIDCAddr, "oidc-addr", "", "mock OpenID provider address (default "+demoapp.DefaultOIDCAddr+")")
	fs.StringVar(&opts.LDAPAddr, "ldap-addr", "", "mock LDAP directory address (default "+demoapp.DefaultLDAPAddr+")")
	fs.BoolVar(&check, "check", false, "check the configuration file and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if check {
		if err := demoapp.Check(opts); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 1
		}
		fmt.Fprintln(stdout, "configuration OK")
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demoapp.Run(ctx, opts); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		var ce *demoapp.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "demo: nothing was started; fix the configuration and try again")
		}
		return 1
	}
	return 0
}
