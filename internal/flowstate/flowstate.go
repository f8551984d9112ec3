// Package flowstate is what the redirect protocols share about pending
// logins and one-time values: which [sso.Flows] keeps pending logins, the
// checks every pending login passes when it is taken back, and how a
// replay cache's failure is reported.
package flowstate

import (
	"context"
	"errors"
	"time"

	"github.com/ssokit/sso"
)

// Of returns flows, or when it is nil the pending logins kept in store
// under the browser binding.
func Of(flows sso.Flows, store sso.StateStore, binding string) sso.Flows {
	if flows != nil {
		return flows
	}
	return sso.StoreFlows(store, binding)
}

// Take takes the pending login id from flows and checks that it was begun
// by connection and is still live at now. The login is consumed even when
// a check fails, so a handle is never tried twice.
func Take(ctx context.Context, flows sso.Flows, id, connection string, now time.Time) (*sso.Flow, error) {
	const op = "sso.TakeFlow"
	if id == "" {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonStateMissing, Connection: connection, Detail: "the answer carries no state handle"}
	}
	f, err := flows.Take(ctx, id)
	if err != nil {
		var e *sso.Error
		if errors.As(err, &e) && e.Connection == "" {
			e.Connection = connection
		}
		return nil, err
	}
	switch {
	case f.Connection != connection:
		return nil, &sso.Error{Op: op, Reason: sso.ReasonStateMismatch, Connection: connection, Detail: "the pending login was started for another connection", Expected: f.Connection, Actual: connection}
	case !now.Before(f.Expires):
		return nil, &sso.Error{Op: op, Reason: sso.ReasonStateMissing, Connection: connection, Detail: "the pending login expired at " + f.Expires.UTC().Format(time.RFC3339)}
	}
	return f, nil
}

// ReplayFailure is the Reason of a replay cache failure: the cache's own
// when it says it is full or unreachable, ReasonInternal otherwise. Either
// way the login is refused: nothing is accepted without its replay check.
func ReplayFailure(err error) sso.Reason {
	switch r := sso.ReasonOf(err); r {
	case sso.ReasonStoreFull, sso.ReasonUnavailable:
		return r
	}
	return sso.ReasonInternal
}
