package saml_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/ssotest"
)

func TestCompleteSPInitiated(t *testing.T) {
	for _, mode := range []samltest.SignMode{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := newEnv(t, samltest.Config{Sign: mode}, nil)
			relay, reqID, _ := e.begin(sso.BeginRequest{ReturnTo: "/reports?x=1", FlowData: map[string]string{"account": "acme"}})
			id, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser)
			if err != nil {
				t.Fatal(err)
			}
			if id.Connection != "c1" || id.Protocol != sso.ProtocolSAML || id.IdPInitiated {
				t.Errorf("identity header = %q %q %v", id.Connection, id.Protocol, id.IdPInitiated)
			}
			if id.Subject != "alice@example.com" || id.SubjectFormat != saml.NameIDFormatEmailAddress {
				t.Errorf("subject = %q (%q)", id.Subject, id.SubjectFormat)
			}
			if id.Issuer != e.idp.EntityID() {
				t.Errorf("issuer = %q", id.Issuer)
			}
			if id.Email != "alice@example.com" || id.EmailVerified {
				t.Errorf("email = %q verified %v (TrustEmail is off)", id.Email, id.EmailVerified)
			}
			if id.GivenName != "Alice" || id.FamilyName != "Admin" || id.DisplayName != "Alice Admin" || id.FirstAttribute("Department") != "Engineering" {
				t.Errorf("names = %q %q %q %q", id.GivenName, id.FamilyName, id.DisplayName, id.FirstAttribute("Department"))
			}
			if strings.Join(id.Groups, ",") != "admins,staff" {
				t.Errorf("groups = %v", id.Groups)
			}
			if id.ReturnTo != "/reports?x=1" || id.FlowData["account"] != "acme" {
				t.Errorf("flow data = %q %v", id.ReturnTo, id.FlowData)
			}
			if id.SessionIndex == "" || !id.AuthTime.Equal(t0.Truncate(time.Millisecond)) {
				t.Errorf("session = %q %v", id.SessionIndex, id.AuthTime)
			}
			if len(id.Warnings) != 0 {
				t.Errorf("warnings = %v", id.Warnings)
			}
		})
	}
}

// TestMisbehavingIdP runs every misbehaviour switch of samltest against
// every signing mode: each must be rejected for its reason.
func TestMisbehavingIdP(t *testing.T) {
	for _, mode := range []samltest.SignMode{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		for _, c := range misbehaviours() {
			t.Run(fmt.Sprintf("%d/%s", mode, c.name), func(t *testing.T) {
				e := newEnv(t, samltest.Config{Sign: mode}, nil)
				id, err := e.login(samltest.ResponseOptions{Misbehavior: c.m})
				if err == nil {
					t.Fatalf("accepted: subject %q", id.Subject)
				}
				if c.want == "" {
					// Signature wrapping: rejected, whatever check catches it
					// first (assertion count, signature, position).
					t.Logf("rejected: %v", err)
					return
				}
				wantReason(t, err, c.want)
			})
		}
	}
}

type misbehaviour struct {
	name string
	m    samltest.Misbehavior
	want sso.Reason // "" for signature wrapping: any rejection
}

// misbehaviours lists every misbehaviour switch of samltest with the reason
// it must be rejected for.
func misbehaviours() []misbehaviour {
	cases := []misbehaviour{
		{"wrong key", samltest.Misbehavior{WrongKey: true}, sso.ReasonUntrustedKey},
		{"unsigned", samltest.Misbehavior{Unsigned: true}, sso.ReasonSignatureMissing},
		{"expired", samltest.Misbehavior{Expired: true}, sso.ReasonExpired},
		{"not yet valid", samltest.Misbehavior{NotYetValid: true}, sso.ReasonNotYetValid},
		{"wrong audience", samltest.Misbehavior{WrongAudience: true}, sso.ReasonAudienceMismatch},
		{"wrong recipient", samltest.Misbehavior{WrongRecipient: true}, sso.ReasonRecipientMismatch},
		{"wrong destination", samltest.Misbehavior{WrongDestination: true}, sso.ReasonDestinationMismatch},
		{"wrong issuer", samltest.Misbehavior{WrongIssuer: true}, sso.ReasonIssuerMismatch},
		{"two assertions", samltest.Misbehavior{TwoAssertions: true}, sso.ReasonAssertionCount},
		{"sha1", samltest.Misbehavior{SHA1: true}, sso.ReasonAlgorithmNotAllowed},
		{"doctype", samltest.Misbehavior{Doctype: true}, sso.ReasonDoctypeForbidden},
		{"empty nameid", samltest.Misbehavior{EmptyNameID: true}, sso.ReasonSubjectMissing},
	}
	for _, x := range samltest.AllXSW {
		cases = append(cases, misbehaviour{"xsw " + x.String(), samltest.Misbehavior{SignatureWrapping: x}, ""})
	}
	return cases
}

