package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

// proofResolver answers the DNS lookups of "discovery prove".
var proofResolver discovery.Resolver = net.DefaultResolver

func init() {
	register("discovery lookup", command{
		summary: "route an email, SSO domain alias, issuer, module or account IDs to connections",
		run:     runDiscoveryLookup,
	})
	register("discovery validate", command{
		summary: "check a discovery configuration file (accounts, domains, connections)",
		run:     runDiscoveryValidate,
	})
	register("discovery prove", command{
		summary: "check the DNS TXT record proving ownership of a claimed domain",
		run:     runDiscoveryProve,
	})
}

// loadDiscovery reads a discovery.Config from a JSON file ("-" for stdin).
func loadDiscovery(path string, stdin io.Reader) (discovery.Config, error) {
	var cfg discovery.Config
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, &sso.Error{Op: "ssocheck", Reason: sso.ReasonInvalidConfig, Detail: "cannot read the configuration file", Err: err}
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(io.LimitReader(r, 256<<20))
	if err := dec.Decode(&cfg); err != nil {
		return cfg, &sso.Error{Op: "ssocheck", Reason: sso.ReasonInvalidConfig,
			Detail: "the configuration file is not a JSON discovery configuration ({\"accounts\": [...]})", Err: err}
	}
	return cfg, nil
}

func discoveryFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ssocheck discovery "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "discovery configuration `FILE` (JSON; - for stdin)")
	return fs, config
}

// discoveryArgs parses a discovery command's arguments, checks them with
// ok (which sees the positional arguments) and loads the configuration. When
// code is not -1 the command exits with it.
func discoveryArgs(fs *flag.FlagSet, config *string, args []string, ok func(pos []string) bool, stdin io.Reader, stdout io.Writer) (pos []string, cfg discovery.Config, code int) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, cfg, exitUsage
	}
	if *config == "" || !ok(pos) {
		fs.Usage()
		return nil, cfg, exitUsage
	}
	if cfg, err = loadDiscovery(*config, stdin); err != nil {
		return nil, cfg, writeError(stdout, err)
	}
	return pos, cfg, -1
}

func runDiscoveryLookup(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, config := discoveryFlags("lookup", stderr)
	alias := fs.Bool("alias", false, "QUERY is an SSO domain alias (/login/sso/{alias})")
	issuer := fs.Bool("issuer", false, "QUERY is a SAML entity ID or OIDC issuer")
	module := fs.String("module", "", "QUERY is an SSOModule value among the connections of account `ID`")
	accounts := fs.Bool("accounts", false, "QUERY is a comma-separated list of account IDs the person belongs to")
	connection := fs.Bool("connection", false, "QUERY is a connection ID")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ssocheck discovery lookup --config FILE [--alias | --issuer | --module ACCOUNT | --accounts | --connection] QUERY\n\nWithout a kind flag QUERY is an email address. Prints the route as JSON.")
		fs.PrintDefaults()
	}
	pos, cfg, code := discoveryArgs(fs, config, args, func(pos []string) bool {
		kinds := 0
		for _, b := range []bool{*alias, *issuer, *module != "", *accounts, *connection} {
			if b {
				kinds++
			}
		}
		return len(pos) == 1 && kinds <= 1
	}, stdin, stdout)
	if code >= 0 {
		return code
	}
	tab, err := discovery.New(cfg)
	if err != nil {
		return writeError(stdout, err)
	}
	q := pos[0]
	var out any
	switch {
	case *alias:
		out, err = tab.LookupAlias(q)
	case *issuer:
		var cs []discovery.Choice
		cs, err = tab.LookupIssuer(q)
		out = struct {
			Issuer  string             `json:"issuer"`
			Choices []discovery.Choice `json:"choices"`
		}{q, cs}
	case *module != "":
		out, err = tab.LookupModule(*module, q)
	case *accounts:
		out, err = tab.ForAccounts(strings.Split(q, ","))
	case *connection:
		out, err = tab.Connection(q)
	default:
		out, err = tab.Lookup(q)
	}
	if err != nil {
		return writeError(stdout, err)
	}
	writeJSON(stdout, out)
	return exitOK
}

func runDiscoveryValidate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, config := discoveryFlags("validate", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ssocheck discovery validate --config FILE")
		fs.PrintDefaults()
	}
	_, cfg, code := discoveryArgs(fs, config, args, func(pos []string) bool { return len(pos) == 0 }, stdin, stdout)
	if code >= 0 {
		return code
	}
	tab, err := discovery.New(cfg)
	if err != nil {
		return writeErrors(stdout, err)
	}
	writeJSON(stdout, struct {
		Valid    bool `json:"valid"`
		Accounts int  `json:"accounts"`
		Domains  int  `json:"domains"`
		Unproven int  `json:"unproven_domains"`
	}{true, len(cfg.Accounts), tab.Domains(), tab.Unproven()})
	return exitOK
}

// writeErrors prints every problem of a joined error, then fails.
func writeErrors(w io.Writer, err error) int {
	var list []errorJSON
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var one errorJSON
		one.Error.Reason = string(sso.ReasonOf(e))
		one.Error.Detail = e.Error()
		list = append(list, one)
	}
	writeJSON(w, struct {
		Valid    bool        `json:"valid"`
		Problems []errorJSON `json:"problems"`
	}{false, list})
	return exitFail
}

func runDiscoveryProve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, config := discoveryFlags("prove", stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "DNS lookup timeout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ssocheck discovery prove --config FILE DOMAIN\n\nLooks up the TXT record that proves ownership of DOMAIN with its proof_token from the configuration.")
		fs.PrintDefaults()
	}
	pos, cfg, code := discoveryArgs(fs, config, args, func(pos []string) bool { return len(pos) == 1 }, stdin, stdout)
	if code >= 0 {
		return code
	}
	want, err := sso.NormalizeDomain(pos[0])
	if err != nil {
		return writeError(stdout, err)
	}
	var account, token string
	for _, a := range cfg.Accounts {
		for _, d := range a.Domains {
			if n, err := sso.NormalizeDomain(d.Name); err == nil && n == want && d.ProofToken != "" {
				account, token = a.ID, d.ProofToken
			}
		}
	}
	if token == "" {
		return writeError(stdout, &sso.Error{Op: "ssocheck", Reason: sso.ReasonInvalidConfig,
			Detail: "no account in the configuration claims " + want + " with a proof_token"})
	}
	name, value, err := discovery.ProofRecord(want, token)
	if err != nil {
		return writeError(stdout, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res := struct {
		Account     string `json:"account"`
		Domain      string `json:"domain"`
		RecordName  string `json:"record_name"`
		RecordValue string `json:"record_value"`
		Proven      bool   `json:"proven"`
	}{account, want, name, value, false}
	if err := discovery.VerifyDomain(ctx, proofResolver, want, token); err != nil {
		// The detail names the record to publish.
		return writeError(stdout, err)
	}
	res.Proven = true
	writeJSON(stdout, res)
	return exitOK
}
