package oidc

// Test hooks.

// JWKSFetches returns how many times the JWKS was fetched.
func (c *Connection) JWKSFetches() int64 { return c.jwksFetches.Load() }

// DiscoveryFetches returns how many times discovery ran.
func (c *Connection) DiscoveryFetches() int64 { return c.discoveries.Load() }
