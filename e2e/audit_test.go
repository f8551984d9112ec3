package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ssokit/sso/internal/testenv"
)

// Every page a person or an administrator sees is audited at two widths,
// a desktop's 1280 px and a phone's 390 px (with touch): axe-core finds no
// serious or critical accessibility violation, nothing makes the page
// scroll sideways, controls are at least 24 px (44 px on the phone) and
// the keyboard focus ring has 3:1 contrast. A screenshot of each page at
// each width is saved to $E2E_SCREENSHOTS, or to a temporary directory
// named in the test log.

// axeVersion is the axe-core scripts/install-test-deps.sh installs.
const axeVersion = "4.14.1"

// widths are the audited viewport widths; the narrow one is a phone's,
// with touch, where controls must be 44 px.
var widths = []struct {
	px     int64
	height int64
	touch  bool
}{{1280, 900, false}, {390, 844, true}}

var axeOnce struct {
	sync.Once
	src string
	err error
}

// axeSource returns axe.min.js, installed by scripts/install-test-deps.sh
// under $SSOKIT_TEST_CACHE (default ~/.cache/ssokit-test), or found in a
// node_modules of $AXE_CORE_DIR. Without it the test skips, or fails
// under CI=true.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		var dirs []string
		if d := os.Getenv("AXE_CORE_DIR"); d != "" {
			dirs = append(dirs, d)
		}
		cache := os.Getenv("SSOKIT_TEST_CACHE")
		if cache == "" {
			if c, err := os.UserCacheDir(); err == nil {
				cache = filepath.Join(c, "ssokit-test")
			}
		}
		if cache != "" {
			dirs = append(dirs, filepath.Join(cache, "node_modules", "axe-core"))
		}
		for _, d := range dirs {
			if b, err := os.ReadFile(filepath.Join(d, "axe.min.js")); err == nil {
				axeOnce.src = string(b)
				return
			}
		}
		axeOnce.err = fmt.Errorf("axe-core %s is not installed (looked in %s)", axeVersion, strings.Join(dirs, ", "))
	})
	if axeOnce.err != nil {
		testenv.Missing(t, axeOnce.err.Error())
	}
	return axeOnce.src
}

var shots struct {
	sync.Once
	dir string
	err error
}

// screenshotDir returns where screenshots go: $E2E_SCREENSHOTS, or a
// temporary directory made once per test binary.
func screenshotDir(t *testing.T) string {
	t.Helper()
	shots.Do(func() {
		if shots.dir = os.Getenv("E2E_SCREENSHOTS"); shots.dir != "" {
			shots.err = os.MkdirAll(shots.dir, 0o755)
			return
		}
		shots.dir, shots.err = os.MkdirTemp("", "ssokit-e2e-screenshots-")
	})
	if shots.err != nil {
		t.Fatal(shots.err)
	}
	t.Logf("screenshots in %s", shots.dir)
	return shots.dir
}

// auditJS runs axe-core on the page and returns its serious and critical
// violations as JSON.
const auditJS = `(async () => {
  const r = await axe.run(document, {resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}});
  return JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").split("\n").slice(1, 2).join(""))})));
})()`

// describeJS names an element for a failure message.
const describeJS = `function desc(e) { let s = e.tagName.toLowerCase(); if (e.id) s += "#" + e.id; else if (typeof e.className === "string" && e.className) s += "." + e.className.trim().split(/\s+/).join("."); return s; }`

// layoutJS reports the page's horizontal overflow and the controls smaller
// than min px (checkboxes and radio buttons: 24 px).
const layoutJS = `((min) => { ` + describeJS + `
  const w = document.documentElement.clientWidth, over = [], small = [];
  if (document.documentElement.scrollWidth > w + 1) {
    document.querySelectorAll("body *").forEach(e => { const r = e.getBoundingClientRect(); if (r.width > 0 && r.right > w + 1) over.push(desc(e) + " to " + Math.round(r.right) + "px"); });
  }
  document.querySelectorAll("button, a.button, input:not([type=hidden]), select, textarea, summary").forEach(e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === "hidden") return;
    const need = (e.type === "checkbox" || e.type === "radio") ? 24 : min;
    if (r.height < need - 0.5 || r.width < 24 - 0.5) small.push(desc(e) + " " + Math.round(r.width) + "x" + Math.round(r.height));
  });
  return JSON.stringify({scrollWidth: document.documentElement.scrollWidth, width: w, over: over.slice(0, 8), small: small.slice(0, 8)});
})`