// TestDebugNeverLoosens runs every misbehaviour with Debug on: debug mode
// logs, and rejects exactly as without it (no ignored time stamps, no
// skipped signature).
func TestDebugNeverLoosens(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	for _, c := range misbehaviours() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, samltest.Config{Sign: samltest.SignBoth}, func(cfg *saml.Config) {
				cfg.Debug = true
				cfg.Logger = logger
			})
			id, err := e.login(samltest.ResponseOptions{Misbehavior: c.m})
			if err == nil {
				t.Fatalf("accepted in debug mode: subject %q", id.Subject)
			}
			if c.want != "" {
				wantReason(t, err, c.want)
			}
		})
	}
	if n := strings.Count(buf.String(), "saml: response rejected"); n != len(misbehaviours()) {
		t.Fatalf("%d rejections logged; want %d", n, len(misbehaviours()))
	}
}

// TestSignatureWrappingNeverYieldsForgedSubject checks the property that
// matters even if a future change made wrapping pass: the forged subject
// is never returned.
func TestSignatureWrappingNeverYieldsForgedSubject(t *testing.T) {
	for _, x := range samltest.AllXSW {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
		id, err := e.sp.ValidateResponse(context.Background(), e.response(samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{SignatureWrapping: x}}), "")
		if err == nil && id.Subject == samltest.ForgedNameID {
			t.Fatalf("%s: forged subject accepted", x)
		}
		if err == nil {
			t.Fatalf("%s: accepted", x)
		}
	}
}

func TestSHA1AllowedPerConnection(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowSHA1 = true })
	if _, err := e.login(samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{SHA1: true}}); err != nil {
		t.Fatalf("AllowSHA1: %v", err)
	}
}

// TestCommentInNameID: the signed NameID is "alice@example.com.attacker.test";
// a comment splits it after "alice@example.com". The subject must be the
// signed value, never the prefix.
func TestCommentInNameID(t *testing.T) {
	for _, mode := range []samltest.SignMode{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		e := newEnv(t, samltest.Config{Sign: mode}, nil)
		id, err := e.login(samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{CommentInNameID: true}})
		if err != nil {
			wantReason(t, err, sso.ReasonSignatureInvalid)
			continue
		}
		if id.Subject != "alice@example.com.attacker.test" {
			t.Fatalf("mode %d: subject = %q; want the signed value", mode, id.Subject)
		}
	}
}

