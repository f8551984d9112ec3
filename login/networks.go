package login

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ssokit/sso"
)

// Networks restricts logins to clients in the given address ranges
// (SmartSimple's "IP mask"): an Account's apply to every login that grants
// the account (password or single sign-on), a Connection's to the logins
// through it.
type Networks struct {
	// Allow lists the client address ranges logins may come from, IPv4 and
	// IPv6 ("203.0.113.0/24", "2001:db8::/32"; one address is a /32 or
	// /128). Empty allows every address.
	Allow []netip.Prefix
	// DryRun reports logins from elsewhere (a client_network_not_allowed
	// event) without refusing them, to try a list before enforcing it.
	DryRun bool
}

// allows reports whether addr may log in; a list that is empty allows all.
func (n Networks) allows(addr netip.Addr) bool {
	if len(n.Allow) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range n.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// check returns the refusal of a login from addr, or nil; dryRun reports
// that a refusal is only to be reported.
func (n Networks) check(addr netip.Addr, what string) (err *sso.Error, dryRun bool) {
	if n.allows(addr) {
		return nil, false
	}
	detail := "the client address " + addrString(addr) + " is outside the allowed networks of " + what
	if n.DryRun {
		detail += " (dry run: allowed)"
	}
	return &sso.Error{Op: "login.Networks", Reason: sso.ReasonNetworkNotAllowed, Detail: detail}, n.DryRun
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "(unknown)"
	}
	return a.String()
}

// validate checks the ranges: each a valid prefix in canonical form.
func (n Networks) validate(field string) string {
	for _, p := range n.Allow {
		if !p.IsValid() {
			return field + ".Allow holds an invalid prefix"
		}
		if p != p.Masked() {
			return field + ".Allow: " + p.String() + " has host bits set; write " + p.Masked().String()
		}
	}
	return ""
}

// clientAddr returns the address the request comes from: the peer's, or,
// when the peer is a proxy in Config.TrustedProxies, the last address in
// X-Forwarded-For that is not a trusted proxy (the addresses before it
// could be forged by the client).
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !h.trustedProxy(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, v := range hops {
		all = append(all, strings.Split(v, ",")...)
	}
	for i := len(all) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(all[i]))
		if err != nil {
			return netip.Addr{} // a malformed chain: unknown, allowed by no list
		}
		a = a.Unmap()
		if !h.trustedProxy(a) {
			return a
		}
	}
	return peer
}

func (h *Handler) trustedProxy(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr parses the request's peer address.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// networkRefusal checks the client address of r against the account's and
// the connection's (nil for a password login) networks. A dry-run refusal
// is reported as an event and allows the login.
func (h *Handler) networkRefusal(r *http.Request, acct *account, e *entry, user string) error {
	if len(acct.Networks.Allow) == 0 && (e == nil || len(e.Networks.Allow) == 0) {
		return nil // no list: every address may log in
	}
	addr := h.clientAddr(r)
	type list struct {
		n    Networks
		what string
		conn string
	}
	lists := []list{{acct.Networks, "account " + quote(acct.ID), ""}}
	if e != nil {
		lists = append(lists, list{e.Networks, "connection " + quote(e.ID()), e.ID()})
	}
	for _, l := range lists {
		err, dry := l.n.check(addr, l.what)
		if err == nil {
			continue
		}
		err.Connection = l.conn
		if !dry {
			return err
		}
		h.cfg.Events.Emit(r.Context(), sso.Event{Type: sso.EventNetworkDryRunRefusal, Time: h.now(), Account: acct.ID, Connection: l.conn, User: user,
			Reason: err.Reason, Detail: err.Detail, Attrs: map[string]string{"client_address": addrString(addr)}})
	}
	return nil
}