// focusJS reports the outline of the focused element.
const focusJS = `(() => { ` + describeJS + `
  const e = document.activeElement;
  if (!e || e === document.body) return JSON.stringify({el: ""});
  const s = getComputedStyle(e);
  return JSON.stringify({el: desc(e), style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0, color: s.outlineColor});
})()`

type violation struct {
	ID, Impact, Help string
	Nodes            []string
}

// audit checks the page the tab shows at both widths and saves its
// screenshots as name-1280.png and name-390.png.
func (tb *tab) audit(name string) {
	tb.t.Helper()
	src := axeSource(tb.t)
	dir := screenshotDir(tb.t)
	defer tb.do("restoring the viewport", chromedp.ResetViewport())
	for _, w := range widths {
		opts := []chromedp.EmulateViewportOption{}
		if w.touch {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		tb.do(fmt.Sprintf("setting the viewport to %d px", w.px), chromedp.EmulateViewport(w.px, w.height, opts...), chromedp.Sleep(150*time.Millisecond))
		at := fmt.Sprintf("%s at %d px", name, w.px)

		png := run(tb, "screenshot of "+at, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w.px)), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}

		min := 24
		if w.touch {
			min = 44
		}
		var layout struct {
			ScrollWidth, Width int
			Over, Small        []string
		}
		raw := run(tb, "measuring "+at, chromedp.Evaluate[string](layoutJS+"("+strconv.Itoa(min)+")"))
		if err := json.Unmarshal([]byte(raw), &layout); err != nil {
			tb.fail("layout of %s: %v", at, err)
		}
		if layout.ScrollWidth > layout.Width+1 {
			tb.fail("%s scrolls sideways: %d px wide in a %d px viewport; too wide: %s", at, layout.ScrollWidth, layout.Width, strings.Join(layout.Over, ", "))
		}
		if len(layout.Small) > 0 {
			tb.fail("%s has controls smaller than %d px: %s", at, min, strings.Join(layout.Small, ", "))
		}

		if ok := run(tb, "looking for axe", chromedp.Evaluate[bool](`typeof axe === "object"`)); !ok {
			tb.do("loading axe-core", chromedp.Evaluate[chromedp.Void](src+";undefined"))
		}
		raw = run(tb, "running axe-core on "+at, chromedp.Evaluate[string](auditJS, chromedp.EvalAwaitPromise))
		var vs []violation
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			tb.fail("axe-core on %s: %v in %s", at, err, raw)
		}
		if len(vs) > 0 {
			var b strings.Builder
			for _, v := range vs {
				fmt.Fprintf(&b, "\n  %s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
			}
			tb.fail("axe-core finds %d serious or critical violations on %s:%s", len(vs), at, b.String())
		}
	}
	tb.checkFocusRing(name)
}

// checkFocusRing moves the keyboard focus to the page's first control and
// checks its outline: solid, at least 2 px, 3:1 against white and the
// page's grey.
func (tb *tab) checkFocusRing(name string) {
	tb.t.Helper()
	tb.do("pressing Tab on "+name, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur && document.activeElement.blur(); undefined`), chromedp.KeyEvent("\t"))
	var f struct {
		El, Style, Color string
		Width            float64
	}
	raw := run(tb, "reading the focus ring of "+name, chromedp.Evaluate[string](focusJS))
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		tb.fail("focus ring of %s: %v", name, err)
	}
	if f.El == "" {
		tb.fail("Tab focuses nothing on %s", name)
	}
	c, ok := parseRGB(f.Color)
	if f.Style == "none" || f.Width < 2 || !ok {
		tb.fail("the focus ring of %s on %s is %s %.1fpx %s; want a visible outline of 2px or more", f.El, name, f.Style, f.Width, f.Color)
	}
	for _, bg := range [][3]float64{{255, 255, 255}, {0xf6, 0xf7, 0xf9}} {
		if r := contrast(c, bg); r < 3 {
			tb.fail("the focus ring of %s on %s (%s) has %.2f:1 contrast with rgb%v; want 3:1", f.El, name, f.Color, r, bg)
		}
	}
}

func parseRGB(s string) ([3]float64, bool) {
	var c [3]float64
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "rgba("), "rgb("), ")")
	parts := strings.Split(s, ",")
	if len(parts) < 3 {
		return c, false
	}
	for i := range 3 {
		v, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		if err != nil {
			return c, false
		}
		c[i] = v
	}
	return c, true
}

// contrast is the WCAG contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			v /= 255
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}
