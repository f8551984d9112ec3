package sso

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"sort"
)

// autoSubmitScript submits the page's only form. Its hash is allowed by the
// Content-Security-Policy that Write sends, so no other script can run.
const autoSubmitScript = `document.forms[0].submit();`

var autoSubmitCSP = func() string {
	sum := sha256.Sum256([]byte(autoSubmitScript))
	return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; form-action *; frame-ancestors 'none'"
}()

var autoSubmitPage = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title>
<meta name="referrer" content="no-referrer"></head>
<body><form method="post" action="{{.URL}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off. Press the button to continue signing in.</p>
<button type="submit">Continue</button></noscript>
</form><script>` + autoSubmitScript + `</script></body></html>
`))

type formField struct{ Name, Value string }

// Write performs a StepRedirect or StepPostForm on w: a 303 redirect, or an
// auto-submitting HTML form (with a Content-Security-Policy that allows only
// its own one-line script). Responses are marked uncacheable. Other kinds
// return an error: the host renders its own password prompt.
func (s *Step) Write(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	switch s.Kind {
	case StepRedirect:
		http.Redirect(w, r, s.URL, http.StatusSeeOther)
		return nil
	case StepPostForm:
		fields := make([]formField, 0, len(s.Form))
		keys := make([]string, 0, len(s.Form))
		for k := range s.Form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range s.Form[k] {
				fields = append(fields, formField{k, v})
			}
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", autoSubmitCSP)
		w.WriteHeader(http.StatusOK)
		return autoSubmitPage.Execute(w, struct {
			URL    string
			Fields []formField
		}{s.URL, fields})
	default:
		return errors.New("sso: Step.Write: a " + s.Kind.String() + " step is rendered by the host")
	}
}