func TestInResponseTo(t *testing.T) {
	t.Run("other request", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		relay, _, _ := e.begin(sso.BeginRequest{})
		_, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: "_someone-elses-request"}), relay, browser)
		wantReason(t, err, sso.ReasonInResponseToMismatch)
	})
	t.Run("no pending login", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
		_, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: "_req"}), "", browser)
		wantReason(t, err, sso.ReasonStateMissing)
		_, err = e.complete(e.response(samltest.ResponseOptions{InResponseTo: "_req"}), "unknown-handle", browser)
		wantReason(t, err, sso.ReasonStateMissing)
	})
	t.Run("other browser", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		_, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, "another-browser")
		wantReason(t, err, sso.ReasonStateMismatch)
		_, err = e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser)
		wantReason(t, err, sso.ReasonStateMissing) // the flow is consumed by the failed try
	})
	t.Run("expired flow", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		e.clock.Advance(saml.DefaultFlowLifetime + time.Second)
		_, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser)
		wantReason(t, err, sso.ReasonStateMissing)
	})
	t.Run("flow used once", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		if _, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser); err != nil {
			t.Fatal(err)
		}
		_, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser)
		wantReason(t, err, sso.ReasonStateMissing)
	})
	// Only the assertion is signed: the Response's InResponseTo can be
	// edited freely, so the signed SubjectConfirmationData decides.
	t.Run("unsigned Response edited", func(t *testing.T) {
		e := newEnv(t, samltest.Config{Sign: samltest.SignAssertion}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com", InResponseTo: "_stolen-from-another-login"})
		b = bytes.Replace(b, []byte(`InResponseTo="_stolen-from-another-login"`), []byte(`InResponseTo="`+reqID+`"`), 1)
		_, err := e.complete(base64.StdEncoding.EncodeToString(b), relay, browser)
		wantReason(t, err, sso.ReasonInResponseToMismatch)
	})
	// Only the assertion is signed and it names no request: an unsolicited
	// assertion cannot be passed off as an answer by adding InResponseTo
	// to the unsigned Response.
	t.Run("unsigned Response claims the request", func(t *testing.T) {
		e := newEnv(t, samltest.Config{Sign: samltest.SignAssertion}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		resp := e.response(samltest.ResponseOptions{EditResponse: setAttr(".", "InResponseTo", reqID)})
		_, err := e.complete(resp, relay, browser)
		wantReason(t, err, sso.ReasonInResponseToMismatch)
	})
	// A signed Response that names another request than its assertion.
	t.Run("signed Response answers another request", func(t *testing.T) {
		e := newEnv(t, samltest.Config{Sign: samltest.SignBoth}, nil)
		relay, reqID, _ := e.begin(sso.BeginRequest{})
		resp := e.response(samltest.ResponseOptions{InResponseTo: reqID, EditResponse: setAttr(".", "InResponseTo", "_another-request")})
		_, err := e.complete(resp, relay, browser)
		wantReason(t, err, sso.ReasonInResponseToMismatch)
	})
	t.Run("unsolicited refused", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		_, err := e.complete(e.response(samltest.ResponseOptions{}), "", "")
		wantReason(t, err, sso.ReasonUnsolicited)
	})
	t.Run("ValidateResponse", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
		_, err := e.sp.ValidateResponse(context.Background(), e.response(samltest.ResponseOptions{InResponseTo: "_a"}), "")
		wantReason(t, err, sso.ReasonInResponseToMismatch)
		_, err = e.sp.ValidateResponse(context.Background(), e.response(samltest.ResponseOptions{}), "_a")
		wantReason(t, err, sso.ReasonInResponseToMismatch)
		_, err = e.sp.ValidateResponse(context.Background(), e.response(samltest.ResponseOptions{InResponseTo: "_a"}), "_b")
		wantReason(t, err, sso.ReasonInResponseToMismatch)
		if _, err := e.sp.ValidateResponse(context.Background(), e.response(samltest.ResponseOptions{InResponseTo: "_a"}), "_a"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	for relay, want := range map[string]string{
		"/dashboard?tab=2":           "/dashboard?tab=2",
		"":                           "",
		"https://evil.example/phish": "",
		"//evil.example/":            "",
		"/\\evil.example":            "",
	} {
		id, err := e.complete(e.response(samltest.ResponseOptions{}), relay, "")
		if err != nil {
			t.Fatalf("relay %q: %v", relay, err)
		}
		if !id.IdPInitiated || id.ReturnTo != want {
			t.Errorf("relay %q: IdPInitiated %v ReturnTo %q; want %q", relay, id.IdPInitiated, id.ReturnTo, want)
		}
	}
}

func TestReplay(t *testing.T) {
	rc := &recordingReplay{ReplayCache: sso.NewMemoryReplayCache(sso.MemoryOptions{})}
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.AllowIdPInitiated = true
		c.ReplayCache = rc
	})
	resp := e.response(samltest.ResponseOptions{})
	if _, err := e.complete(resp, "", ""); err != nil {
		t.Fatal(err)
	}
	_, err := e.complete(resp, "", "")
	wantReason(t, err, sso.ReasonReplayed)
	if len(rc.keys) != 2 || !strings.HasPrefix(rc.keys[0], "c1\x00_") {
		t.Fatalf("replay keys = %q; want connection ID + assertion ID", rc.keys)
	}
	// Kept until the assertion's NotOnOrAfter (5 minutes) plus the skew.
	if want := t0.Add(5*time.Minute + saml.DefaultClockSkew); !rc.until[0].Equal(want) {
		t.Fatalf("replay until = %v; want %v", rc.until[0], want)
	}
}

