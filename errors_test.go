package sso_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

func TestErrorIsAsAndMessage(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	var err error = &sso.Error{Op: "saml.Complete", Reason: sso.ReasonAudienceMismatch, Connection: "acme",
		Detail: "the assertion is for another service provider", Expected: "https://sp", Actual: "https://other", Err: cause}
	err = fmt.Errorf("login: %w", err)

	if !errors.Is(err, sso.ReasonAudienceMismatch) {
		t.Error("errors.Is(err, Reason) = false")
	}
	if errors.Is(err, sso.ReasonReplayed) {
		t.Error("errors.Is matched another Reason")
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("cause not reachable through Unwrap")
	}
	var e *sso.Error
	if !errors.As(err, &e) || e.Connection != "acme" {
		t.Fatalf("errors.As failed: %v", err)
	}
	want := `login: saml.Complete: connection "acme": audience_mismatch: the assertion is for another service provider (expected "https://sp", got "https://other"): unexpected EOF`
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err.Error(), want)
	}
	if got := sso.ReasonOf(err); got != sso.ReasonAudienceMismatch {
		t.Errorf("ReasonOf = %q", got)
	}
	if got := sso.ReasonOf(errors.New("x")); got != sso.ReasonInternal {
		t.Errorf("ReasonOf(plain) = %q", got)
	}
	if got := sso.ReasonOf(nil); got != "" {
		t.Errorf("ReasonOf(nil) = %q", got)
	}
	if got := sso.ReasonOf(fmt.Errorf("w: %w", sso.ReasonSSORequired)); got != sso.ReasonSSORequired {
		t.Errorf("ReasonOf(wrapped reason) = %q", got)
	}
}

func TestUserMessageHidesDetail(t *testing.T) {
	for _, r := range []sso.Reason{sso.ReasonSignatureInvalid, sso.ReasonUntrustedKey, sso.ReasonAudienceMismatch, sso.ReasonLDAPUserNotFound} {
		m := r.UserMessage()
		if m == "" || strings.Contains(m, string(r)) || strings.Contains(strings.ToLower(m), "signature") {
			t.Errorf("%s: user message %q reveals the check", r, m)
		}
	}
	// A full store tells the user to come back later, not a generic failure.
	if m := sso.ReasonStoreFull.UserMessage(); m == sso.ReasonInternal.UserMessage() || !strings.Contains(m, "try again") {
		t.Errorf("store_full user message %q does not ask to try again later", m)
	}
	// A configuration fault does not ask the person to try again.
	for _, r := range []sso.Reason{sso.ReasonUntrustedKey, sso.ReasonAudienceMismatch, sso.ReasonInvalidConfig, sso.ReasonMetadataInvalid} {
		if m := r.UserMessage(); !r.ConfigurationFault() || strings.Contains(strings.ToLower(m), "try again") || !strings.Contains(m, "administrator") {
			t.Errorf("%s: user message %q asks to try again, or does not send to the administrator", r, m)
		}
	}
	if sso.ReasonStateMissing.ConfigurationFault() || sso.ReasonReplayed.ConfigurationFault() || sso.ReasonUnavailable.ConfigurationFault() {
		t.Error("a one-off failure counts as a configuration fault")
	}
	// A missing user and a wrong password read the same.
	if sso.ReasonLDAPUserNotFound.UserMessage() != sso.ReasonInvalidCredentials.UserMessage() {
		t.Error("user-not-found message differs from invalid-credentials message")
	}
}

func TestSecretRedacts(t *testing.T) {
	s := sso.Secret("hunter2")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %+v %#v", s, s, struct{ P sso.Secret }{s}, s)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	b, _ := s.MarshalJSON()
	if strings.Contains(string(b), "hunter2") {
		t.Error("secret leaked in JSON")
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal")
	}
}

func TestBinding(t *testing.T) {
	b := sso.NewBinding()
	if len(b) < 43 || b == sso.NewBinding() {
		t.Fatalf("binding %q too short or not random", b)
	}
}

// TestReasonLabel: every Reason of the package has a plain label, not its
// code.
func TestReasonLabel(t *testing.T) {
	for _, r := range []sso.Reason{sso.ReasonUntrustedKey, sso.ReasonUserNotProvisioned, sso.ReasonSSORequired, sso.ReasonStateMissing, sso.ReasonInvalidCredentials} {
		if l := r.Label(); l == "" || l == string(r) || strings.Contains(l, "_") {
			t.Errorf("%s: label %q", r, l)
		}
	}
	if got := sso.Reason("made_up").Label(); got != "made_up" {
		t.Errorf("unknown reason label %q", got)
	}
}
