package main

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/safehttp"
	"github.com/ssokit/sso/saml"
)

func init() {
	register("saml response", command{
		summary: "check a captured SAML response against a connection's settings",
		run:     runSAMLResponse,
	})
	register("saml metadata", command{
		summary: "check IdP metadata (file or URL) for compatibility",
		run:     runSAMLMetadata,
	})
}

const samlResponseUsage = `usage: ssocheck saml response (--idp-metadata FILE | --idp-cert FILE [--idp-cert FILE]... [--idp-entity-id ID])
        --sp-entity-id ID --acs-url URL [--request-id ID] [--now RFC3339] [--skew DURATION]
        [--allow-idp-initiated] [--allow-sha1] [--sp-key FILE] [FILE]

Checks a SAML response as the connection described by the flags would. The
response comes from FILE or stdin as an administrator captures it: raw XML,
base64, the browser's POST body (SAMLResponse=...&RelayState=...), or a HAR
file saved from the browser's developer tools (the last SAMLResponse posted
in it). Prints the identity as JSON and exits 0 when it is accepted; prints
{"error":{"reason","detail"}} and exits 1 when it is rejected; exits 2 on
usage errors.

Without --request-id the response is checked as IdP-initiated, which needs
--allow-idp-initiated; a response that answers a request (InResponseTo) then
fails. With --idp-cert, --idp-entity-id is the expected Issuer; without it
the issuer is not checked (a response from another IdP signed with the same
key would pass) and is printed.

flags:`

// samlIdentityJSON is the output of an accepted response.
type samlIdentityJSON struct {
	Subject      string              `json:"subject"`
	NameIDFormat string              `json:"nameid_format"`
	Email        string              `json:"email"`
	Attributes   map[string][]string `json:"attributes"`
	Issuer       string              `json:"issuer,omitempty"`
	Warnings     []string            `json:"warnings,omitempty"`
}

