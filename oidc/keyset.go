package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/sso"
)

// keySet is a provider's JWKS, cached. It is fetched on first use, again
// when older than maxAge, and again when a token names an unknown key, but
// never more often than once per minInterval for unknown keys. Concurrent
// fetches are coalesced into one. It is safe for concurrent use.
type keySet struct {
	conn        string
	client      *http.Client
	maxBytes    int64
	timeout     time.Duration
	now         func() time.Time
	maxAge      time.Duration
	minInterval time.Duration
	events      sso.EventFunc

	mu          sync.Mutex
	url         string
	keys        []jose.JSONWebKey
	gen         uint64    // changes whenever keys are replaced
	fetched     time.Time // last successful fetch
	lastAttempt time.Time // last fetch attempt, successful or not
	inflight    *keyFetch

	fetches atomic.Int64 // number of fetches, for tests
}

type keyFetch struct {
	done chan struct{}
	keys []jose.JSONWebKey
	err  error
}

// setURL changes the JWKS URL (after a discovery refresh). Cached keys are
// dropped when it changes.
func (k *keySet) setURL(u string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.url != u {
		k.url, k.keys, k.fetched, k.lastAttempt = u, nil, time.Time{}, time.Time{}
		k.gen++
	}
}

// current returns the cached keys and their generation, fetching them
// when there are none or they are older than maxAge. A failed refresh of
// stale keys keeps them.
func (k *keySet) current(ctx context.Context) ([]jose.JSONWebKey, uint64, error) {
	k.mu.Lock()
	keys, gen, fetched, last := k.keys, k.gen, k.fetched, k.lastAttempt
	k.mu.Unlock()
	now := k.now()
	if keys != nil && now.Sub(fetched) < k.maxAge {
		return keys, gen, nil
	}
	if keys != nil && now.Sub(last) < k.minInterval {
		return keys, gen, nil // a refresh failed a moment ago: keep the old keys
	}
	fresh, err := k.refetch(ctx)
	if err != nil {
		if keys != nil {
			k.events.Emit(ctx, sso.Event{Type: sso.EventMetadataRefreshError, Time: now, Connection: k.conn, Reason: sso.ReasonOf(err), Detail: "JWKS refresh failed; keeping the cached keys: " + err.Error()})
			return keys, gen, nil
		}
		return nil, 0, err
	}
	k.mu.Lock()
	gen = k.gen
	k.mu.Unlock()
	return fresh, gen, nil
}

// refetchAllowed reports whether an unknown key may trigger a fetch now,
// and when the next one is allowed otherwise. It also returns the cached
// keys and their generation: another login may have refetched them since
// the caller looked.
func (k *keySet) refetchAllowed() (ok bool, next time.Time, keys []jose.JSONWebKey, gen uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	next = k.lastAttempt.Add(k.minInterval)
	return k.inflight != nil || !k.now().Before(next), next, k.keys, k.gen
}

// refetch fetches the JWKS, or waits for a fetch already under way. The
// fetch does not stop when ctx is cancelled, so one impatient caller does
// not fail the others; it is bounded by the client's timeout.
func (k *keySet) refetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		f = &keyFetch{done: make(chan struct{})}
		k.inflight = f
		url := k.url
		k.lastAttempt = k.now()
		k.mu.Unlock()
		go k.run(context.WithoutCancel(ctx), f, url)
	} else {
		k.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.keys, f.err
	case <-ctx.Done():
		return nil, &sso.Error{Op: "oidc.keySet", Reason: sso.ReasonUnavailable, Connection: k.conn, Detail: "gave up waiting for the JWKS", Err: ctx.Err()}
	}
}

func (k *keySet) run(ctx context.Context, f *keyFetch, url string) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	k.fetches.Add(1)
	keys, err := k.fetch(ctx, url)
	f.keys, f.err = keys, err
	k.mu.Lock()
	if err == nil && k.url == url {
		k.keys, k.fetched = keys, k.now()
		k.gen++
	}
	k.inflight = nil
	k.mu.Unlock()
	if err == nil {
		k.events.Emit(ctx, sso.Event{Type: sso.EventMetadataRefreshed, Time: k.now(), Connection: k.conn, Detail: "JWKS fetched", Attrs: map[string]string{"url": url, "keys": itoa(len(keys))}})
	}
	close(f.done)
}

func (k *keySet) fetch(ctx context.Context, url string) ([]jose.JSONWebKey, error) {
	const op = "oidc.keySet"
	b, err := get(ctx, k.client, url, k.maxBytes)
	if err != nil {
		return nil, fetchFailed(op, k.conn, "JWKS "+url, err)
	}
	keys, skipped, err := parseJWKS(b)
	if err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Connection: k.conn, Detail: "the JWKS at " + url + " is invalid: " + err.Error(), Err: err}
	}
	if len(keys) == 0 {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Connection: k.conn, Detail: "the JWKS at " + url + " holds no usable signing key" + skippedNote(skipped)}
	}
	return keys, nil
}

func skippedNote(n int) string {
	if n == 0 {
		return ""
	}
	return " (" + itoa(n) + " keys skipped: encryption, symmetric or unknown key types)"
}

// parseJWKS returns the public signing keys of a JWKS. Keys of unknown
// type, encryption keys, symmetric keys and private keys are skipped.
func parseJWKS(b []byte) (keys []jose.JSONWebKey, skipped int, err error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, 0, err
	}
	if raw.Keys == nil {
		return nil, 0, errors.New(`no "keys" array`)
	}
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			skipped++ // unknown kty or curve, or a malformed key: others may serve
			continue
		}
		// IsPublic is false for private and symmetric (oct) keys.
		if (k.Use != "" && k.Use != "sig") || !k.Valid() || !k.IsPublic() {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// candidates returns the keys that may have signed a token with kid and
// alg: the key with that ID, or, for a token without kid, every key whose
// type suits alg.
func candidates(keys []jose.JSONWebKey, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if !keyFitsAlg(k, alg) {
			continue
		}
		out = append(out, k)
	}
	return out
}

func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	switch alg[:2] {
	case "RS", "PS":
		_, ok := k.Key.(*rsa.PublicKey)
		return ok
	case "ES":
		_, ok := k.Key.(*ecdsa.PublicKey)
		return ok
	case "Ed":
		_, ok := k.Key.(ed25519.PublicKey)
		return ok
	}
	return false
}