// TestPendingLoginCompletesOnce: a pending login completes one login,
// even if its record (or cookie) comes back and the IdP answers the same
// request twice with distinct assertions.
func TestPendingLoginCompletesOnce(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.StateStore = &ssotest.LeakyStateStore{} })
	relay, reqID, _ := e.begin(sso.BeginRequest{})
	first := e.response(samltest.ResponseOptions{InResponseTo: reqID})
	second := e.response(samltest.ResponseOptions{InResponseTo: reqID})
	if _, err := e.complete(first, relay, browser); err != nil {
		t.Fatal(err)
	}
	_, err := e.complete(second, relay, browser)
	wantReason(t, err, sso.ReasonReplayed)
	if !strings.Contains(err.Error(), "pending login") {
		t.Fatalf("err = %v", err)
	}
}

// TestRefusedResponsesRecordNothing: replay records are written only for
// what the IdP signed, so forged or unsolicited responses cannot fill the
// replay cache and push out records of real logins.
func TestRefusedResponsesRecordNothing(t *testing.T) {
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.ReplayCache = replay })
	relay, reqID, _ := e.begin(sso.BeginRequest{})
	for _, opts := range []samltest.ResponseOptions{
		{InResponseTo: reqID, Misbehavior: samltest.Misbehavior{WrongKey: true}},
		{InResponseTo: reqID, Misbehavior: samltest.Misbehavior{Unsigned: true}},
		{}, // unsolicited, and the connection refuses IdP-initiated logins
	} {
		if _, err := e.complete(e.response(opts), relay, browser); err == nil {
			t.Fatal("a bad response was accepted")
		}
	}
	if _, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: "_other"}), relay, browser); err == nil {
		t.Fatal("a response to another request was accepted")
	}
	if n := replay.Len(); n != 0 {
		t.Fatalf("refused responses left %d replay records", n)
	}
	if _, err := e.login(samltest.ResponseOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := replay.Len(); n != 2 {
		t.Fatalf("a login left %d replay records; want 2 (assertion and pending login)", n)
	}
}

// TestReplayCacheFailureRefuses: a replay cache that cannot record refuses
// the login with its Reason (fail closed).
func TestReplayCacheFailureRefuses(t *testing.T) {
	for _, reason := range []sso.Reason{sso.ReasonStoreFull, sso.ReasonUnavailable, sso.ReasonInternal} {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.ReplayCache = ssotest.FailingReplayCache{Reason: reason} })
		_, err := e.login(samltest.ResponseOptions{})
		wantReason(t, err, reason)
	}
}

func TestClockSkew(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	// An IdP clock 2 minutes ahead is tolerated, 5 minutes is not.
	if _, err := e.complete(e.response(samltest.ResponseOptions{Now: t0.Add(2 * time.Minute)}), "", ""); err != nil {
		t.Fatalf("2m ahead: %v", err)
	}
	_, err := e.complete(e.response(samltest.ResponseOptions{Now: t0.Add(5 * time.Minute)}), "", "")
	wantReason(t, err, sso.ReasonNotYetValid)
	// Expiry: the assertion lives 5 minutes; 5m+2m later it is still
	// inside the skew, 5m+4m later it is expired.
	if _, err := e.complete(e.response(samltest.ResponseOptions{Now: t0.Add(-7 * time.Minute)}), "", ""); err != nil {
		t.Fatalf("expired within skew: %v", err)
	}
	_, err = e.complete(e.response(samltest.ResponseOptions{Now: t0.Add(-9 * time.Minute)}), "", "")
	wantReason(t, err, sso.ReasonExpired)

	strict := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true; c.ClockSkew = time.Second })
	_, err = strict.complete(strict.response(samltest.ResponseOptions{Now: t0.Add(2 * time.Minute)}), "", "")
	wantReason(t, err, sso.ReasonNotYetValid)
}