func runSAMLResponse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const name = "ssocheck saml response"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	metadata := fs.String("idp-metadata", "", "IdP metadata XML `FILE`")
	var certs stringList
	fs.Var(&certs, "idp-cert", "IdP signing certificate `FILE` (PEM, base64 or DER); repeat for rollover")
	idpEntityID := fs.String("idp-entity-id", "", "with --idp-cert: the IdP's entity `ID`, the expected Issuer")
	entityID := fs.String("sp-entity-id", "", "the service provider's entity `ID` (the expected Audience)")
	acsURL := fs.String("acs-url", "", "the ACS `URL` (the expected Destination and Recipient)")
	requestID := fs.String("request-id", "", "`ID` of the pending AuthnRequest the response must answer")
	nowFlag := fs.String("now", "", "check at this `RFC3339` time instead of now")
	skew := fs.Duration("skew", saml.DefaultClockSkew, "clock skew `DURATION` tolerated")
	allowIdP := fs.Bool("allow-idp-initiated", false, "accept an unsolicited (IdP-initiated) response")
	allowSHA1 := fs.Bool("allow-sha1", false, "accept RSA-SHA1 signatures and SHA-1 digests")
	spKey := fs.String("sp-key", "", "SP private key `FILE` (PEM) to decrypt encrypted assertions")
	fs.Usage = func() {
		fmt.Fprintln(stderr, samlResponseUsage)
		fs.PrintDefaults()
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return exitUsage
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	switch {
	case len(pos) > 1:
		return usage("give at most one response FILE")
	case *entityID == "":
		return usage("--sp-entity-id is required")
	case *acsURL == "":
		return usage("--acs-url is required")
	case (*metadata == "") == (len(certs) == 0):
		return usage("give either --idp-metadata or --idp-cert")
	case *idpEntityID != "" && *metadata != "":
		return usage("--idp-entity-id goes with --idp-cert; the metadata names the IdP's entity ID")
	case *skew < 0:
		return usage("--skew must not be negative")
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			return usage("--now %q is not an RFC 3339 time (e.g. 2024-05-01T12:00:00Z)", *nowFlag)
		}
		now = t
	}
	cfg := saml.Config{
		ID: "ssocheck", EntityID: *entityID, ACSURL: *acsURL,
		AllowIdPInitiated: *allowIdP, AllowSHA1: *allowSHA1, ClockSkew: *skew,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if *skew == 0 {
		cfg.ClockSkew = time.Nanosecond // zero means the default in Config
	}
	if *metadata != "" {
		b, err := os.ReadFile(*metadata)
		if err != nil {
			return usage("--idp-metadata: %v", err)
		}
		cfg.IdPMetadataXML = b
	} else {
		for _, f := range certs {
			b, err := os.ReadFile(f)
			if err != nil {
				return usage("--idp-cert: %v", err)
			}
			cfg.IdPCertificates = append(cfg.IdPCertificates, b)
		}
		cfg.IdPEntityID = *idpEntityID
		cfg.SkipIssuerCheck = *idpEntityID == ""
	}
	if *spKey != "" {
		b, err := os.ReadFile(*spKey)
		if err != nil {
			return usage("--sp-key: %v", err)
		}
		kp := saml.KeyPair{Key: sso.Secret(b)}
		if bytes.Contains(b, []byte("CERTIFICATE-----")) {
			kp.Certificate = b
		}
		cfg.SPKeys = []saml.KeyPair{kp}
	}
	var in []byte
	if len(pos) == 1 {
		in, err = os.ReadFile(pos[0])
	} else {
		in, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	}
	if err != nil {
		return usage("reading the response: %v", err)
	}
	if len(bytes.TrimSpace(in)) == 0 {
		return usage("the response is empty: give a FILE or pipe the response to stdin")
	}
	encoded, err := encodeResponse(in)
	if err != nil {
		// Content that is no SAML message is a rejected response, not a
		// usage error.
		return writeError(stdout, &sso.Error{Op: "ssocheck saml response", Reason: sso.ReasonMalformed, Detail: err.Error()})
	}
	ctx := context.Background()
	sp, err := saml.New(ctx, cfg)
	if err != nil {
		var e *sso.Error
		if errors.As(err, &e) {
			return usage("%s", e.Detail)
		}
		return usage("%v", err)
	}
	defer sp.Close()
	id, err := sp.ValidateResponse(ctx, encoded, *requestID)
	if err != nil {
		return writeError(stdout, err)
	}
	out := samlIdentityJSON{Subject: id.Subject, NameIDFormat: id.SubjectFormat, Email: id.Email, Attributes: id.Attributes, Issuer: id.Issuer}
	if v := id.Attributes[saml.AttributeNameIDFormat]; len(v) > 0 {
		out.NameIDFormat = v[0]
	}
	if out.Attributes == nil {
		out.Attributes = map[string][]string{}
	}
	for _, w := range id.Warnings {
		out.Warnings = append(out.Warnings, w.String())
	}
	writeJSON(stdout, out)
	return exitOK
}

// encodeResponse returns the response base64-encoded, as the SAMLResponse
// form value: in may be raw XML, base64 (wrapped or not), base64 of
// DEFLATEd XML as some capture tools store it, a form body with a
// SAMLResponse field, or a HAR file holding such a POST.
func encodeResponse(in []byte) (string, error) {
	in = bytes.TrimSpace(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
	if len(in) == 0 {
		return "", errors.New("the response is empty")
	}
	switch {
	case in[0] == '{':
		v, err := responseFromHAR(in)
		if err != nil {
			return "", err
		}
		in = []byte(v)
	case bytes.Contains(in, []byte("SAMLResponse=")):
		q, err := url.ParseQuery(string(in))
		if err != nil || q.Get("SAMLResponse") == "" {
			return "", errors.New("the form body has no readable SAMLResponse field")
		}
		in = []byte(q.Get("SAMLResponse"))
	}
	if in[0] == '<' {
		return base64.StdEncoding.EncodeToString(in), nil
	}
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(in))
	if strings.Contains(s, "%") { // copied from a browser's form data
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", errors.New("the response is neither XML nor base64")
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '<' {
		return s, nil
	}
	inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 16<<20))
	if err != nil || len(bytes.TrimSpace(inflated)) == 0 || bytes.TrimSpace(inflated)[0] != '<' {
		return "", errors.New("the response decodes from base64 but is not XML")
	}
	return base64.StdEncoding.EncodeToString(inflated), nil
}

