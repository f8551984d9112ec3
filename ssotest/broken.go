package ssotest

import (
	"context"
	"sync"
	"time"

	"github.com/ssokit/sso"
)

// LeakyStateStore is a broken sso.StateStore whose Take returns a value
// without deleting it: it stands in for a durable store that fails to
// consume records, or a pending-login cookie a browser sends again, to show
// that an Authenticator's replay records still let each pending login
// complete only once. It is safe for concurrent use.
type LeakyStateStore struct{ m sync.Map }

// Put stores value under key; expiry is ignored.
func (s *LeakyStateStore) Put(_ context.Context, key string, value []byte, _ time.Time) error {
	s.m.Store(key, value)
	return nil
}

// Take returns the value under key and keeps it.
func (s *LeakyStateStore) Take(_ context.Context, key string) ([]byte, error) {
	v, ok := s.m.Load(key)
	if !ok {
		return nil, &sso.Error{Op: "ssotest.LeakyStateStore.Take", Reason: sso.ReasonStateMissing, Detail: "no such key"}
	}
	return v.([]byte), nil
}

// FailingReplayCache is an sso.ReplayCache whose every Seen fails with an
// *sso.Error of its Reason (sso.ReasonStoreFull, sso.ReasonUnavailable...),
// to show that a login is refused, never accepted, without its replay
// check.
type FailingReplayCache struct{ Reason sso.Reason }

// Seen fails.
func (f FailingReplayCache) Seen(context.Context, string, time.Time) (bool, error) {
	return false, &sso.Error{Op: "ssotest.FailingReplayCache.Seen", Reason: f.Reason, Detail: "the replay cache is " + string(f.Reason)}
}

// Confusables are spellings of ASCII email addresses with one non-ASCII
// character that Unicode case folding or lower-casing turns into an ASCII
// letter, or that merely looks like one: Spelt must never compare equal to
// ASCII, however case is ignored.
var Confusables = []struct{ Name, Spelt, ASCII string }{
	{"Kelvin sign U+212A", "ali\u212Ae@corp.example", "alike@corp.example"},
	{"long s U+017F", "\u017Fam@corp.example", "sam@corp.example"},
	{"dotless i U+0131", "\u0131van@corp.example", "ivan@corp.example"},
	{"capital I with dot U+0130", "\u0130van@corp.example", "ivan@corp.example"},
	{"fullwidth a U+FF41", "\uFF41lice@corp.example", "alice@corp.example"},
	{"fullwidth A U+FF21", "\uFF21lice@corp.example", "alice@corp.example"},
}
