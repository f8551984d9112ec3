package ldaptest

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/jimlambrt/gldap"
)

const (
	oidStartTLS = "1.3.6.1.4.1.1466.20037"
	oidPPolicy  = "1.3.6.1.4.1.42.2.27.8.5.1"
	diagNeedTLS = "TLS confidentiality required"
)

func (s *Server) handleBind(backend int) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		s.nBinds.Add(1)
		s.wait()
		resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
		defer func() { _ = w.Write(resp) }()
		m, err := r.GetSimpleBindMessage()
		if err != nil {
			resp.SetResultCode(gldap.ResultProtocolError)
			return
		}
		st := s.state(backend, r.ConnectionID())
		s.mu.Lock()
		st.bound, st.boundDN = "", "" // a bind, even a failed one, leaves the connection anonymous first
		tlsOn := st.tls
		s.mu.Unlock()
		if s.cfg.RequireTLS && !tlsOn {
			resp.SetResultCode(gldap.ResultConfidentialityRequired)
			resp.SetDiagnosticMessage(diagNeedTLS)
			return
		}
		name, pw := m.UserName, string(m.Password)
		wantsPolicy := false
		for _, c := range m.Controls {
			if c.GetControlType() == oidPPolicy {
				wantsPolicy = true
			}
		}
		policy := func(opts ...gldap.Option) {
			if !wantsPolicy {
				return
			}
			if c, err := gldap.NewControlBeheraPasswordPolicy(opts...); err == nil {
				resp.SetControls(c)
			}
		}
		switch {
		case name == "" && pw == "":
			resp.SetResultCode(gldap.ResultSuccess)
			return
		case pw == "":
			if s.cfg.ActiveDirectory {
				// Active Directory treats a name without password as an
				// anonymous bind and reports success.
				resp.SetResultCode(gldap.ResultSuccess)
				return
			}
			resp.SetResultCode(gldap.ResultUnwillingToPerform)
			resp.SetDiagnosticMessage("unauthenticated bind (DN with no password) disallowed")
			return
		}
		e, validDN := s.findBindUser(name)
		if e == nil {
			switch {
			case s.cfg.ActiveDirectory:
				ad := ADError("525")
				resp.SetResultCode(ad.Code)
				resp.SetDiagnosticMessage(ad.Diagnostic)
			case !validDN:
				resp.SetResultCode(gldap.ResultInvalidDNSyntax)
				resp.SetDiagnosticMessage("invalid DN")
			}
			return
		}
		u := e.user
		if pw != u.Password {
			if s.cfg.ActiveDirectory {
				resp.SetDiagnosticMessage(ADError("52e").Diagnostic)
			}
			return
		}
		if pp := u.PasswordPolicy; pp != nil {
			switch {
			case pp.Expired:
				policy(gldap.WithErrorCode(0))
				return
			case pp.Locked:
				policy(gldap.WithErrorCode(1))
				return
			case pp.MustChange:
				policy(gldap.WithErrorCode(2))
			case pp.GraceLogins > 0:
				policy(gldap.WithGraceAuthNsRemaining(uint(pp.GraceLogins)))
			case pp.ExpiresIn > 0:
				policy(gldap.WithSecondsBeforeExpiration(uint(pp.ExpiresIn.Seconds())))
			}
		}
		if u.BindError != nil {
			resp.SetResultCode(u.BindError.Code)
			resp.SetDiagnosticMessage(u.BindError.Diagnostic)
			return
		}
		s.mu.Lock()
		st.bound, st.boundDN = e.key, e.dn
		s.mu.Unlock()
		resp.SetResultCode(gldap.ResultSuccess)
	}
}

func (s *Server) handleStartTLS(backend int) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		s.nStartTLS.Add(1)
		s.wait()
		st := s.state(backend, r.ConnectionID())
		s.mu.RLock()
		already := st.tls
		s.mu.RUnlock()
		if s.cfg.NoTLS || already {
			resp := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultProtocolError))
			if already {
				resp.SetResultCode(gldap.ResultOperationsError)
				resp.SetDiagnosticMessage("TLS already started")
			} else {
				resp.SetDiagnosticMessage("unsupported extended operation")
			}
			_ = w.Write(resp)
			return
		}
		resp := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
		resp.SetResponseName(gldap.ExtendedOperationStartTLS)
		if err := w.Write(resp); err != nil {
			return
		}
		if err := r.StartTLS(s.tlsConf); err != nil {
			return
		}
		s.mu.Lock()
		st.tls = true
		s.mu.Unlock()
	}
}