// responseFromHAR returns the SAMLResponse of the last POST in a HAR file
// (HTTP Archive, as browsers' developer tools save it) that carries one.
func responseFromHAR(in []byte) (string, error) {
	var har struct {
		Log struct {
			Entries []struct {
				Request struct {
					Method   string `json:"method"`
					URL      string `json:"url"`
					PostData *struct {
						Text   string `json:"text"`
						Params []struct {
							Name  string `json:"name"`
							Value string `json:"value"`
						} `json:"params"`
					} `json:"postData"`
				} `json:"request"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(in, &har); err != nil {
		return "", fmt.Errorf("the input starts like JSON but is not a HAR file: %v", err)
	}
	found := ""
	for _, e := range har.Log.Entries {
		pd := e.Request.PostData
		if pd == nil {
			continue
		}
		for _, p := range pd.Params {
			if p.Name == "SAMLResponse" && p.Value != "" {
				// As sent, URL-encoded or not: encodeResponse unescapes
				// %XX without taking a base64 '+' for a space.
				found = p.Value
			}
		}
		if q, err := url.ParseQuery(pd.Text); err == nil && q.Get("SAMLResponse") != "" {
			found = q.Get("SAMLResponse")
		}
	}
	if found == "" {
		return "", errors.New("the HAR file holds no POST with a SAMLResponse; record the login again with the browser's developer tools open (and \"Preserve log\" on)")
	}
	return found, nil
}

const samlMetadataUsage = `usage: ssocheck saml metadata FILE|URL [--allow-http] [--allow-private-network]

Checks IdP metadata and prints a compatibility report as JSON: entity ID,
endpoints, signing certificates, NameID formats, and each problem found.
Exits 0 when the metadata is usable, 1 when it is not (or cannot be
fetched), 2 on usage errors.

flags:`

func runSAMLMetadata(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const name = "ssocheck saml metadata"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowHTTP := fs.Bool("allow-http", false, "permit a plain http:// URL (tests and trusted networks only)")
	allowPrivate := fs.Bool("allow-private-network", false, "permit loopback, private and link-local addresses")
	fs.Usage = func() {
		fmt.Fprintln(stderr, samlMetadataUsage)
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
		fmt.Fprintln(stderr, name+": give exactly one FILE or URL")
		fs.Usage()
		return exitUsage
	}
	src := pos[0]
	var data []byte
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		opts := safehttp.Options{InsecureAllowHTTP: *allowHTTP, InsecureAllowPrivateNetwork: *allowPrivate, MaxBytes: saml.DefaultMetadataMaxBytes,
			HTTPOptionName: "--allow-http", PrivateNetworkOptionName: "--allow-private-network"}
		ctx, cancel := context.WithTimeout(context.Background(), saml.DefaultTimeout)
		defer cancel()
		resp, err := safehttp.Get(ctx, safehttp.NewClient(opts), src, opts.MaxBytes)
		if err != nil {
			return writeError(stdout, err)
		}
		data = resp.Body
	} else {
		data, err = os.ReadFile(src)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitUsage
		}
	}
	r := saml.CheckMetadata(data, saml.CheckOptions{})
	writeJSON(stdout, r)
	if !r.OK() {
		return exitFail
	}
	return exitOK
}
