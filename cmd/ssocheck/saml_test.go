package main

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

const (
	testSP  = "https://app.example.test/saml/acme/metadata"
	testACS = "https://app.example.test/saml/acme/acs"
)

var samlT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type samlFixture struct {
	dir      string
	idp      *samltest.Server
	metadata string // file
	cert     string // file
}

func newSAMLFixture(t *testing.T) *samlFixture {
	t.Helper()
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Now: func() time.Time { return samlT0 },
		ServiceProviders: []samltest.ServiceProvider{{EntityID: testSP, ACSURL: testACS}}})
	f := &samlFixture{dir: t.TempDir(), idp: idp}
	f.metadata = f.write(t, "idp-metadata.xml", idp.Metadata())
	f.cert = f.write(t, "idp-cert.pem", idp.CertificatePEM())
	return f
}

func (f *samlFixture) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *samlFixture) response(t *testing.T, opts samltest.ResponseOptions) []byte {
	t.Helper()
	if opts.User == "" {
		opts.User = "alice@example.com"
	}
	b, err := f.idp.Response(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runCmd(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSAMLResponseAccepted(t *testing.T) {
	f := newSAMLFixture(t)
	now := "--now=" + samlT0.Format(time.RFC3339)
	common := []string{"saml", "response", "--sp-entity-id", testSP, "--acs-url", testACS, now}

	// Raw XML from a file, metadata, the pending request's ID.
	file := f.write(t, "resp.xml", f.response(t, samltest.ResponseOptions{InResponseTo: "_req1"}))
	code, out, errs := runCmd(t, nil, append(common, "--idp-metadata", f.metadata, "--request-id", "_req1", file)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var got struct {
		Subject      string              `json:"subject"`
		NameIDFormat string              `json:"nameid_format"`
		Email        string              `json:"email"`
		Attributes   map[string][]string `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Subject != "alice@example.com" || got.NameIDFormat != saml.NameIDFormatEmailAddress || got.Email != "alice@example.com" ||
		strings.Join(got.Attributes["groups"], ",") != "admins,staff" {
		t.Fatalf("output = %s", out)
	}

	// base64 (wrapped) on stdin, two certificates, IdP-initiated; flags
	// after the file work too.
	_, other, _ := samltest.GenerateKeyPair("next", samlT0.Add(-time.Hour), samlT0.Add(time.Hour))
	next := f.write(t, "next.pem", samltest.CertificatePEM(other))
	b64 := base64.StdEncoding.EncodeToString(f.response(t, samltest.ResponseOptions{User: "bob@example.com"}))
	code, out, errs = runCmd(t, []byte(wrapLines(b64, 76)), append(common, "--idp-cert", next, "--idp-cert", f.cert, "--allow-idp-initiated")...)
	if code != exitOK || !strings.Contains(out, `"subject": "bob@example.com"`) || !strings.Contains(out, `"issuer": "https://idp.example.test/metadata"`) {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	// URL-encoded, as copied from a browser's developer tools.
	code, out, _ = runCmd(t, []byte(url.QueryEscape(base64.StdEncoding.EncodeToString(f.response(t, samltest.ResponseOptions{})))), append(common, "--idp-metadata", f.metadata, "--allow-idp-initiated")...)
	if code != exitOK {
		t.Fatalf("url-encoded: exit %d %s", code, out)
	}

	// Encrypted assertion with --sp-key.
	k, c, _ := samltest.GenerateKeyPair("sp", samlT0.Add(-time.Hour), samlT0.Add(time.Hour))
	key := f.write(t, "sp-key.pem", samltest.KeyPEM(k))
	enc := f.write(t, "enc.xml", f.response(t, samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: c}))
	code, out, errs = runCmd(t, nil, append(common, "--idp-metadata", f.metadata, "--allow-idp-initiated", "--sp-key", key, enc)...)
	if code != exitOK || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("encrypted: exit %d: %s %s", code, out, errs)
	}
	code, out, _ = runCmd(t, nil, append(common, "--idp-metadata", f.metadata, "--allow-idp-initiated", enc)...)
	if code != exitFail || !strings.Contains(out, `"reason": "decryption_failed"`) {
		t.Fatalf("encrypted without key: exit %d: %s", code, out)
	}
}

// TestSAMLResponseAsCaptured: the response as an administrator captures
// it: the browser's POST body, or a HAR file of the login (the last
// SAMLResponse posted in it counts).
func TestSAMLResponseAsCaptured(t *testing.T) {
	f := newSAMLFixture(t)
	args := []string{"saml", "response", "--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS,
		"--now", samlT0.Format(time.RFC3339), "--allow-idp-initiated"}
	b64 := func(user string) string {
		return base64.StdEncoding.EncodeToString(f.response(t, samltest.ResponseOptions{User: user}))
	}
	form := url.Values{"SAMLResponse": {b64("bob@example.com")}, "RelayState": {"xyz"}}.Encode()
	har := func(entries ...string) []byte {
		return []byte(`{"log": {"version": "1.2", "entries": [` + strings.Join(entries, ",") + `]}}`)
	}
	get := `{"request": {"method": "GET", "url": "https://idp.example.test/sso?SAMLRequest=abc"}}`
	postText := func(body string) string {
		b, _ := json.Marshal(body)
		return `{"request": {"method": "POST", "url": "` + testACS + `", "postData": {"mimeType": "application/x-www-form-urlencoded", "text": ` + string(b) + `}}}`
	}
	postParams := func(v string) string {
		return `{"request": {"method": "POST", "url": "` + testACS + `", "postData": {"params": [{"name": "RelayState", "value": "r"}, {"name": "SAMLResponse", "value": "` + v + `"}]}}}`
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"form body", []byte(form), "bob@example.com"},
		{"HAR, body text", har(get, postText(form)), "bob@example.com"},
		{"HAR, params URL-encoded", har(get, postParams(url.QueryEscape(b64("carol@example.com")))), "carol@example.com"},
		{"HAR, the last POST counts", har(postText(form), postParams(b64("carol@example.com"))), "carol@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, c.in, args...)
			if code != exitOK || !strings.Contains(out, `"subject": "`+c.want+`"`) {
				t.Fatalf("exit %d: %s %s", code, out, errs)
			}
		})
	}
	for name, in := range map[string][]byte{
		"HAR without a POST":    har(get),
		"not a HAR":             []byte(`{"foo": 1`),
		"form without response": []byte("SAMLResponse=&RelayState=x"),
	} {
		code, out, _ := runCmd(t, in, args...)
		if code != exitFail || !strings.Contains(out, `"reason": "malformed"`) {
			t.Errorf("%s: exit %d: %s", name, code, out)
		}
	}
}

// TestSAMLResponseIdPEntityID: with certificates only, --idp-entity-id
// checks the issuer: a response another IdP signed with the same key is
// refused.
func TestSAMLResponseIdPEntityID(t *testing.T) {
	f := newSAMLFixture(t)
	resp := f.write(t, "r.xml", f.response(t, samltest.ResponseOptions{}))
	args := []string{"saml", "response", "--idp-cert", f.cert, "--sp-entity-id", testSP, "--acs-url", testACS,
		"--now", samlT0.Format(time.RFC3339), "--allow-idp-initiated", resp}
	if code, out, errs := runCmd(t, nil, append(args, "--idp-entity-id", "https://idp.example.test/metadata")...); code != exitOK {
		t.Fatalf("the right issuer: exit %d: %s %s", code, out, errs)
	}
	code, out, _ := runCmd(t, nil, append(args, "--idp-entity-id", "https://other-idp.example.test/metadata")...)
	if code != exitFail || !strings.Contains(out, `"reason": "issuer_mismatch"`) {
		t.Fatalf("another issuer: exit %d: %s", code, out)
	}
	if code, _, errs := runCmd(t, nil, append(args[:2], "--idp-metadata", f.metadata, "--idp-entity-id", "x", "--sp-entity-id", testSP, "--acs-url", testACS, resp)...); code != exitUsage {
		t.Fatalf("--idp-entity-id with --idp-metadata: exit %d %s", code, errs)
	}
}

func wrapLines(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s + "\n"
}

func TestSAMLResponseRejected(t *testing.T) {
	f := newSAMLFixture(t)
	base := []string{"saml", "response", "--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, "--now", samlT0.Format(time.RFC3339)}
	for _, c := range []struct {
		name   string
		opts   samltest.ResponseOptions
		extra  []string
		reason string
	}{
		{"wrong audience", samltest.ResponseOptions{InResponseTo: "_r", Misbehavior: samltest.Misbehavior{WrongAudience: true}}, []string{"--request-id", "_r"}, "audience_mismatch"},
		{"other request", samltest.ResponseOptions{InResponseTo: "_r"}, []string{"--request-id", "_other"}, "in_response_to_mismatch"},
		{"no pending request given", samltest.ResponseOptions{InResponseTo: "_r"}, []string{"--allow-idp-initiated"}, "in_response_to_mismatch"},
		{"unsolicited", samltest.ResponseOptions{}, nil, "unsolicited"},
		{"sha1", samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{SHA1: true}}, []string{"--allow-idp-initiated"}, "algorithm_not_allowed"},
		{"wrapped", samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInsideForged}}, []string{"--allow-idp-initiated"}, "assertion_count"},
		{"expired at --now", samltest.ResponseOptions{Now: samlT0.Add(-time.Hour)}, []string{"--allow-idp-initiated"}, "expired"},
		{"outside --skew", samltest.ResponseOptions{Now: samlT0.Add(-7 * time.Minute)}, []string{"--allow-idp-initiated", "--skew", "1m"}, "expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := f.write(t, "r.xml", f.response(t, c.opts))
			code, out, errs := runCmd(t, nil, append(append(base, c.extra...), file)...)
			if code != exitFail {
				t.Fatalf("exit %d: %s %s", code, out, errs)
			}
			var e errorJSON
			if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error.Reason != c.reason || e.Error.Detail == "" {
				t.Fatalf("output %s; want reason %s", out, c.reason)
			}
		})
	}
	// SHA-1 passes with --allow-sha1; a wider --skew accepts an old one.
	file := f.write(t, "sha1.xml", f.response(t, samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{SHA1: true}}))
	if code, out, _ := runCmd(t, nil, append(base, "--allow-idp-initiated", "--allow-sha1", file)...); code != exitOK {
		t.Fatalf("--allow-sha1: %d %s", code, out)
	}
	file = f.write(t, "old.xml", f.response(t, samltest.ResponseOptions{Now: samlT0.Add(-7 * time.Minute)}))
	if code, out, _ := runCmd(t, nil, append(base, "--allow-idp-initiated", "--skew", "5m", file)...); code != exitOK {
		t.Fatalf("--skew 5m: %d %s", code, out)
	}
}

func TestSAMLResponseUsage(t *testing.T) {
	f := newSAMLFixture(t)
	resp := f.write(t, "r.xml", f.response(t, samltest.ResponseOptions{}))
	bad := f.write(t, "bad.pem", []byte("not a certificate"))
	for name, args := range map[string][]string{
		"no flags":         {},
		"no entity id":     {"--idp-metadata", f.metadata, "--acs-url", testACS, resp},
		"no acs":           {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, resp},
		"no idp":           {"--sp-entity-id", testSP, "--acs-url", testACS, resp},
		"both idp sources": {"--idp-metadata", f.metadata, "--idp-cert", f.cert, "--sp-entity-id", testSP, "--acs-url", testACS, resp},
		"bad now":          {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, "--now", "yesterday", resp},
		"bad skew":         {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, "--skew", "soon", resp},
		"unknown flag":     {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, "--frobnicate", resp},
		"two files":        {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, resp, resp},
		"missing file":     {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, filepath.Join(f.dir, "nope.xml")},
		"missing metadata": {"--idp-metadata", filepath.Join(f.dir, "nope.xml"), "--sp-entity-id", testSP, "--acs-url", testACS, resp},
		"bad cert":         {"--idp-cert", bad, "--sp-entity-id", testSP, "--acs-url", testACS, resp},
		"relative acs":     {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", "/acs", resp},
		"empty response":   {"--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, f.write(t, "empty.xml", []byte(" \n"))},
	} {
		code, out, errs := runCmd(t, nil, append([]string{"saml", "response"}, args...)...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, out, errs)
		}
	}
	// Content that is not a SAML message is a rejection, not a usage error.
	for name, content := range map[string]string{"text": "not a certificate", "NUL byte": "\x00\n", "base64 of text": base64.StdEncoding.EncodeToString([]byte("hello"))} {
		file := f.write(t, "garbage.xml", []byte(content))
		code, out, _ := runCmd(t, nil, "saml", "response", "--idp-metadata", f.metadata, "--sp-entity-id", testSP, "--acs-url", testACS, file)
		if code != exitFail || !strings.Contains(out, `"reason": "malformed"`) {
			t.Errorf("%s: exit %d, stdout %q; want 1 and reason malformed", name, code, out)
		}
	}
	if code, _, errs := runCmd(t, nil, "saml", "response", "--help"); code != exitOK || !strings.Contains(errs, "--request-id") {
		t.Errorf("--help: %d %s", code, errs)
	}
}

func TestSAMLMetadata(t *testing.T) {
	f := newSAMLFixture(t)
	code, out, errs := runCmd(t, nil, "saml", "metadata", f.metadata)
	if code != exitOK || !strings.Contains(out, `"entity_id": "https://idp.example.test/metadata"`) || !strings.Contains(out, `"problems"`) {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	noCert := f.write(t, "nocert.xml", []byte(cutBetween(string(f.idp.Metadata()), "<md:KeyDescriptor", "</md:KeyDescriptor>")))
	code, out, _ = runCmd(t, nil, "saml", "metadata", noCert)
	if code != exitFail || !strings.Contains(out, "no signing certificate") {
		t.Fatalf("no cert: exit %d: %s", code, out)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(f.idp.Metadata()) }))
	defer srv.Close()
	code, out, _ = runCmd(t, nil, "saml", "metadata", srv.URL+"/md")
	if code != exitFail || !strings.Contains(out, "address_not_allowed") || !strings.Contains(out, "--allow-http") {
		t.Fatalf("guarded fetch: exit %d: %s", code, out)
	}
	code, out, _ = runCmd(t, nil, "saml", "metadata", "--allow-http", "--allow-private-network", srv.URL+"/md")
	if code != exitOK {
		t.Fatalf("fetch: exit %d: %s", code, out)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {filepath.Join(f.dir, "nope.xml")}, {"--bogus", f.metadata}} {
		if code, _, _ := runCmd(t, nil, append([]string{"saml", "metadata"}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func cutBetween(s, from, to string) string {
	i, j := strings.Index(s, from), strings.Index(s, to)
	return s[:i] + s[j+len(to):]
}

// TestSAMLResponseCorpus runs the corpus of real and hostile IdP responses
// through the command, as its README prescribes for a command-line
// checker: the case's metadata, SP key and clock, SHA-1 allowed, 5 minutes
// of skew, and the response's own InResponseTo as --request-id. It reads
// the corpus in place and skips when it is absent.
func TestSAMLResponseCorpus(t *testing.T) {
	dir := os.Getenv("SSOKIT_SAML_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "saml")
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Skipf("SAML corpus not available (%v); set SSOKIT_SAML_CORPUS to its directory to run it", err)
	}
	r := csv.NewReader(bytes.NewReader(manifest))
	r.Comma, r.LazyQuotes = '\t', true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	irt := regexp.MustCompile(`InResponseTo="([^"]*)"`)
	accepted, accepts := 0, 0
	for _, row := range rows[1:] {
		name, expect, now, entity, acs, nameID := row[0], row[3], row[5], row[6], row[7], row[8]
		caseDir := filepath.Join(dir, name)
		resp := filepath.Join(caseDir, "response.xml")
		raw, err := os.ReadFile(resp)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"saml", "response", "--idp-metadata", filepath.Join(caseDir, "idp-metadata.xml"),
			"--sp-entity-id", entity, "--acs-url", acs, "--now", now, "--skew", "5m", "--allow-sha1"}
		if m := irt.FindSubmatch(raw); m != nil {
			args = append(args, "--request-id", string(m[1]))
		} else {
			args = append(args, "--allow-idp-initiated")
		}
		if _, err := os.Stat(filepath.Join(caseDir, "sp-key.pem")); err == nil {
			args = append(args, "--sp-key", filepath.Join(caseDir, "sp-key.pem"))
		}
		code, out, errs := runCmd(t, nil, append(args, resp)...)
		switch expect {
		case "reject":
			var e errorJSON
			if code != exitFail || json.Unmarshal([]byte(out), &e) != nil || e.Error.Reason == "" {
				t.Errorf("%s: exit %d, want 1 with a reason: %s %s", name, code, out, errs)
			}
		case "accept":
			accepts++
			var got samlIdentityJSON
			switch {
			case code == exitOK && json.Unmarshal([]byte(out), &got) == nil && got.Subject == nameID:
				accepted++
			case code == exitFail && name == "crewjam-secureworks-multiple-assertions" && strings.Contains(out, `"reason": "assertion_count"`):
				accepted++ // rejecting every multi-assertion response is right too
			default:
				t.Errorf("%s: exit %d, want 0 with subject %q: %s %s", name, code, nameID, out, errs)
			}
		}
	}
	t.Logf("corpus through ssocheck: %d/%d accept cases accepted, %d reject cases", accepted, accepts, len(rows)-1-accepts)
}
