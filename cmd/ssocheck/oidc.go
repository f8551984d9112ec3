package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
)

func init() {
	register("oidc discover", command{
		summary: "check an OpenID provider's discovery document and JWKS for compatibility",
		run:     runOIDCDiscover,
	})
}

// runOIDCDiscover implements "ssocheck oidc discover ISSUER_URL [--ca FILE]":
// it prints an oidc.Report as JSON and exits 0 when the provider is usable,
// 1 when it is not or cannot be fetched, 2 on usage errors.
func runOIDCDiscover(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ssocheck oidc discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ca := fs.String("ca", "", "PEM `FILE` with the CA certificates to trust instead of the system roots")
	discoveryURL := fs.String("discovery-url", "", "fetch the document from `URL` instead of ISSUER_URL/.well-known/openid-configuration")
	allowHTTP := fs.Bool("allow-http", false, "permit plain http:// URLs (tests and trusted networks only)")
	allowPrivate := fs.Bool("allow-private-network", false, "permit loopback, private and link-local addresses (on-premises providers, tests)")
	timeout := fs.Duration("timeout", oidc.DefaultTimeout, "bound for each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ssocheck oidc discover ISSUER_URL [--ca FILE] [--allow-private-network] [--allow-http] [--discovery-url URL] [--timeout D]")
		fmt.Fprintln(stderr, "\nFetches the provider's discovery document and JWKS and prints a compatibility report.\nExit status: 0 usable, 1 not usable or not reachable, 2 usage error.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "ssocheck oidc discover: give exactly one ISSUER_URL")
		fs.Usage()
		return exitUsage
	}
	for _, u := range []string{pos[0], *discoveryURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") {
			fmt.Fprintf(stderr, "ssocheck oidc discover: %q is not an absolute http(s) URL\n", u)
			return exitUsage
		}
	}
	opts := oidc.DiscoverOptions{DiscoveryURL: *discoveryURL, InsecureAllowHTTP: *allowHTTP, InsecureAllowPrivateNetwork: *allowPrivate, Timeout: *timeout}
	if *ca != "" {
		b, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintf(stderr, "ssocheck oidc discover: --ca: %v\n", err)
			return exitUsage
		}
		opts.CACertPEM = b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3**timeout)
	defer cancel()
	r, err := oidc.Check(ctx, pos[0], opts)
	if err != nil {
		var se *sso.Error
		if errors.As(err, &se) && se.Reason == sso.ReasonInvalidConfig {
			fmt.Fprintf(stderr, "ssocheck oidc discover: %s\n", se.Detail)
			return exitUsage
		}
		if errors.As(err, &se) && se.Reason == sso.ReasonAddressNotAllowed {
			fmt.Fprintln(stderr, "ssocheck oidc discover: refused by the fetch guard; --allow-http permits plain http, --allow-private-network loopback and private addresses")
		}
		return writeError(stdout, err)
	}
	writeJSON(stdout, r)
	if !r.Usable {
		return exitFail
	}
	return exitOK
}
