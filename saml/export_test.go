package saml

// ParseDuration exposes parseDuration to FuzzParseDuration.
var ParseDuration = parseDuration
