// Package redisstore keeps ssokit's short-lived login data in Redis, for
// applications that run several instances behind a load balancer: pending
// logins between Begin and Complete ([sso.StateStore], taken once with
// GETDEL) and one-time values such as SAML assertion IDs and OIDC codes
// ([sso.ReplayCache], recorded with SET NX PX). Redis expires the keys
// itself.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(redisstore.Config{Client: client})
//
// Users and the audit log belong in a durable store (store/sqlstore or the
// application's own).
package redisstore
