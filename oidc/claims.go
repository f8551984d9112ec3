package oidc

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// claimMap is a userinfo response; it implements zitadel's
// rp.SubjectGetter so that rp.Userinfo checks the sub.
type claimMap map[string]any

// GetSubject returns the sub claim.
func (m claimMap) GetSubject() string { s, _ := m["sub"].(string); return s }

// mergeClaims returns primary's claims plus those of secondary that
// primary lacks. email and email_verified travel together, so that one
// source cannot vouch for the other's address: email_verified comes from
// the source of the email, and from the other source only when it names
// the same address.
func mergeClaims(primary, secondary map[string]any, emailClaims []string) map[string]any {
	out := make(map[string]any, len(primary)+len(secondary))
	for k, v := range primary {
		out[k] = v
	}
	for k, v := range secondary {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	emailClaim := ""
	for _, n := range emailClaims {
		_, inP := primary[n]
		_, inS := secondary[n]
		if inP || inS {
			emailClaim = n
			break
		}
	}
	if emailClaim == "" {
		return out
	}
	pe, inP := primary[emailClaim]
	se, inS := secondary[emailClaim]
	from, other := primary, secondary
	if !inP {
		from, other = secondary, primary
	}
	if !inP && !inS {
		return out
	}
	if v, ok := from["email_verified"]; ok {
		out["email_verified"] = v
	} else if v, ok := other["email_verified"]; ok && inP && inS && sso.EqualFoldASCII(claimString(pe), claimString(se)) {
		out["email_verified"] = v
	} else {
		delete(out, "email_verified")
	}
	return out
}

// lacksProfile reports whether claims lack what UserinfoWhenNeeded fetches
// userinfo for: the email, or every name claim.
func lacksProfile(m sso.AttributeMap, claims map[string]any) bool {
	if len(m.Email) > 0 && firstClaim(claims, m.Email) == "" {
		return true
	}
	names := slices.Concat(m.GivenName, m.FamilyName, m.DisplayName)
	return len(names) > 0 && firstClaim(claims, names) == ""
}

// firstClaim returns the first non-empty value among the claims named.
func firstClaim(claims map[string]any, names []string) string {
	for _, n := range names {
		if v := claimString(claims[n]); v != "" {
			return v
		}
	}
	return ""
}

// claimString returns a string claim, or the text of a number or boolean;
// "" for anything else.
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// claimBool reads a boolean claim, accepting the strings "true" and
// "false" that some providers send. present is false when the claim is
// absent or not a boolean.
func claimBool(v any) (value, present bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// claimStrings returns the string values of a claim that is a string or an
// array; split splits strings on commas.
func claimStrings(v any, split bool) []string {
	var out []string
	add := func(s string) {
		if split {
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		} else if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s := claimString(e); s != "" {
				add(s)
			}
		}
	default:
		if s := claimString(x); s != "" {
			add(s)
		}
	}
	return out
}

// attributes renders every claim as strings: arrays element by element,
// objects as JSON.
func attributes(claims map[string]any) map[string][]string {
	out := make(map[string][]string, len(claims))
	// Single values share one backing array, each in a slice of its own
	// capacity, so that appending to one never writes into the next.
	single := make([]string, 0, len(claims))
	for k, v := range claims {
		switch x := v.(type) {
		case nil:
			continue
		case []any:
			vals := make([]string, 0, len(x))
			for _, e := range x {
				vals = append(vals, attrString(e))
			}
			out[k] = vals
		default:
			i := len(single)
			single = append(single, attrString(x))
			out[k] = single[i : i+1 : i+1]
		}
	}
	return out
}

func attrString(v any) string {
	switch v.(type) {
	case string, json.Number, float64, bool:
		return claimString(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// claimTime reads a NumericDate claim.
func claimTime(v any) time.Time {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil && f > 0 {
			return time.Unix(int64(f), 0).UTC()
		}
	case float64:
		if x > 0 {
			return time.Unix(int64(x), 0).UTC()
		}
	}
	return time.Time{}
}

// identity builds the Identity from merged claims and checks the email.
func (c *Connection) identity(issuer, subject string, claims map[string]any, f *sso.Flow) (*sso.Identity, error) {
	const op = "oidc.Complete"
	m := c.mapping
	id := &sso.Identity{
		Connection: c.cfg.ID,
		Protocol:   sso.ProtocolOIDC,
		Issuer:     issuer,
		Subject:    subject,
		Attributes: attributes(claims),
		AuthTime:   claimTime(claims["auth_time"]),
		ReturnTo:   f.ReturnTo,
		FlowData:   f.Data,
	}
	id.SessionIndex = claimString(claims["sid"])
	id.AuthnContext = claimString(claims["acr"])
	id.AuthnMethods = claimStrings(claims["amr"], false)
	mfaACR := c.cfg.MFAACRValues
	if mfaACR == nil {
		mfaACR = DefaultMFAACRValues
	}
	id.MFA = (id.AuthnContext != "" && slices.Contains(mfaACR, id.AuthnContext)) || sso.MultiFactor(id.AuthnMethods)
	get := func(names []string) string { return firstClaim(claims, names) }
	id.GivenName, id.FamilyName, id.DisplayName = get(m.GivenName), get(m.FamilyName), get(m.DisplayName)
	seen := map[string]bool{}
	for _, g := range m.Groups {
		for _, v := range claimStrings(claims[g], c.cfg.SplitGroups) {
			if !seen[v] {
				seen[v] = true
				id.Groups = append(id.Groups, v)
			}
		}
	}

	email := get(m.Email)
	if email == "" {
		if !c.cfg.AllowMissingEmail {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonEmailMissing, Connection: c.cfg.ID,
				Detail: "neither the ID token nor userinfo has an email claim (" + strings.Join(m.Email, ", ") + "); request the email scope and make the provider release the address" + c.userinfoNote()}
		}
		return id, nil
	}
	norm, err := sso.NormalizeEmail(email)
	if err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidEmail, Connection: c.cfg.ID, Detail: "the provider's email claim is not a usable address", Err: err}
	}
	id.Email = norm
	verified, present := claimBool(claims["email_verified"])
	switch {
	case verified:
		id.EmailVerified = true
	case c.cfg.TrustEmail:
		id.EmailVerified = true
		if present {
			id.Warnings = append(id.Warnings, sso.Warning{Reason: sso.ReasonEmailNotVerified, Detail: "the provider says email_verified=false; accepted because the connection trusts the provider's emails (TrustEmail)"})
		}
	case present:
		return nil, &sso.Error{Op: op, Reason: sso.ReasonEmailNotVerified, Connection: c.cfg.ID, Detail: "the provider says the email address " + quote(norm) + " is not verified (email_verified=false)"}
	default:
		return nil, &sso.Error{Op: op, Reason: sso.ReasonEmailNotVerified, Connection: c.cfg.ID,
			Detail: "the provider sent no email_verified claim for " + quote(norm) + "; if this provider only holds addresses its organisation controls (e.g. Entra ID), set TrustEmail"}
	}
	return id, nil
}

func (c *Connection) userinfoNote() string {
	if c.cfg.Userinfo == UserinfoNever {
		return " (userinfo is not consulted: Userinfo is \"never\")"
	}
	return ""
}
