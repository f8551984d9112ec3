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
// Background fetches never use a caller's context: they run under a
// context of the Source's own, bounded by [Config.FetchTimeout] and
// cancelled by [Source.Close].
package refresh
