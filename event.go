package sso

import (
	"context"
	"time"
)

// EventType names an [Event].
type EventType string

// Event types. Their string values are stable.
const (
	EventLoginSucceeded       EventType = "login_succeeded"
	EventLoginFailed          EventType = "login_failed"
	EventPasswordRefused      EventType = "password_refused"
	EventUserCreated          EventType = "user_created"
	EventUserLinked           EventType = "user_linked"
	EventUserUpdated          EventType = "user_updated"
	EventOrganisationCreated  EventType = "organisation_created"
	EventPolicyChanged        EventType = "policy_changed"
	EventPolicyDryRunRefusal  EventType = "policy_dry_run_refusal"
	EventConnectionChanged    EventType = "connection_changed"
	EventConnectionLive       EventType = "connection_live"
	EventCertificateExpiring  EventType = "certificate_expiring"
	EventCertificateExpired   EventType = "certificate_expired"
	EventMetadataRefreshed    EventType = "metadata_refreshed"
	EventMetadataRefreshError EventType = "metadata_refresh_failed"
	EventMetadataHeldBack     EventType = "metadata_held_back"
	EventWarning              EventType = "warning"
	// EventNetworkDryRunRefusal: a login from outside an account's or
	// connection's allowed networks, allowed because the list runs in dry
	// run (login.Networks.DryRun).
	EventNetworkDryRunRefusal EventType = "network_dry_run_refusal"
	// EventLogout: sessions ended by a logout the identity provider
	// started (single logout). Attrs "partial" is "true" when some could
	// not be ended.
	EventLogout EventType = "logout"
	// EventTestLogin: an administrator's test login reached its result
	// page. Reason is empty when the person could log in as the test
	// showed, or the Reason a real login would be refused with; User is
	// the user the login would reach, where known.
	EventTestLogin EventType = "test_login"
)

// Keys of [Event.Attrs] that more than one package sets.
const (
	// AttrReference holds the short reference of a login (e.g.
	// "K7Q2-M4XD") that the login handler's error page shows the person,
	// so that an administrator can find the events of the login the
	// person tells them about.
	AttrReference = "ref"
	// AttrTest is "true" on the events of an administrator's test login.
	AttrTest = "test"
	// AttrSignedBy holds [Identity.SignedBy] on login events: which of the
	// issuer's keys signed the login.
	AttrSignedBy = "signed_by"
)

// Event is an audit or warning record for the host's log. Packages report
// events through an [EventFunc] in their Config; a nil EventFunc drops them.
type Event struct {
	// Type says what happened.
	Type EventType
	// Time is when it happened, from the reporting package's clock.
	Time time.Time
	// Account is the account (tenant) the event is about, where known.
	Account string
	// Connection is the connection involved, where known, and Protocol
	// its protocol.
	Connection string
	Protocol   Protocol
	// User is the host application's user ID, where known.
	User string
	// Subject is the identity provider's identifier of the person, where
	// known.
	Subject string
	// Reason is set for failures and warnings.
	Reason Reason
	// Detail is a human-readable explanation for administrators.
	Detail string
	// Attrs holds further event-specific values (e.g. a certificate's
	// expiry date). It never holds secrets.
	Attrs map[string]string
}

// EventFunc receives events. It is called synchronously from the goroutine
// that produced the event and must be safe for concurrent use; it should not
// block.
type EventFunc func(ctx context.Context, e Event)

// Emit calls f if it is not nil.
func (f EventFunc) Emit(ctx context.Context, e Event) {
	if f != nil {
		f(ctx, e)
	}
}