func TestMalformedInput(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true; c.MaxResponseBytes = 20000 })
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range []struct {
		name, value string
		want        sso.Reason
	}{
		{"missing", "", sso.ReasonInvalidRequest},
		{"not base64", "%%%", sso.ReasonMalformed},
		{"not xml", b64([]byte("hello")), sso.ReasonMalformed},
		{"truncated", b64([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`)), sso.ReasonMalformed},
		{"not a response", b64([]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)), sso.ReasonMalformed},
		{"doctype lower case", b64([]byte(`<?xml version="1.0"?><!doctype x><x/>`)), sso.ReasonDoctypeForbidden},
		{"too large", b64(bytes.Repeat([]byte("<a/>"), 6000)), sso.ReasonRequestTooLarge},
		{"too large encoded", strings.Repeat("A", 40000), sso.ReasonRequestTooLarge},
		{"deeply nested", b64([]byte(strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200))), sso.ReasonMalformed},
		{"status failure", b64([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode><samlp:StatusMessage>locked</samlp:StatusMessage></samlp:Status></samlp:Response>`)), sso.ReasonIdPError},
		{"no passive", b64([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/></samlp:StatusCode></samlp:Status></samlp:Response>`)), sso.ReasonAuthenticationRequired},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.complete(c.value, "", "")
			wantReason(t, err, c.want)
		})
	}
}

func TestExpiredIdPCertificate(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("expired IdP", t0.Add(-400*24*time.Hour), t0.Add(-35*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idpCfg := samltest.Config{Key: key, Certificate: cert}
	e := newEnv(t, idpCfg, nil)
	id, err := e.login(samltest.ResponseOptions{})
	if err != nil {
		t.Fatalf("default accepts a signature by an expired certificate: %v", err)
	}
	if len(id.Warnings) != 1 || id.Warnings[0].Reason != sso.ReasonCertificateExpired {
		t.Fatalf("warnings = %v; want one certificate_expired", id.Warnings)
	}
	if ev := e.events.of(sso.EventWarning); len(ev) != 1 || ev[0].Reason != sso.ReasonCertificateExpired || ev[0].Connection != "c1" {
		t.Fatalf("warning events = %+v", ev)
	}
	if ev := e.events.of(sso.EventCertificateExpired); len(ev) != 1 || ev[0].Attrs["role"] != "idp_signing" {
		t.Fatalf("certificate_expired events at New = %+v", ev)
	}

	strict := newEnv(t, idpCfg, func(c *saml.Config) { c.RejectExpiredCertificates = true })
	_, err = strict.login(samltest.ResponseOptions{})
	wantReason(t, err, sso.ReasonCertificateExpired)
}

func TestCertificateExpiringEvent(t *testing.T) {
	key, cert, _ := samltest.GenerateKeyPair("soon", t0.Add(-300*24*time.Hour), t0.Add(10*24*time.Hour))
	spKey, spCert, _ := samltest.GenerateKeyPair("sp soon", t0.Add(-300*24*time.Hour), t0.Add(20*24*time.Hour))
	e := newEnv(t, samltest.Config{Key: key, Certificate: cert}, func(c *saml.Config) {
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(spKey, spCert)}
	})
	ev := e.events.of(sso.EventCertificateExpiring)
	if len(ev) != 2 || ev[0].Attrs["role"] != "idp_signing" || ev[0].Attrs["days_left"] != "10" || ev[1].Attrs["role"] != "sp" {
		t.Fatalf("certificate_expiring events = %+v", ev)
	}
	// Complete re-checks once a day.
	e.clock.Advance(25 * time.Hour)
	if _, err := e.login(samltest.ResponseOptions{Now: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.events.of(sso.EventCertificateExpiring)); n != 4 {
		t.Fatalf("%d certificate_expiring events after a day; want 4", n)
	}
	// A host's daily job gets the same findings without any login.
	ws := e.sp.CheckCertificates(context.Background())
	if len(ws) != 2 || ws[0].Reason != sso.ReasonCertificateExpired || !strings.Contains(ws[0].Detail, "IdP signing certificate") || !strings.Contains(ws[1].Detail, "service provider certificate") {
		t.Fatalf("CheckCertificates = %v", ws)
	}
	if n := len(e.events.of(sso.EventCertificateExpiring)); n != 6 {
		t.Fatalf("%d certificate_expiring events after CheckCertificates; want 6", n)
	}
	// Two weeks on, the IdP certificate has expired and the SP one is due.
	e.clock.Advance(14 * 24 * time.Hour)
	if ws := e.sp.CheckCertificates(context.Background()); len(ws) != 2 {
		t.Fatalf("CheckCertificates after expiry = %v", ws)
	}
	if ev := e.events.of(sso.EventCertificateExpired); len(ev) != 1 || ev[0].Attrs["role"] != "idp_signing" {
		t.Fatalf("certificate_expired events = %+v", ev)
	}
	// Certificates far from expiry give nothing.
	quiet := newEnv(t, samltest.Config{}, nil)
	if ws := quiet.sp.CheckCertificates(context.Background()); len(ws) != 0 {
		t.Fatalf("CheckCertificates with valid certificates = %v", ws)
	}
}

// TestRollover: two trusted certificates; responses signed by either are
// accepted, with or without KeyInfo; a third key is refused.
func TestRollover(t *testing.T) {
	oldKey, oldCert, _ := samltest.GenerateKeyPair("old", t0.Add(-time.Hour), t0.Add(time.Hour*24*365))
	newKey, newCert, _ := samltest.GenerateKeyPair("new", t0.Add(-time.Hour), t0.Add(time.Hour*24*365))
	otherKey, otherCert, _ := samltest.GenerateKeyPair("other", t0.Add(-time.Hour), t0.Add(time.Hour*24*365))
	mk := func(k *rsa.PrivateKey, c *x509.Certificate) *samltest.Server {
		return samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Key: k, Certificate: c, Now: func() time.Time { return t0 },
			ServiceProviders: []samltest.ServiceProvider{{EntityID: spEntity, ACSURL: acsURL}}})
	}
	oldIdP, newIdP, otherIdP := mk(oldKey, oldCert), mk(newKey, newCert), mk(otherKey, otherCert)
	for _, form := range []string{"pem", "base64-lines"} {
		var certs [][]byte
		if form == "pem" {
			certs = [][]byte{append(samltest.CertificatePEM(oldCert), samltest.CertificatePEM(newCert)...)}
		} else {
			certs = [][]byte{[]byte(wrap(base64.StdEncoding.EncodeToString(oldCert.Raw), 64)), []byte(base64.StdEncoding.EncodeToString(newCert.Raw))}
		}
		sp, err := saml.New(context.Background(), saml.Config{
			ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPEntityID: oldIdP.EntityID(), IdPSSOURL: oldIdP.SSOURL(),
			IdPCertificates: certs, AllowIdPInitiated: true, Now: func() time.Time { return t0 },
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(sp.IdP().Certificates); n != 2 {
			t.Fatalf("%s: %d trusted certificates; want 2", form, n)
		}
		for _, omit := range []bool{false, true} {
			for name, idp := range map[string]*samltest.Server{"old": oldIdP, "new": newIdP} {
				enc, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "bob@example.com", OmitKeyInfo: omit})
				id, err := sp.ValidateResponse(context.Background(), enc, "")
				if err != nil {
					t.Errorf("%s: signed by %s cert, omitKeyInfo %v: %v", form, name, omit, err)
					continue
				}
				// SignedBy says which of the two certificates verified it.
				want := saml.DescribeCertificate(map[string]*x509.Certificate{"old": oldCert, "new": newCert}[name]).SHA256
				if id.SignedBy != want {
					t.Errorf("%s: signed by %s cert: SignedBy = %q; want %q", form, name, id.SignedBy, want)
				}
			}
			enc, _ := otherIdP.EncodedResponse(samltest.ResponseOptions{User: "bob@example.com", OmitKeyInfo: omit})
			_, err := sp.ValidateResponse(context.Background(), enc, "")
			if omit {
				wantReason(t, err, sso.ReasonSignatureInvalid)
			} else {
				wantReason(t, err, sso.ReasonUntrustedKey)
			}
		}
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestSubjectAndAttributes(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.SubjectAttribute = "UID"
		c.TrustEmail = true
		c.AllowIdPInitiated = true
	})
	resp := e.response(samltest.ResponseOptions{
		NameID: "T5014CD", NameIDFormat: saml.NameIDFormatUnspecified,
		Attributes: map[string][]string{
			"UID": {"T5014CD"}, "Email": {"David.Smith@Example.COM"}, "First name": {"David"}, "Last name": {"Smith"},
			"Department": {"Shipping"}, "Roles": {"Clerk, Manager ,Clerk"}, "Language": {"1"}, "SSOModule": {"SAML2"},
			"email": nil, "givenName": nil, "sn": nil, "department": nil, "groups": nil, "displayName": nil,
		},
		ExtraAttributes: []samltest.Attribute{
			{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.7", FriendlyName: "eduPersonEntitlement", Values: []string{"a"}},
			{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.7", Values: []string{"b", "c"}},
		},
	})
	id, err := e.complete(resp, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "T5014CD" || id.SubjectFormat != "UID" {
		t.Errorf("subject = %q (%q)", id.Subject, id.SubjectFormat)
	}
	if id.Attributes[saml.AttributeNameID][0] != "T5014CD" || id.Attributes[saml.AttributeNameIDFormat][0] != saml.NameIDFormatUnspecified {
		t.Errorf("NameID kept as %v", id.Attributes)
	}
	if id.Email != "David.Smith@example.com" || !id.EmailVerified {
		t.Errorf("email = %q verified %v", id.Email, id.EmailVerified)
	}
	if id.GivenName != "David" || id.FamilyName != "Smith" || id.FirstAttribute("department") != "Shipping" || id.FirstAttribute("language") != "1" || id.FirstAttribute("ssomodule") != "SAML2" {
		t.Errorf("mapped = %+v", id)
	}
	if strings.Join(id.Groups, "|") != "Clerk|Manager" {
		t.Errorf("groups = %q; want comma-separated roles split and deduplicated", id.Groups)
	}
	// Repeated Attribute elements merge in document order; FriendlyName
	// finds them too.
	if got := strings.Join(id.Attributes["urn:oid:1.3.6.1.4.1.5923.1.1.1.7"], ","); got != "a,b,c" {
		t.Errorf("repeated attribute = %q; want a,b,c", got)
	}

	_, err = e.complete(e.response(samltest.ResponseOptions{User: "bob@example.com"}), "", "")
	wantReason(t, err, sso.ReasonSubjectMissing)
}

// TestAttributeLookup: mapped attributes are found by Name, by
// FriendlyName, and by Name in another letter case; xsi:nil values are
// no values; missing optional attributes leave fields empty.
func TestAttributeLookup(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.AllowIdPInitiated = true
		c.Attributes = sso.AttributeMap{FamilyName: []string{"ou"}, DisplayName: []string{"PREFERREDLANGUAGE"}, Groups: []string{}}
	})
	addNil := func(a *etree.Element) {
		st := a.FindElement("./AttributeStatement")
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", "module")
		v := at.CreateElement("saml:AttributeValue")
		v.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
		v.CreateAttr("xsi:nil", "true")
		// nil in another namespace is an ordinary attribute.
		v2 := at.CreateElement("saml:AttributeValue")
		v2.CreateAttr("xmlns:x", "urn:example:other")
		v2.CreateAttr("x:nil", "true")
		v2.SetText("M2")
	}
	id, err := e.complete(e.response(samltest.ResponseOptions{
		Attributes:      map[string][]string{"department": nil, "groups": nil, "preferredLanguage": {"de"}},
		ExtraAttributes: []samltest.Attribute{{Name: "urn:oid:2.5.4.11", FriendlyName: "ou", Values: []string{"Research"}}},
		EditAssertion:   addNil,
	}), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.FamilyName != "Research" || id.DisplayName != "de" || len(id.Groups) != 0 {
		t.Errorf("family name (by FriendlyName) %q, display name (by Name in another case) %q, groups %v", id.FamilyName, id.DisplayName, id.Groups)
	}
	if got := id.Attributes["module"]; len(got) != 1 || got[0] != "M2" {
		t.Errorf("module values %q; want the xsi:nil value dropped", got)
	}
	if id.Email != "alice@example.com" || id.GivenName != "Alice" {
		t.Errorf("default mapping: %q %q", id.Email, id.GivenName)
	}
}

// TestSubjectSources: the subject is the NameID in each usual format, or a
// configured attribute such as the claim URI Entra ID and ADFS send.
func TestSubjectSources(t *testing.T) {
	const claim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	for _, format := range []string{saml.NameIDFormatEmailAddress, saml.NameIDFormatPersistent, saml.NameIDFormatUnspecified} {
		id, err := e.complete(e.response(samltest.ResponseOptions{NameID: "00u1ab2CD3", NameIDFormat: format}), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "00u1ab2CD3" || id.SubjectFormat != format {
			t.Errorf("%s: subject %q (%q)", format, id.Subject, id.SubjectFormat)
		}
	}
	byClaim := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true; c.SubjectAttribute = claim })
	id, err := byClaim.complete(byClaim.response(samltest.ResponseOptions{NameID: "00u1ab2CD3", NameIDFormat: saml.NameIDFormatPersistent,
		Attributes: map[string][]string{claim: {"Dana.Doe@Example.com"}}}), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "Dana.Doe@Example.com" || id.SubjectFormat != claim || id.Email != "Dana.Doe@example.com" {
		t.Errorf("subject %q (%q), email %q", id.Subject, id.SubjectFormat, id.Email)
	}
}

func TestEmailFromNameID(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	noEmail := map[string][]string{"email": nil}
	for _, c := range []struct{ nameID, format, want string }{
		{"Eve@Example.ORG", saml.NameIDFormatEmailAddress, "Eve@example.org"},
		{"eve@example.org", saml.NameIDFormatUnspecified, "eve@example.org"},
		{"eve@example.org", saml.NameIDFormatPersistent, ""},
		{"not-an-email", saml.NameIDFormatEmailAddress, ""},
	} {
		id, err := e.complete(e.response(samltest.ResponseOptions{NameID: c.nameID, NameIDFormat: c.format, Attributes: noEmail}), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if id.Email != c.want {
			t.Errorf("NameID %q (%s): email %q; want %q", c.nameID, c.format, id.Email, c.want)
		}
		if c.nameID == "not-an-email" && (len(id.Warnings) != 1 || id.Warnings[0].Reason != sso.ReasonInvalidEmail) {
			t.Errorf("invalid email: warnings %v", id.Warnings)
		}
	}
}

func TestTransientNameIDWarning(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	id, err := e.login(samltest.ResponseOptions{NameID: "_8f2c", NameIDFormat: saml.NameIDFormatTransient})
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Warnings) != 1 || !strings.Contains(id.Warnings[0].Detail, "transient") {
		t.Fatalf("warnings = %v", id.Warnings)
	}
}

// TestEmailMismatchWarning: an email attribute naming another address than
// an email-format NameID is a warning an administrator sees; the same
// address in another ASCII case is not.
func TestEmailMismatchWarning(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	for _, c := range []struct {
		email string
		warn  bool
	}{
		{"bob@example.com", true},
		{"Alice@Example.com", false},
	} {
		id, err := e.login(samltest.ResponseOptions{User: "alice@example.com", NameIDFormat: saml.NameIDFormatEmailAddress,
			Attributes: map[string][]string{"email": {c.email}}})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(id.Warnings, func(w sso.Warning) bool { return w.Reason == sso.ReasonEmailMismatch })
		if got != c.warn || id.Subject != "alice@example.com" {
			t.Errorf("email %s: warnings %v, subject %s", c.email, id.Warnings, id.Subject)
		}
	}
}

func TestDebugLogging(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.Debug = true
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	_, err := e.login(samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{WrongAudience: true}})
	wantReason(t, err, sso.ReasonAudienceMismatch) // debug never loosens a check
	out := buf.String()
	for _, want := range []string{"saml: AuthnRequest", "saml: response received", "AttributeStatement", "saml: response rejected", "reason=audience_mismatch", "AudienceRestriction", "expected=" + spEntity} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	quiet := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	_, _ = quiet.login(samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{WrongAudience: true}})
	if buf.Len() != 0 {
		t.Errorf("logged without Debug: %s", buf.String())
	}
}

func TestCompleteRequestErrors(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	_, err := e.sp.Complete(context.Background(), sso.CompleteRequest{Params: url.Values{}})
	wantReason(t, err, sso.ReasonInvalidRequest)
}

// TestConcurrentLogins runs logins, logouts and metadata reads in
// parallel on one connection (run with -race).
func TestConcurrentLogins(t *testing.T) {
	e := newEnv(t, samltest.Config{Sign: samltest.SignBoth}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				binding := fmt.Sprintf("browser-%d-%d", g, i)
				step, err := e.sp.Begin(context.Background(), sso.BeginRequest{Binding: binding})
				if err != nil {
					errs <- err
					return
				}
				_, form, err := e.idp.RespondTo(step, samltest.ResponseOptions{User: "bob@example.com"})
				if err != nil {
					errs <- err
					return
				}
				if _, err := e.sp.Complete(context.Background(), sso.CompleteRequest{Binding: binding, Params: form}); err != nil {
					errs <- err
					return
				}
				if _, err := e.sp.Metadata(); err != nil {
					errs <- err
				}
				_ = e.sp.IdP()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
