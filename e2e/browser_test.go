package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one step of a scenario (a navigation, a click and the
// wait for the next page).
const stepTimeout = 20 * time.Second

// browser is the one headless Chromium of the test binary.
type browser struct {
	ctx         context.Context // the first tab's context; its Browser is shared
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	profile     string
}

// startBrowser starts Chromium with a new empty profile.
func startBrowser(path string) (_ *browser, err error) {
	b := &browser{}
	if b.profile, err = os.MkdirTemp("", "ssokit-e2e-chromium-"); err != nil {
		return nil, err
	}
	alloc, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in containers; the pages are our own
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(b.profile),
		chromedp.WindowSize(1024, 900),
	)
	b.allocCancel = allocCancel
	b.ctx, b.cancel = chromedp.NewContext(alloc)
	if err := chromedp.Do(b.ctx); err != nil { // starts the browser, with no timeout
		b.close()
		return nil, fmt.Errorf("starting chromium %s: %w", path, err)
	}
	return b, nil
}

func (b *browser) close() {
	b.cancel()
	b.allocCancel()
	_ = os.RemoveAll(b.profile)
}

// tab is one scenario's window in a fresh browser context: its own cookies
// and storage, like an incognito window.
type tab struct {
	t    *testing.T
	ctx  context.Context
	demo *demo
}

// newTab opens a window in a new browser context for the test.
func newTab(t *testing.T) *tab {
	t.Helper()
	d, b := setup(t)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, with no timeout
		t.Fatalf("opening a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx, demo: d}
}

// do runs the steps within stepTimeout; on failure it saves a screenshot
// and the page, and fails the test naming what was being done.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.fail("%s: %v", what, err)
	}
}

// run runs one step that returns a value.
func run[T any](tb *tab, what string, step chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, step)
	if err != nil {
		tb.fail("%s: %v", what, err)
	}
	return v
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// fail saves a screenshot and the HTML of the page and fails the test.
func (tb *tab) fail(format string, args ...any) {
	tb.t.Helper()
	msg := fmt.Sprintf(format, args...)
	dir := os.Getenv("E2E_SCREENSHOTS")
	var err error
	if dir != "" {
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "ssokit-e2e-failure-")
	}
	if err != nil {
		tb.t.Fatalf("%s (no screenshot: %v)", msg, err)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	name := unsafeName.ReplaceAllString(tb.t.Name(), "_")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	var saved []string
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		p := filepath.Join(dir, name+".png")
		if os.WriteFile(p, png, 0o644) == nil {
			saved = append(saved, p)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		p := filepath.Join(dir, name+".html")
		if os.WriteFile(p, []byte("<!-- "+loc+" -->\n"+html), 0o644) == nil {
			saved = append(saved, p)
		}
	}
	tb.t.Fatalf("%s\nat %s\nsaved: %s", msg, loc, strings.Join(saved, ", "))
}

// text returns the visible text of the first element matching sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return run(tb, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// wantText fails unless the element matching sel contains each of parts.
func (tb *tab) wantText(sel string, parts ...string) {
	tb.t.Helper()
	got := tb.text(sel)
	for _, p := range parts {
		if !strings.Contains(got, p) {
			tb.fail("%s says %q, want it to contain %q", sel, got, p)
		}
	}
}

// waitFor waits until the JavaScript expression is true, through the
// navigations of a chain of redirects and auto-posted forms (a page that
// goes away while it is polled is polled again on the next one).
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			tb.fail("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// location returns the page's URL.
func (tb *tab) location() string {
	tb.t.Helper()
	return run(tb, "reading the location", chromedp.Location())
}

// wantAt fails unless the page's URL starts with prefix.
func (tb *tab) wantAt(prefix string) {
	tb.t.Helper()
	if loc := tb.location(); !strings.HasPrefix(loc, prefix) {
		tb.fail("at %s, want a page at %s...", loc, prefix)
	}
}

// me is the part of the demo's /me answer the tests check.
type me struct {
	User struct {
		Email string `json:"email"`
	} `json:"user"`
	Method   string              `json:"method"`
	Accounts []string            `json:"accounts"`
	Roles    map[string][]string `json:"roles"`
	Refused  []struct {
		Account string `json:"account"`
		Reason  string `json:"reason"`
	} `json:"refused"`
	Identity *struct {
		Connection    string `json:"connection"`
		Protocol      string `json:"protocol"`
		Issuer        string `json:"issuer"`
		Subject       string `json:"subject"`
		IdPInitiated  bool   `json:"idp_initiated"`
		EmailVerified bool   `json:"email_verified"`
	} `json:"identity"`
	Provisioning *struct {
		Match        string `json:"match"`
		Created      bool   `json:"created"`
		Linked       bool   `json:"linked"`
		Organisation string `json:"organisation"`
	} `json:"provisioning"`
}

// fetchMe opens /me in the tab, with the browser's own cookies, and
// returns the status and the decoded answer.
func (tb *tab) fetchMe() (int, me) {
	tb.t.Helper()
	resp := run(tb, "opening /me", chromedp.NavigateResponse(tb.demo.URL+"/me"))
	raw := run(tb, "reading /me", chromedp.Evaluate[string](`(document.querySelector("pre") || document.body).textContent`))
	var m me
	if resp.Status == 200 {
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			tb.fail("/me: %v in %q", err, raw)
		}
	}
	return int(resp.Status), m
}

// wantMe fails unless /me answers 200 and returns the answer.
func (tb *tab) wantMe() me {
	tb.t.Helper()
	st, m := tb.fetchMe()
	if st != 200 {
		tb.fail("/me: status %d, want 200 (logged in)", st)
	}
	return m
}

// wantLoggedOut fails unless /me answers 401.
func (tb *tab) wantLoggedOut() {
	tb.t.Helper()
	if st, m := tb.fetchMe(); st != 401 {
		tb.fail("/me: status %d (%+v), want 401 (logged out)", st, m)
	}
}
