package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/token"
)

// ReasonDomainNotProven is [sso.ReasonDomainNotProven]: the DNS TXT record
// that proves ownership of a claimed domain was not found.
const ReasonDomainNotProven = sso.ReasonDomainNotProven

// Domain ownership proof. The owner of a claimed domain publishes the TXT
// record ProofPrefix + token at ProofLabel + "." + domain (preferred, since
// it leaves the domain's own TXT records alone) or at the domain itself:
//
//	_ssokit.acme.example.  IN TXT  "ssokit-verification=3q2-7wEjR0mQ4Jc1kz9xVw"
const (
	ProofLabel  = "_ssokit"
	ProofPrefix = "ssokit-verification="
)

const (
	minTokenLen = 16
	maxTokenLen = 128
)

// Resolver looks up DNS TXT records. *net.Resolver implements it; tests
// supply their own.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NewProofToken returns a fresh random token for Domain.ProofToken.
func NewProofToken() (string, error) { return token.Random(nil, 24) }

func validToken(s string) bool {
	if len(s) < minTokenLen || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ProofRecord returns the DNS name and TXT value the owner of domain
// publishes to prove it with token, for an administrator's instructions.
func ProofRecord(domain, token string) (name, value string, err error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", "", err
	}
	if !validToken(token) {
		return "", "", &sso.Error{Op: "discovery.ProofRecord", Reason: sso.ReasonInvalidConfig,
			Detail: "the proof token is malformed; generate one with discovery.NewProofToken"}
	}
	return ProofLabel + "." + d, ProofPrefix + token, nil
}

// VerifyDomain checks that domain publishes the proof record for token (see
// [ProofLabel]) at _ssokit.<domain> or at <domain>, using r (net.DefaultResolver
// when nil).
//
// Errors: ReasonDomainNotProven when neither name has the record;
// sso.ReasonUnavailable when DNS failed otherwise (the cause is wrapped);
// sso.ReasonInvalidConfig or sso.ReasonInvalidEmail for a malformed token or
// domain.
func VerifyDomain(ctx context.Context, r Resolver, domain, token string) error {
	const op = "discovery.VerifyDomain"
	name, want, err := ProofRecord(domain, token)
	if err != nil {
		return err
	}
	if r == nil {
		r = net.DefaultResolver
	}
	d := strings.TrimPrefix(name, ProofLabel+".")
	var dnsErr error
	others := 0
	for _, n := range []string{name, d} {
		recs, err := r.LookupTXT(ctx, n)
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				dnsErr = err
			}
			continue
		}
		for _, rec := range recs {
			if strings.TrimSpace(rec) == want {
				return nil
			}
			if strings.HasPrefix(strings.TrimSpace(rec), ProofPrefix) {
				others++
			}
		}
	}
	if dnsErr != nil {
		return &sso.Error{Op: op, Reason: sso.ReasonUnavailable,
			Detail: "the DNS lookup of the proof record for " + d + " failed; try again later", Err: dnsErr}
	}
	detail := fmt.Sprintf("no TXT record %q at %s or %s; publish it at %s (DNS changes can take a while to be seen)", want, name, d, name)
	if others > 0 {
		detail += fmt.Sprintf("; %d %s record(s) with another token were found", others, ProofPrefix)
	}
	return &sso.Error{Op: op, Reason: ReasonDomainNotProven, Detail: detail}
}

// ProveDomains returns a copy of cfg in which every domain with a
// ProofToken and no VerifiedAt whose proof record VerifyDomain finds has
// VerifiedAt set to now. Domains proven before keep their VerifiedAt: a
// later failure does not revoke a proof (run VerifyDomain yourself to
// re-check). The error joins one error per domain still unproven, each
// naming its account; the returned Config is valid even then.
func ProveDomains(ctx context.Context, r Resolver, cfg Config, now time.Time) (Config, error) {
	cfg.Accounts = slices.Clone(cfg.Accounts)
	var errs []error
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		a.Domains = slices.Clone(a.Domains)
		for j := range a.Domains {
			d := &a.Domains[j]
			if d.ProofToken == "" || !d.VerifiedAt.IsZero() {
				continue
			}
			if err := VerifyDomain(ctx, r, d.Name, d.ProofToken); err != nil {
				errs = append(errs, fmt.Errorf("account %q: domain %q: %w", a.ID, d.Name, err))
				continue
			}
			d.VerifiedAt = now
		}
	}
	return cfg, errors.Join(errs...)
}
