package samltest

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
)

// pendingLogin is an AuthnRequest (or an IdP-initiated start) waiting for
// the user to log in.
type pendingLogin struct {
	requestID  string
	sp         ServiceProvider
	relayState string
	hint       string
	expires    time.Time
}

// serveHTTP serves the endpoints below Config.Path.
func (idp *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, idp.cfg.Path)
	if !ok || (path != "" && !strings.HasPrefix(path, "/")) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case path == "/metadata" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(idp.Metadata())
	case path == "/sso" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		idp.serveSSO(w, r)
	case path == "/login" && r.Method == http.MethodPost:
		idp.serveLogin(w, r)
	case path == "/start" && r.Method == http.MethodGet:
		idp.serveStart(w, r)
	case path == "/logout" && r.Method == http.MethodGet:
		step, _, err := idp.LogoutRequest(LogoutRequestOptions{SP: r.URL.Query().Get("sp"), User: r.URL.Query().Get("user")})
		if err == nil {
			err = step.Write(w, r)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	case path == "/slo" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		idp.serveSLO(w, r)
	case path == "/" || path == "":
		idp.renderIndex(w)
	default:
		http.NotFound(w, r)
	}
}

// Metadata returns the IdP's metadata XML.
func (idp *Server) Metadata() []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", "urn:oasis:names:tc:SAML:2.0:metadata")
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", idp.cfg.EntityID)
	d := ed.CreateElement("md:IDPSSODescriptor")
	d.CreateAttr("WantAuthnRequestsSigned", "false")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	kd := d.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(idp.cert.Raw))
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPost} {
		e := d.CreateElement("md:SingleLogoutService")
		e.CreateAttr("Binding", b)
		e.CreateAttr("Location", idp.SLOURL())
	}
	for _, f := range []string{saml.NameIDFormatEmailAddress, saml.NameIDFormatPersistent, saml.NameIDFormatUnspecified} {
		d.CreateElement("md:NameIDFormat").SetText(f)
	}
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPost} {
		e := d.CreateElement("md:SingleSignOnService")
		e.CreateAttr("Binding", b)
		e.CreateAttr("Location", idp.SSOURL())
	}
	doc.Indent(2)
	b, _ := doc.WriteToBytes()
	return b
}

// readMessage returns the SAML message XML of a request: SAMLRequest or
// SAMLResponse, DEFLATEd in a GET (HTTP-Redirect), plain in a POST.
func readMessage(r *http.Request, param string) ([]byte, string, error) {
	if err := r.ParseForm(); err != nil {
		return nil, "", err
	}
	v := r.Form.Get(param)
	if v == "" {
		return nil, "", errMissing(param)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, "", err
	}
	if r.Method == http.MethodGet {
		out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20))
		return out, saml.BindingHTTPRedirect, err
	}
	return b, saml.BindingHTTPPost, nil
}

type errMissing string

func (e errMissing) Error() string { return "missing parameter " + string(e) }

