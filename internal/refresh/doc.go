// Package refresh keeps a value that is fetched over the network, such as
// an identity provider's metadata, an OIDC discovery document or a JWKS,
// fresh in the background.
//
// [New] fetches the value once, synchronously, and then refreshes it on a
// schedule the fetch itself proposes (a metadata document's validUntil or
// cacheDuration, an HTTP Cache-Control max-age), clamped to a configured
// range. Readers call [Source.Current], which never blocks and never does
// I/O. A failed refresh keeps the last good value and is retried with
// backoff; a refreshed value that [Config.Accept] refuses (for example
// metadata that would drop every certificate the identity provider signs
// with today) is held back and reported instead of applied. [Source.Refresh]
// forces a refresh, and concurrent calls share one fetch. Every outcome is
// reported through [Config.OnEvent].
//
// [NewLazy] does no I/O and starts no goroutine: readers call [Source.Get],
// which fetches the value on first use and refreshes it on the first use
// after it is due, so a value nobody uses is never fetched. A failed first
// fetch is the error of the Get calls that waited for it, and the next Get
// tries again. [Source.RefreshLimited] is the rate-limited refresh for
// fetches that untrusted input can cause, such as a token naming an
// unknown key.
//
// Fetches never use a caller's context, except New's for the first fetch:
// they run under a context of the Source's own, bounded by
// [Config.FetchTimeout] and cancelled by [Source.Close]. A caller's context
// bounds only its wait, so one impatient caller does not fail the others.
package refresh
