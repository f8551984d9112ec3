// Package bench measures ssokit against its peers in one test binary, on
// the same inputs, and drives concurrent logins through login.Handler while
// the identity providers and the directory misbehave.
//
// The benchmarks live in the package's tests:
//
//	go test -run '^$' -bench . -benchmem
//
// run.sh runs them several times, interleaved, and writes README.md with
// the table of ratios to one RSA-2048 signature verification measured in
// the same run. Every benchmark first shows that each library accepts the
// input it is timed on and refuses a tampered copy.
//
// This is a module of its own: the peers (github.com/crewjam/saml,
// github.com/coreos/go-oidc/v3) never enter the library's go.mod.
package bench
