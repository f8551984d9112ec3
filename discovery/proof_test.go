package discovery_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

// fakeDNS answers TXT lookups from a map; names without an entry are
// NXDOMAIN, and names in fail return a server failure.
type fakeDNS struct {
	txt   map[string][]string
	fail  map[string]error
	asked []string
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.asked = append(f.asked, name)
	if err := f.fail[name]; err != nil {
		return nil, err
	}
	if recs, ok := f.txt[name]; ok {
		return recs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestVerifyDomain(t *testing.T) {
	ctx := context.Background()
	want := discovery.ProofPrefix + token
	servfail := &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}
	tests := []struct {
		name   string
		dns    fakeDNS
		domain string
		token  string
		reason sso.Reason // "" when proven
	}{
		{"at _ssokit", fakeDNS{txt: map[string][]string{"_ssokit.acme.example": {"v=spf1 -all", want}}}, "acme.example", token, ""},
		{"at the domain", fakeDNS{txt: map[string][]string{"acme.example": {" " + want + " "}}}, "ACME.example", token, ""},
		{"IDNA domain", fakeDNS{txt: map[string][]string{"_ssokit.xn--bcher-kva.example": {want}}}, "Bücher.example", token, ""},
		{"no record", fakeDNS{}, "acme.example", token, discovery.ReasonDomainNotProven},
		{"another token", fakeDNS{txt: map[string][]string{"_ssokit.acme.example": {discovery.ProofPrefix + "someone-elses-token-123"}}}, "acme.example", token, discovery.ReasonDomainNotProven},
		{"token without prefix", fakeDNS{txt: map[string][]string{"acme.example": {token}}}, "acme.example", token, discovery.ReasonDomainNotProven},
		{"record at a subdomain does not count", fakeDNS{txt: map[string][]string{"_ssokit.sub.acme.example": {want}}}, "acme.example", token, discovery.ReasonDomainNotProven},
		{"prefix of the token does not count", fakeDNS{txt: map[string][]string{"acme.example": {want[:len(want)-1]}}}, "acme.example", token, discovery.ReasonDomainNotProven},
		{"dns failure", fakeDNS{fail: map[string]error{"_ssokit.acme.example": servfail, "acme.example": servfail}}, "acme.example", token, sso.ReasonUnavailable},
		{"dns failure then proof", fakeDNS{fail: map[string]error{"_ssokit.acme.example": servfail}, txt: map[string][]string{"acme.example": {want}}}, "acme.example", token, ""},
		{"other error", fakeDNS{fail: map[string]error{"_ssokit.acme.example": errors.New("boom")}}, "acme.example", token, sso.ReasonUnavailable},
		{"malformed token", fakeDNS{}, "acme.example", "short", sso.ReasonInvalidConfig},
		{"token with spaces", fakeDNS{}, "acme.example", "0123456789 abcdefghij", sso.ReasonInvalidConfig},
		{"malformed domain", fakeDNS{}, "acme", token, sso.ReasonInvalidEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := discovery.VerifyDomain(ctx, &tc.dns, tc.domain, tc.token)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("VerifyDomain = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.reason) {
				t.Fatalf("VerifyDomain = %v; want %q", err, tc.reason)
			}
		})
	}
}

func TestVerifyDomainDetail(t *testing.T) {
	dns := &fakeDNS{txt: map[string][]string{"acme.example": {discovery.ProofPrefix + "someone-elses-token-123"}}}
	err := discovery.VerifyDomain(context.Background(), dns, "acme.example", token)
	for _, want := range []string{"_ssokit.acme.example", discovery.ProofPrefix + token, "another token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("detail %q lacks %q", err, want)
		}
	}
	if strings.Join(dns.asked, ",") != "_ssokit.acme.example,acme.example" {
		t.Errorf("asked %v", dns.asked)
	}
	servfail := &net.DNSError{Err: "server misbehaving", IsTemporary: true}
	err = discovery.VerifyDomain(context.Background(), &fakeDNS{fail: map[string]error{"_ssokit.acme.example": servfail}}, "acme.example", token)
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Errorf("the DNS error is not wrapped: %v", err)
	}
}

func TestProofRecord(t *testing.T) {
	name, value, err := discovery.ProofRecord("Bücher.Example", token)
	if err != nil || name != "_ssokit.xn--bcher-kva.example" || value != "ssokit-verification="+token {
		t.Fatalf("ProofRecord = %q %q %v", name, value, err)
	}
	tok, err := discovery.NewProofToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := discovery.ProofRecord("acme.example", tok); err != nil {
		t.Fatalf("NewProofToken gave an unusable token %q: %v", tok, err)
	}
	if tok2, _ := discovery.NewProofToken(); tok2 == tok {
		t.Fatal("NewProofToken repeats")
	}
}

func TestProveDomains(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	earlier := now.Add(-time.Hour)
	cfg := discovery.Config{RequireDomainProof: true, Accounts: []discovery.Account{
		{ID: "acme", Connections: []discovery.Connection{conn("acme-idp")}, Domains: []discovery.Domain{
			{Name: "acme.example", ProofToken: token},
			{Name: "acme-old.example", ProofToken: token, VerifiedAt: earlier},
		}},
		{ID: "squatter", Connections: []discovery.Connection{conn("squatter-idp")}, Domains: []discovery.Domain{
			{Name: "victim.example", ProofToken: "squatter-token-0123"},
		}},
		{ID: "victim", Connections: []discovery.Connection{conn("victim-idp")}, Domains: []discovery.Domain{
			{Name: "victim.example", ProofToken: "victim-token-012345"},
		}},
	}}
	// Before any proof, only the domain proven earlier routes, and the
	// squatter's claim blocks nobody.
	tab := mustNew(t, cfg)
	if tab.Domains() != 1 || tab.Unproven() != 3 {
		t.Fatalf("Domains() = %d, Unproven() = %d", tab.Domains(), tab.Unproven())
	}
	if _, err := tab.Lookup("a@acme.example"); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatalf("unproven domain routes: %v", err)
	}

	dns := &fakeDNS{txt: map[string][]string{
		"_ssokit.acme.example":   {discovery.ProofPrefix + token},
		"_ssokit.victim.example": {discovery.ProofPrefix + "victim-token-012345"},
	}}
	proven, err := discovery.ProveDomains(context.Background(), dns, cfg, now)
	if err == nil || !strings.Contains(err.Error(), `account "squatter": domain "victim.example"`) || !errors.Is(err, discovery.ReasonDomainNotProven) {
		t.Fatalf("ProveDomains err = %v", err)
	}
	if !proven.Accounts[0].Domains[0].VerifiedAt.Equal(now) || !proven.Accounts[0].Domains[1].VerifiedAt.Equal(earlier) ||
		!proven.Accounts[1].Domains[0].VerifiedAt.IsZero() || !proven.Accounts[2].Domains[0].VerifiedAt.Equal(now) {
		t.Fatalf("proven = %+v", proven.Accounts)
	}
	if !cfg.Accounts[0].Domains[0].VerifiedAt.IsZero() {
		t.Fatal("ProveDomains modified its argument")
	}
	for _, name := range dns.asked {
		if strings.Contains(name, "acme-old") {
			t.Fatal("a domain proven before was looked up again")
		}
	}
	tab = mustNew(t, proven)
	r, err := tab.Lookup("a@victim.example")
	if err != nil || conns(r) != "victim-idp" {
		t.Fatalf("victim.example = %+v, %v", r, err)
	}
	if r, err := tab.Lookup("a@acme.example"); err != nil || conns(r) != "acme-idp" {
		t.Fatalf("acme.example = %+v, %v", r, err)
	}
}
