// Package e2e holds the browser end-to-end tests of ssokit: a headless
// Chromium, driven with github.com/chromedp/chromedp, clicks through the
// demo application (examples/demo), started in this process with
// demoapp.Start, and its built-in mock identity providers. The identity
// providers run on 127.0.0.1 and the application on localhost, so the
// browser treats them as different sites: a cookie without the right
// SameSite attribute, or a form that a cross-site POST cannot complete,
// fails these tests.
//
// The package has only tests. They need the chromium program (Debian's
// package; `scripts/test.sh` installs it) and skip without it, except under
// CI=true where they fail. On a failure the test saves a screenshot and the
// page's HTML, to $E2E_SCREENSHOTS when set, otherwise to a temporary
// directory named in the failure message.
//
// TestReplicas needs no browser: it runs three replicas of the demo on one
// PostgreSQL database and one Redis server (started by internal/servertest,
// each behind a proxy the test takes down or stalls) behind a round-robin
// load balancer, and drives logins over HTTP as a browser would: SAML and
// OpenID Connect logins begun on one replica complete on another, an LDAP
// login, a response accepted by one replica is refused by another, an
// admin change on one takes effect on the others, and with Redis or
// PostgreSQL down or hanging every login is refused quickly and /healthz
// names the store, until it is back.
//
// TestAccessibility audits every page people and administrators see, at
// 1280 and 390 pixels: axe-core (installed with npm by
// scripts/install-test-deps.sh under $SSOKIT_TEST_CACHE, default
// ~/.cache/ssokit-test; never in the repository) finds no serious or
// critical violation, nothing scrolls sideways, controls are at least 24
// pixels (44 at the phone width, with touch) and the focus ring has 3:1
// contrast. It saves a screenshot of each page at both widths to
// $E2E_SCREENSHOTS, or to a temporary directory named in its log. Without
// axe-core the audit skips, or fails under CI=true.
package e2e
