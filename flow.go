package sso

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ssokit/sso/internal/token"
)

// Flow is one pending login (or single logout) of a redirect protocol,
// kept between Begin and Complete under its random ID (the SAML RelayState
// or the OIDC state parameter) by a [Flows].
type Flow struct {
	// ID is the random handle sent through the identity provider.
	ID string `json:"i"`
	// Connection is the connection that began the login.
	Connection string `json:"c"`
	// RequestID is the SAML AuthnRequest (or LogoutRequest) ID.
	RequestID string `json:"r,omitempty"`
	// Nonce and Verifier are the OIDC nonce and PKCE code verifier.
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v,omitempty"`
	// ReturnTo is the checked same-site path to land on.
	ReturnTo string `json:"t,omitempty"`
	// LoginHint is the email the person entered, if any.
	LoginHint string `json:"h,omitempty"`
	// Data is the host's [BeginRequest.FlowData].
	Data map[string]string `json:"d,omitempty"`
	// Created and Expires bound the login's lifetime.
	Created time.Time `json:"s"`
	Expires time.Time `json:"e"`
}

// Flows keeps the pending logins of one browser between Begin and Complete.
// Two implementations come with this package: [Cookies.Flows] seals each
// pending login into a cookie of the browser that started it, so the
// server keeps nothing until the login completes (what package login
// uses), and [StoreFlows] keeps them in a [StateStore] under a browser
// binding.
//
// Either way a pending login is bound to the browser that started it:
// another browser cannot complete it, even with its handle.
// Implementations are used for one request and need not be safe for
// concurrent use.
type Flows interface {
	// Save keeps f until f.Expires.
	Save(ctx context.Context, f *Flow) error
	// Take returns the pending login with the given ID and removes it, so
	// that one handle completes at most one login. It returns an error
	// matching ReasonStateMissing when this browser has no live pending
	// login under id, and ReasonStateMismatch when the login belongs to
	// another browser.
	Take(ctx context.Context, id string) (*Flow, error)
}

const flowKeyPrefix = "flow:"

// StoreFlows returns Flows that keep pending logins in store under their
// ID, bound to the browser by binding: a random value the host keeps in an
// HttpOnly cookie (see [NewBinding]), of which the store holds only the
// SHA-256 digest. Take consumes the record even when the binding
// does not match, so a handle is never tried twice.
//
// Every Begin writes a record: an application that keeps pending logins
// server-side must limit anonymous login starts (per client address) so
// that a flood cannot fill store; [Cookies.Flows] needs no such limit.
func StoreFlows(store StateStore, binding string) Flows {
	return storeFlows{store: store, binding: binding}
}

type storeFlows struct {
	store   StateStore
	binding string
}

type storedFlow struct {
	Binding string `json:"b"`
	Flow    *Flow  `json:"f"`
}

func (s storeFlows) Save(ctx context.Context, f *Flow) error {
	const op = "sso.StoreFlows.Save"
	if s.binding == "" {
		return &Error{Op: op, Reason: ReasonInvalidRequest, Connection: f.Connection,
			Detail: "the browser binding is empty: pass the value of the browser's binding cookie (sso.NewBinding)"}
	}
	if s.store == nil {
		return &Error{Op: op, Reason: ReasonInvalidConfig, Connection: f.Connection, Detail: "no StateStore to keep the pending login in"}
	}
	b, err := json.Marshal(storedFlow{Binding: token.Hash(s.binding), Flow: f})
	if err != nil {
		return &Error{Op: op, Reason: ReasonInternal, Connection: f.Connection, Err: err}
	}
	if err := s.store.Put(ctx, flowKeyPrefix+f.ID, b, f.Expires); err != nil {
		return storeFailure(op, f.Connection, "keeping the pending login failed", err)
	}
	return nil
}

func (s storeFlows) Take(ctx context.Context, id string) (*Flow, error) {
	const op = "sso.StoreFlows.Take"
	if id == "" || s.store == nil {
		return nil, &Error{Op: op, Reason: ReasonStateMissing, Detail: "no pending login under an empty handle"}
	}
	b, err := s.store.Take(ctx, flowKeyPrefix+id)
	if err != nil {
		if errors.Is(err, ReasonStateMissing) {
			return nil, &Error{Op: op, Reason: ReasonStateMissing, Detail: "no pending login under this state: it expired, was used already, or never existed"}
		}
		return nil, storeFailure(op, "", "reading the pending login failed", err)
	}
	var sf storedFlow
	if err := json.Unmarshal(b, &sf); err != nil || sf.Flow == nil {
		return nil, &Error{Op: op, Reason: ReasonInternal, Detail: "the stored pending login is corrupt", Err: err}
	}
	if !token.Matches(sf.Binding, s.binding) {
		return nil, &Error{Op: op, Reason: ReasonStateMismatch, Connection: sf.Flow.Connection,
			Detail: "the pending login was started in another browser (binding cookie missing or different)"}
	}
	sf.Flow.ID = id
	return sf.Flow, nil
}

// storeFailure wraps a store's error, keeping its Reason when it has a
// meaningful one (store_full, unavailable) and ReasonInternal otherwise.
func storeFailure(op, connection, detail string, err error) error {
	reason := ReasonInternal
	switch r := ReasonOf(err); r {
	case ReasonUnavailable, ReasonStoreFull:
		reason = r
	}
	return &Error{Op: op, Reason: reason, Connection: connection, Detail: detail, Err: err}
}
