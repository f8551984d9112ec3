package samltest_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

const sloURL = "https://app.example.test/saml/acme/slo"

// sloSP is a connection with single logout and an SP key, registered with
// idp with its SLO URL and certificate.
func sloSP(t *testing.T, idp *samltest.Server, postOnly bool) *saml.ServiceProvider {
	t.Helper()
	key, cert, err := samltest.GenerateKeyPair("sp", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sp := newSP(t, idp, func(c *saml.Config) {
		c.SLOURL = sloURL
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(key, cert)}
		if postOnly {
			c.IdPMetadataXML = regexp.MustCompile(`<md:SingleLogoutService Binding="`+saml.BindingHTTPRedirect+`"[^>]*/>`).ReplaceAll(c.IdPMetadataXML, nil)
		}
	})
	if err := idp.AddServiceProvider(samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL, SLOURL: sloURL, SigningCertificate: cert}); err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestIdPInitiatedLogout: the IdP sends a LogoutRequest by either binding;
// the service provider's LogoutResponse, followed by the browser to the
// IdP's /slo endpoint, is recorded there as verified and answering it.
func TestIdPInitiatedLogout(t *testing.T) {
	for _, c := range []struct {
		name     string
		binding  string
		postOnly bool
	}{
		{"request redirect, response redirect", saml.BindingHTTPRedirect, false},
		{"request post, response post", saml.BindingHTTPPost, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			idp := samltest.Start(t, samltest.Config{})
			sp := sloSP(t, idp, c.postOnly)
			step, reqID, err := idp.LogoutRequest(samltest.LogoutRequestOptions{User: "bob@example.com", SessionIndexes: []string{"s9"}, RelayState: "rs", Binding: c.binding})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(step.URL, sloURL) {
				t.Fatalf("the LogoutRequest goes to %s", step.URL)
			}
			req, err := samltest.CompleteRequestFor(step)
			if err != nil {
				t.Fatal(err)
			}
			var asked *sso.Identity
			out, err := sp.FinishLogout(context.Background(), req, func(_ context.Context, matches func(*sso.Identity) bool) (bool, error) {
				asked = &sso.Identity{Connection: "acme", Subject: "bob@example.com", SessionIndex: "s9"}
				if !matches(asked) {
					t.Error("bob's session does not match")
				}
				return false, nil
			})
			if err != nil || asked == nil || !out.Ended || out.Response == nil {
				t.Fatalf("FinishLogout: %+v %v", out, err)
			}
			answer := out.Response
			var resp *http.Response
			if answer.Kind == sso.StepRedirect {
				resp, _ = get(t, idp, answer.URL)
			} else {
				resp, _ = post(t, idp, answer.URL, answer.Form)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("IdP /slo answered %d", resp.StatusCode)
			}
			recs := idp.LogoutResponses()
			if len(recs) != 1 {
				t.Fatalf("the IdP recorded %d LogoutResponses", len(recs))
			}
			r := recs[0]
			if !r.KnownRequest || r.InResponseTo != reqID || !r.Signed || !r.Verified || !r.Success() || r.RelayState != "rs" || r.Issuer != spEntity || r.Binding != c.binding {
				t.Fatalf("LogoutResponse = %+v", r)
			}
			// A second delivery answers nothing the IdP is waiting for.
			if r, err := idp.ReceiveLogoutResponse(answer); err != nil || r.KnownRequest {
				t.Fatalf("second delivery: %+v %v", r, err)
			}
		})
	}
}

// TestLogoutRequestMisbehavior: each switch makes a LogoutRequest the
// service provider refuses for that reason.
func TestLogoutRequestMisbehavior(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{})
	sp := sloSP(t, idp, false)
	for _, c := range []struct {
		m    samltest.Misbehavior
		want sso.Reason
	}{
		{samltest.Misbehavior{Unsigned: true}, sso.ReasonSignatureMissing},
		{samltest.Misbehavior{WrongKey: true}, sso.ReasonSignatureInvalid},
		{samltest.Misbehavior{WrongIssuer: true}, sso.ReasonIssuerMismatch},
		{samltest.Misbehavior{WrongDestination: true}, sso.ReasonDestinationMismatch},
		{samltest.Misbehavior{Expired: true}, sso.ReasonExpired},
		{samltest.Misbehavior{SHA1: true}, sso.ReasonAlgorithmNotAllowed},
		{samltest.Misbehavior{Doctype: true}, sso.ReasonDoctypeForbidden},
		{samltest.Misbehavior{}, ""},
		{samltest.Misbehavior{Replay: true}, sso.ReasonReplayed},
	} {
		step, _, err := idp.LogoutRequest(samltest.LogoutRequestOptions{User: "alice@example.com", Misbehavior: c.m})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := samltest.CompleteRequestFor(step)
		_, err = sp.HandleLogoutRequest(context.Background(), req)
		if sso.ReasonOf(err) != c.want {
			t.Errorf("%+v: err = %v, want %s", c.m, err, c.want)
		}
	}

	if _, _, err := idp.LogoutRequest(samltest.LogoutRequestOptions{SP: "https://unknown.example/sp", User: "alice@example.com"}); err == nil {
		t.Error("LogoutRequest to a service provider without SLO URL")
	}
	if _, _, err := idp.LogoutRequest(samltest.LogoutRequestOptions{}); err == nil {
		t.Error("LogoutRequest without user")
	}
	if _, _, err := idp.LogoutRequest(samltest.LogoutRequestOptions{User: "alice@example.com", Binding: "urn:artifact"}); err == nil {
		t.Error("LogoutRequest with an unknown binding")
	}
	if _, err := samltest.CompleteRequestFor(&sso.Step{Kind: sso.StepPasswordPrompt}); err == nil {
		t.Error("CompleteRequestFor a password prompt")
	}
	if _, err := idp.ReceiveLogoutResponse(&sso.Step{Kind: sso.StepRedirect, URL: "https://elsewhere.example/slo?SAMLResponse=x"}); err == nil {
		t.Error("ReceiveLogoutResponse of a step to another URL")
	}
}
