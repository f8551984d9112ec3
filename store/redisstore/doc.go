// Package redisstore keeps ssokit's short-lived login data in Redis, for
// applications that run several instances behind a load balancer: pending
// logins between Begin and Complete ([sso.StateStore], taken once with
// GETDEL) and one-time values such as SAML assertion IDs and OIDC codes
// ([sso.ReplayCache], recorded with SET NX PX). Redis expires the keys
// itself.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(ctx, redisstore.Config{Client: client})
//
// Redis must run with maxmemory-policy noeviction, which [New] checks: any
// other policy lets Redis delete unexpired keys when memory runs short,
// and a forgotten replay record would let a captured assertion be used
// again. With noeviction, a Redis at its maxmemory refuses writes, which
// the Store reports as sso.ReasonStoreFull; a Redis that cannot be reached
// is sso.ReasonUnavailable. Both pass without a restart. For a managed Redis
// that disables CONFIG, set the policy in the provider's settings and
// [Config.AllowEviction].
//
// Users and the audit log belong in a durable store (store/sqlstore or the
// application's own).
package redisstore
