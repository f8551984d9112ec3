package browser

import (
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is an HTML form of a page with its current values.
type Form struct {
	p       *Page
	node    *html.Node
	ID      string
	Method  string
	Action  *url.URL
	Values  url.Values
	buttons []*html.Node
}

// forms returns the page's forms in document order.
func (p *Page) forms() []*Form {
	var out []*Form
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f = p.newForm(n)
				out = append(out, f)
			case "input", "textarea", "select":
				if f != nil {
					f.addField(n)
				}
			case "button":
				if f != nil {
					f.buttons = append(f.buttons, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	if p.doc != nil {
		walk(p.doc, nil)
	}
	return out
}

func (p *Page) newForm(n *html.Node) *Form {
	f := &Form{p: p, node: n, Method: http.MethodGet, Values: url.Values{}}
	f.ID, _ = attr(n, "id")
	if m, ok := attr(n, "method"); ok && strings.EqualFold(m, "post") {
		f.Method = http.MethodPost
	}
	action, _ := attr(n, "action")
	u, err := p.URL.Parse(action)
	if err != nil {
		u = p.URL
	}
	f.Action = u
	return f
}

func (f *Form) addField(n *html.Node) {
	name, ok := attr(n, "name")
	if !ok || name == "" {
		return
	}
	typ, _ := attr(n, "type")
	switch strings.ToLower(typ) {
	case "submit", "button", "image", "reset":
		f.buttons = append(f.buttons, n)
		return
	case "checkbox", "radio":
		if _, checked := attr(n, "checked"); !checked {
			return
		}
	}
	v, _ := attr(n, "value")
	if n.Data == "textarea" {
		v = textOf(n)
	}
	f.Values.Add(name, v)
}

// Form returns the page's first form matching sel: "#id" for the form's
// id, otherwise a substring of its action URL's path. It fails the test
// when there is none.
func (p *Page) Form(sel string) *Form {
	p.b.t.Helper()
	for _, f := range p.forms() {
		if id, ok := strings.CutPrefix(sel, "#"); ok && f.ID == id || !strings.HasPrefix(sel, "#") && strings.Contains(f.Action.Path, sel) {
			return f
		}
	}
	p.b.t.Fatalf("%s: no form %q; page text: %s", p.URL, sel, p.Text())
	return nil
}

// HasForm reports whether the page has a form matching sel (see Form).
func (p *Page) HasForm(sel string) bool {
	for _, f := range p.forms() {
		if id, ok := strings.CutPrefix(sel, "#"); ok && f.ID == id || !strings.HasPrefix(sel, "#") && strings.Contains(f.Action.Path, sel) {
			return true
		}
	}
	return false
}

// Set sets a field's value, as typing into it does.
func (f *Form) Set(name, value string) *Form {
	f.Values.Set(name, value)
	return f
}

// Submit submits the form with Enter (no button's name and value).
func (f *Form) Submit() *Page {
	f.p.b.t.Helper()
	return f.p.b.do(f.request())
}

// Click clicks the first submit button, of any form of the page, whose
// text or value contains text, and returns the page that follows.
func (p *Page) Click(text string) *Page {
	p.b.t.Helper()
	for _, f := range p.forms() {
		for _, btn := range f.buttons {
			label := textOf(btn)
			if v, ok := attr(btn, "value"); ok && btn.Data == "input" {
				label = v
			}
			if !strings.Contains(label, text) {
				continue
			}
			if name, ok := attr(btn, "name"); ok && name != "" {
				v, _ := attr(btn, "value")
				f.Values.Set(name, v)
			}
			return p.b.do(f.request())
		}
	}
	p.b.t.Fatalf("%s: no button %q; page text: %s", p.URL, text, p.Text())
	return nil
}

// request builds the request a browser sends for the form.
func (f *Form) request() *http.Request {
	f.p.b.t.Helper()
	u := *f.Action
	var req *http.Request
	var err error
	if f.Method == http.MethodPost {
		req, err = http.NewRequest(http.MethodPost, u.String(), strings.NewReader(f.Values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", f.p.URL.Scheme+"://"+f.p.URL.Host)
		}
	} else {
		u.RawQuery = f.Values.Encode()
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
	}
	if err != nil {
		f.p.b.t.Fatalf("form of %s: %v", f.p.URL, err)
	}
	req.Header.Set("Sec-Fetch-Site", fetchSite(f.p.URL, &u))
	return req
}