func (s *Server) handleSearch(backend int) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		s.nSearches.Add(1)
		s.wait()
		done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
		defer func() { _ = w.Write(done) }()
		m, err := r.GetSearchMessage()
		if err != nil {
			done.SetResultCode(gldap.ResultProtocolError)
			return
		}
		st := s.state(backend, r.ConnectionID())
		s.mu.Lock()
		tlsOn, bound := st.tls, st.bound
		entries := s.entries
		s.searchLog = append(s.searchLog, SearchRecord{BoundDN: st.boundDN, BaseDN: m.BaseDN, Scope: int(m.Scope), Filter: m.Filter})
		s.mu.Unlock()
		if s.cfg.RequireTLS && !tlsOn {
			done.SetResultCode(gldap.ResultConfidentialityRequired)
			done.SetDiagnosticMessage(diagNeedTLS)
			return
		}
		f, err := goldap.CompileFilter(m.Filter)
		if err != nil {
			done.SetResultCode(gldap.ResultProtocolError)
			done.SetDiagnosticMessage("bad filter")
			return
		}
		if m.BaseDN == "" && m.Scope == gldap.BaseObject {
			root := s.rootDSE()
			if ok, _ := matchFilter(f, root); ok {
				s.send(w, r, root, m.Attributes)
			}
			return
		}
		if s.cfg.RequireBindForSearch && bound == "" {
			done.SetResultCode(gldap.ResultOperationsError)
			if s.cfg.SambaDiagnostics {
				done.SetDiagnosticMessage("00002020: Operation unavailable without authentication")
			} else {
				done.SetDiagnosticMessage("000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563")
			}
			return
		}
		base, err := goldap.ParseDN(m.BaseDN)
		if err != nil {
			done.SetResultCode(gldap.ResultInvalidDNSyntax)
			done.SetDiagnosticMessage("invalid DN")
			return
		}
		baseKey := strings.ToLower(base.String())
		found := false
		for _, e := range entries {
			if e.key == baseKey {
				found = e.user == nil || !e.user.Hidden
				break
			}
		}
		if !found {
			done.SetResultCode(gldap.ResultNoSuchObject)
			return
		}
		var matches []*entry
		for _, e := range entries {
			in := false
			switch m.Scope {
			case gldap.BaseObject:
				in = e.key == baseKey
			case gldap.SingleLevel:
				in = len(e.dnp.RDNs) == len(base.RDNs)+1 && base.AncestorOfFold(e.dnp)
			default:
				in = e.key == baseKey || base.AncestorOfFold(e.dnp)
			}
			if !in || (e.user != nil && e.user.Hidden) {
				continue
			}
			ok, err := matchFilter(f, e)
			if err != nil {
				done.SetResultCode(gldap.ResultProtocolError)
				done.SetDiagnosticMessage(err.Error())
				return
			}
			if ok {
				matches = append(matches, e)
			}
		}
		limit := int(m.SizeLimit)
		for i, e := range matches {
			if limit > 0 && i == limit {
				done.SetResultCode(gldap.ResultSizeLimitExceeded)
				return
			}
			s.send(w, r, e, m.Attributes)
		}
	}
}

// send writes e with the requested attributes ("*" or none for all, "1.1"
// for none).
func (s *Server) send(w *gldap.ResponseWriter, r *gldap.Request, e *entry, requested []string) {
	resp := r.NewSearchResponseEntry(e.dn)
	all := len(requested) == 0
	for _, a := range requested {
		if a == "*" || a == "+" {
			all = true
		}
	}
	for _, a := range e.attrs {
		want := all
		for _, q := range requested {
			if strings.EqualFold(q, a.name) {
				want = true
			}
		}
		if want {
			resp.AddAttribute(a.name, a.values)
		}
	}
	_ = w.Write(resp)
}

func (s *Server) rootDSE() *entry {
	e := &entry{dn: ""}
	e.set("objectClass", "top")
	e.set("namingContexts", s.cfg.BaseDN)
	e.set("defaultNamingContext", s.cfg.BaseDN)
	e.set("supportedLDAPVersion", "3")
	e.set("supportedControl", oidPPolicy)
	if !s.cfg.NoTLS {
		e.set("supportedExtension", oidStartTLS)
	}
	return e
}
