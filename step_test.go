package sso_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/sso"
)

func TestStepWrite(t *testing.T) {
	r := httptest.NewRequest("GET", "/login", nil)

	w := httptest.NewRecorder()
	s := &sso.Step{Kind: sso.StepRedirect, URL: "https://idp.example/sso?SAMLRequest=x"}
	if err := s.Write(w, r); err != nil {
		t.Fatal(err)
	}
	if w.Code != 303 || w.Header().Get("Location") != s.URL || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("redirect: %d %v", w.Code, w.Header())
	}

	w = httptest.NewRecorder()
	s = &sso.Step{Kind: sso.StepPostForm, URL: "https://idp.example/sso", Form: url.Values{"SAMLRequest": {`a"><script>x</script>`}, "RelayState": {"rs"}}}
	if err := s.Write(w, r); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>x") {
		t.Fatal("form value not escaped")
	}
	if !strings.Contains(body, `action="https://idp.example/sso"`) || !strings.Contains(body, `name="RelayState" value="rs"`) {
		t.Fatalf("form body:\n%s", body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") {
		t.Fatalf("CSP = %q", csp)
	}

	if err := (&sso.Step{Kind: sso.StepPasswordPrompt}).Write(httptest.NewRecorder(), r); err == nil {
		t.Fatal("password prompt written")
	}
}
