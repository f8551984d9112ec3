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
package e2e
