-- Login binding keeps no records in the user store any more: the identity
-- that waits for a password lives in the login handler's state store, and
-- a password login made before a single sign-on is sealed into the
-- browser's pending login.
DROP TABLE sso_bindings;