func (idp *Server) serveSSO(w http.ResponseWriter, r *http.Request) {
	msg, _, err := readMessage(r, "SAMLRequest")
	if err != nil {
		http.Error(w, "bad SAMLRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil || doc.Root() == nil || doc.Root().Tag != "AuthnRequest" {
		http.Error(w, "SAMLRequest is not an AuthnRequest", http.StatusBadRequest)
		return
	}
	req := doc.Root()
	issuer := ""
	if e := req.SelectElement("Issuer"); e != nil {
		issuer = strings.TrimSpace(e.Text())
	}
	acs := req.SelectAttrValue("AssertionConsumerServiceURL", "")
	idp.mu.Lock()
	sp, known := idp.sps[issuer]
	anySP := len(idp.sps) == 0
	idp.mu.Unlock()
	switch {
	case known && acs != "" && acs != sp.ACSURL:
		http.Error(w, "the AuthnRequest names ACS "+acs+", which is not registered for "+issuer, http.StatusBadRequest)
		return
	case !known && !anySP:
		http.Error(w, "unknown service provider "+issuer, http.StatusBadRequest)
		return
	case !known:
		if acs == "" {
			http.Error(w, "the AuthnRequest names no ACS URL", http.StatusBadRequest)
			return
		}
		sp = ServiceProvider{EntityID: issuer, ACSURL: acs}
	}
	hint := ""
	if s := req.SelectElement("Subject"); s != nil {
		if n := s.SelectElement("NameID"); n != nil {
			hint = n.Text()
		}
	}
	p := &pendingLogin{requestID: req.SelectAttrValue("ID", ""), sp: sp, relayState: r.Form.Get("RelayState"), hint: hint}
	idp.renderLogin(w, idp.addPending(p), p, "", http.StatusOK)
}

func (idp *Server) addPending(p *pendingLogin) string {
	h := newID()
	now := idp.now()
	p.expires = now.Add(30 * time.Minute)
	idp.mu.Lock()
	for k, v := range idp.pending {
		if now.After(v.expires) {
			delete(idp.pending, k)
		}
	}
	idp.pending[h] = p
	idp.mu.Unlock()
	return h
}

func (idp *Server) serveStart(w http.ResponseWriter, r *http.Request) {
	entity := r.URL.Query().Get("sp")
	sp, err := idp.spFor(entity)
	if err != nil || sp.ACSURL == "" {
		http.Error(w, "unknown service provider "+entity+"; register it with AddServiceProvider", http.StatusBadRequest)
		return
	}
	p := &pendingLogin{sp: sp, relayState: r.URL.Query().Get("RelayState")}
	idp.renderLogin(w, idp.addPending(p), p, "", http.StatusOK)
}

func (idp *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := r.PostForm.Get("login")
	idp.mu.Lock()
	p := idp.pending[h]
	idp.mu.Unlock()
	if p == nil || idp.now().After(p.expires) {
		http.Error(w, "this login expired; start again at the application", http.StatusBadRequest)
		return
	}
	email, password := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	var user *User
	for i := range idp.cfg.Users {
		u := idp.cfg.Users[i]
		pw := u.Password
		if pw == "" {
			pw = DefaultPassword
		}
		if strings.EqualFold(u.Email, email) && password == pw {
			user = &u
			break
		}
	}
	if user == nil {
		idp.renderLogin(w, h, p, "Wrong email or password.", http.StatusUnauthorized)
		return
	}
	idp.mu.Lock()
	delete(idp.pending, h)
	mis := idp.mis
	last := idp.last[p.sp.EntityID]
	idp.mu.Unlock()

	encoded := last
	if !mis.Replay || last == "" {
		var err error
		encoded, err = idp.EncodedResponse(ResponseOptions{
			User: user.Email, Audience: p.sp.EntityID, ACSURL: p.sp.ACSURL, InResponseTo: p.requestID,
			Encrypt: p.sp.EncryptionCertificate != nil, EncryptionCertificate: p.sp.EncryptionCertificate, Misbehavior: mis,
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		idp.mu.Lock()
		idp.last[p.sp.EntityID] = encoded
		idp.mu.Unlock()
	}
	form := url.Values{"SAMLResponse": {encoded}}
	if p.relayState != "" {
		form.Set("RelayState", p.relayState)
	}
	step := &sso.Step{Kind: sso.StepPostForm, URL: p.sp.ACSURL, Form: form}
	_ = step.Write(w, r)
}

// serveSLO answers a LogoutRequest with a LogoutResponse to the SP's SLO
// URL, in the binding the request came with, and records a LogoutResponse
// to an IdP-initiated logout.
func (idp *Server) serveSLO(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Form.Get("SAMLResponse") != "" {
		msg, binding, err := readMessage(r, "SAMLResponse")
		if err != nil {
			http.Error(w, "bad SAMLResponse: "+err.Error(), http.StatusBadRequest)
			return
		}
		rec, err := idp.receiveLogoutResponse(msg, binding, r.Form, r.URL.RawQuery)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "logout answered by "+rec.Issuer+": "+rec.Status+"\n")
		return
	}
	msg, binding, err := readMessage(r, "SAMLRequest")
	if err != nil {
		http.Error(w, "bad SAMLRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil || doc.Root() == nil || doc.Root().Tag != "LogoutRequest" {
		http.Error(w, "SAMLRequest is not a LogoutRequest", http.StatusBadRequest)
		return
	}
	req := doc.Root()
	rec := LogoutRecord{ID: req.SelectAttrValue("ID", ""), Binding: binding}
	if e := req.SelectElement("Issuer"); e != nil {
		rec.Issuer = strings.TrimSpace(e.Text())
	}
	if e := req.SelectElement("NameID"); e != nil {
		rec.NameID, rec.NameIDFormat = e.Text(), e.SelectAttrValue("Format", "")
	}
	if e := req.SelectElement("SessionIndex"); e != nil {
		rec.SessionIndex = e.Text()
	}
	idp.mu.Lock()
	sp, known := idp.sps[rec.Issuer]
	idp.mu.Unlock()
	if binding == saml.BindingHTTPRedirect {
		rec.Signed = r.Form.Get("Signature") != ""
		if rec.Signed && sp.SigningCertificate != nil {
			rec.Verified = verifyRedirect(r.URL.RawQuery, "SAMLRequest", sp.SigningCertificate) == nil
		}
	} else {
		rec.Signed = req.SelectElement("Signature") != nil
		if rec.Signed && sp.SigningCertificate != nil {
			ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{sp.SigningCertificate}})
			_, verr := ctx.Validate(req)
			rec.Verified = verr == nil
		}
	}
	idp.mu.Lock()
	idp.logouts = append(idp.logouts, rec)
	idp.mu.Unlock()
	if !known || sp.SLOURL == "" {
		http.Error(w, "logged out at the IdP; the service provider "+rec.Issuer+" has no registered SLO URL to return to", http.StatusOK)
		return
	}

	resp := etree.NewElement("samlp:LogoutResponse")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", newID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", xmlTime(idp.now()))
	resp.CreateAttr("Destination", sp.SLOURL)
	resp.CreateAttr("InResponseTo", rec.ID)
	resp.CreateElement("saml:Issuer").SetText(idp.cfg.EntityID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	relay := r.Form.Get("RelayState")
	if binding == saml.BindingHTTPRedirect {
		u, err := idp.redirectURL(sp.SLOURL, "SAMLResponse", resp, relay)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	signed, err := signElement(idp.signer(false, false, false), resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b, _ := etree.NewDocumentWithRoot(signed).WriteToBytes()
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(b)}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	_ = (&sso.Step{Kind: sso.StepPostForm, URL: sp.SLOURL, Form: form}).Write(w, r)
}

// redirectURL encodes msg for the HTTP-Redirect binding (DEFLATE, base64)
// and signs the query with the IdP key (RSA-SHA256).
func (idp *Server) redirectURL(target, param string, msg *etree.Element, relay string) (string, error) {
	b, err := etree.NewDocumentWithRoot(msg).WriteToBytes()
	if err != nil {
		return "", err
	}
	return redirectQuery(target, param, b, relay, idp.key, dsig.RSASHA256SignatureMethod)
}

// verifyRedirect checks an HTTP-Redirect binding signature (RSA-SHA256 or
// RSA-SHA1) over the raw query parameters.
func verifyRedirect(rawQuery, param string, cert *x509.Certificate) error {
	raw := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		raw[k] = v
	}
	signed := param + "=" + raw[param]
	if v, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + v
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	sigAlg, _ := url.QueryUnescape(raw["SigAlg"])
	s, _ := url.QueryUnescape(raw["Signature"])
	sig, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	alg := x509.SHA256WithRSA
	if sigAlg == dsig.RSASHA1SignatureMethod {
		alg = x509.SHA1WithRSA
	}
	return cert.CheckSignature(alg, []byte(signed), sig)
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>samltest IdP: sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem}button{padding:.4rem 1rem;margin-top:.6rem}
.err{color:#b00}.users{margin-top:2rem;border-top:1px solid #ccc}.users form{display:inline}</style></head>
<body><h1>Sign in</h1>
<p>Test identity provider <code>{{.EntityID}}</code>, signing in to <code>{{.SP}}</code>{{if not .RequestID}} (IdP-initiated){{end}}.</p>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" id="login">
<input type="hidden" name="login" value="{{.Handle}}">
<label>Email <input type="email" name="email" id="email" value="{{.Hint}}" autocomplete="username" required></label>
<label>Password <input type="password" name="password" id="password" autocomplete="current-password" required></label>
<button type="submit" id="submit">Sign in</button>
</form>
<div class="users"><p>Test users (password shown):</p>
{{range .Users}}<form method="post" action="{{$.Action}}"><input type="hidden" name="login" value="{{$.Handle}}">
<input type="hidden" name="email" value="{{.Email}}"><input type="hidden" name="password" value="{{.Password}}">
<button type="submit" data-email="{{.Email}}">{{.Email}} / {{.Password}}</button></form>
{{end}}</div></body></html>
`))

func (idp *Server) renderLogin(w http.ResponseWriter, handle string, p *pendingLogin, msg string, status int) {
	users := make([]User, len(idp.cfg.Users))
	for i, u := range idp.cfg.Users {
		if u.Password == "" {
			u.Password = DefaultPassword
		}
		users[i] = u
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, map[string]any{
		"EntityID": idp.cfg.EntityID, "SP": p.sp.EntityID, "RequestID": p.requestID, "Error": msg,
		"Action": idp.base + "/login", "Handle": handle, "Hint": p.hint, "Users": users,
	})
}

var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>samltest IdP</title></head>
<body><h1>samltest identity provider</h1><p>Entity ID <code>{{.EntityID}}</code>. <a href="{{.Metadata}}">Metadata</a>.</p>
<ul>{{range .SPs}}<li>{{.EntityID}}: <a href="{{$.Start}}?sp={{.EntityID}}">IdP-initiated login</a></li>{{end}}</ul></body></html>
`))

func (idp *Server) renderIndex(w http.ResponseWriter) {
	idp.mu.Lock()
	sps := make([]ServiceProvider, 0, len(idp.sps))
	for _, sp := range idp.sps {
		sps = append(sps, sp)
	}
	idp.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexPage.Execute(w, map[string]any{"EntityID": idp.cfg.EntityID, "Metadata": idp.MetadataURL(), "Start": idp.base + "/start", "SPs": sps})
}
