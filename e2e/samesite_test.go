package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSameSiteIsEnforced checks the premise of the other tests: the
// browser treats the identity providers' 127.0.0.1 and the application's
// localhost as different sites, so a SameSite=Lax cookie is left out of an
// identity provider's cross-site form POST, while a SameSite=None; Secure
// cookie is sent on it (http://localhost counts as a secure context).
func TestSameSiteIsEnforced(t *testing.T) {
	tb := newTab(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/set":
			http.SetCookie(w, &http.Cookie{Name: "lax", Value: "1", Path: "/", SameSite: http.SameSiteLaxMode})
			http.SetCookie(w, &http.Cookie{Name: "none", Value: "1", Path: "/", Secure: true, SameSite: http.SameSiteNoneMode})
			fmt.Fprint(w, `<p id="set">set</p>`)
		case "/echo":
			var names []string
			for _, c := range r.Cookies() {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			fmt.Fprintf(w, `<p id="got">%s</p>`, html.EscapeString(strings.Join(names, " ")+" ("+r.Method+")"))
		}
	}))
	defer app.Close()
	appURL := strings.Replace(app.URL, "127.0.0.1", "localhost", 1)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="%s/echo"><input type="hidden" name="SAMLResponse" value="x"><button id="go" type="submit">Go</button></form>`, appURL)
	}))
	defer idp.Close()

	tb.do("posting from 127.0.0.1 to localhost",
		chromedp.Navigate(appURL+"/set"),
		chromedp.WaitVisible(chromedp.CSS("#set")),
		chromedp.Navigate(idp.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#go")),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("#got")),
	)
	if got := tb.text("#got"); got != "none (POST)" {
		tb.fail("the cross-site POST carried the cookies %q, want only %q: the browser does not enforce SameSite as the tests assume", got, "none (POST)")
	}
}
