package sso

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Flow is the server-side state of one pending login of a redirect protocol,
// kept in a [StateStore] between Begin and Complete under its random ID (the
// SAML RelayState or the OIDC state parameter).
type Flow struct {
	// ID is the random handle sent through the identity provider.
	ID string `json:"-"`
	// Connection is the connection that began the login.
	Connection string `json:"c"`
	// BindingHash is [HashBinding] of the browser binding given to Begin.
	BindingHash string `json:"b"`
	// RequestID is the SAML AuthnRequest ID.
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

const flowKeyPrefix = "flow:"

// SaveFlow stores f under f.ID until f.Expires.
func SaveFlow(ctx context.Context, store StateStore, f *Flow) error {
	b, err := json.Marshal(f)
	if err != nil {
		return &Error{Op: "sso.SaveFlow", Reason: ReasonInternal, Connection: f.Connection, Err: err}
	}
	if err := store.Put(ctx, flowKeyPrefix+f.ID, b, f.Expires); err != nil {
		return &Error{Op: "sso.SaveFlow", Reason: ReasonInternal, Connection: f.Connection, Detail: "state store failed", Err: err}
	}
	return nil
}

// TakeFlow loads and deletes the flow with the given ID, then checks that it
// belongs to the given connection and browser binding and has not expired at
// now. The flow is consumed even when a check fails, so a handle is never
// tried twice.
func TakeFlow(ctx context.Context, store StateStore, id, connection, binding string, now time.Time) (*Flow, error) {
	const op = "sso.TakeFlow"
	if id == "" {
		return nil, &Error{Op: op, Reason: ReasonStateMissing, Connection: connection, Detail: "the response carries no state handle"}
	}
	b, err := store.Take(ctx, flowKeyPrefix+id)
	if err != nil {
		if errors.Is(err, ReasonStateMissing) {
			return nil, &Error{Op: op, Reason: ReasonStateMissing, Connection: connection, Detail: "no pending login under this state: it expired, was used already, or never existed"}
		}
		return nil, &Error{Op: op, Reason: ReasonInternal, Connection: connection, Detail: "state store failed", Err: err}
	}
	f := new(Flow)
	if err := json.Unmarshal(b, f); err != nil {
		return nil, &Error{Op: op, Reason: ReasonInternal, Connection: connection, Detail: "stored state is corrupt", Err: err}
	}
	f.ID = id
	switch {
	case f.Connection != connection:
		return nil, &Error{Op: op, Reason: ReasonStateMismatch, Connection: connection, Detail: "the pending login was started for another connection", Expected: f.Connection, Actual: connection}
	case !BindingMatches(f.BindingHash, binding):
		return nil, &Error{Op: op, Reason: ReasonStateMismatch, Connection: connection, Detail: "the pending login was started in another browser (binding cookie missing or different)"}
	case !now.Before(f.Expires):
		return nil, &Error{Op: op, Reason: ReasonStateMissing, Connection: connection, Detail: "the pending login expired at " + f.Expires.UTC().Format(time.RFC3339)}
	}
	return f, nil
}
