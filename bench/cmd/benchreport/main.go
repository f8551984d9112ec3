// Command benchreport reads the output of several interleaved runs of the
// bench module's benchmarks (go test -bench, one run after the other in
// one file) and writes bench/README.md: the table of medians with ratios
// to the RSA-2048 floor measured in the same run, an SVG bar chart of the
// ratios, the machine, the date and the commit.
//
//	go run ./cmd/benchreport -in raw.txt -load load.md -commit abc1234 -out README.md -svg ratios.svg
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// run is one round: benchmark name (without the -GOMAXPROCS suffix) ->
// unit -> value.
type run map[string]map[string]float64

var (
	reBench = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)
	reCPU   = regexp.MustCompile(`^cpu:\s*(.*)$`)
)

// parse splits the output into rounds at each "goos:" header.
func parse(r io.Reader) (runs []run, cpu string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur run
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "goos:") {
			cur = run{}
			runs = append(runs, cur)
			continue
		}
		if m := reCPU.FindStringSubmatch(line); m != nil {
			cpu = m[1]
			continue
		}
		m := reBench.FindStringSubmatch(line)
		if m == nil || cur == nil {
			continue
		}
		f := strings.Fields(m[2])
		vals := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, "", fmt.Errorf("%q: %v", line, err)
			}
			vals[f[i+1]] = v
		}
		cur[m[1]] = vals
	}
	return runs, cpu, sc.Err()
}

// row is one line of the table.
type row struct {
	work, impl, bench string
	// unit is the time measured (ns/op unless stated); base names the
	// benchmark the "x base" column divides by (empty: none).
	unit, base string
	// extra lists further metrics to show, with their labels.
	extra [][2]string
	ours  bool
}

var rows = []row{
	{work: "RSA-2048 signature verification (the floor)", impl: "crypto/rsa", bench: "RSAVerify"},
	{work: "SAML response check (5 KB, one signed assertion)", impl: "ssokit", bench: "SAMLResponse/ssokit", ours: true},
	{work: "", impl: "gosaml2 v0.11.0 + caller's checks", bench: "SAMLResponse/gosaml2", base: "SAMLResponse/ssokit"},
	{work: "", impl: "crewjam/saml v0.6.3", bench: "SAMLResponse/crewjam", base: "SAMLResponse/ssokit"},
	{work: "OIDC ID token verification (RS256)", impl: "ssokit", bench: "OIDCIDToken/ssokit", ours: true},
	{work: "", impl: "coreos/go-oidc v3.21.0", bench: "OIDCIDToken/go-oidc", base: "OIDCIDToken/ssokit"},
	{work: "", impl: "zitadel/oidc v3.51.17", bench: "OIDCIDToken/zitadel", base: "OIDCIDToken/ssokit"},
	{work: "discovery hit (claimed domain among 1,000,000)", impl: "ssokit Table.Lookup", bench: "Discovery/hit/ssokit", base: "Discovery/hit/map", ours: true, extra: [][2]string{{"B/domain", "B/domain"}}},
	{work: "", impl: "Go map[string]string", bench: "Discovery/hit/map", extra: [][2]string{{"B/domain", "B/domain"}}},
	{work: "discovery miss (unclaimed domain)", impl: "ssokit Table.Lookup", bench: "Discovery/miss/ssokit", base: "Discovery/miss/map", ours: true},
	{work: "", impl: "Go map[string]string", bench: "Discovery/miss/map"},
	{work: "LDAP login against slapd (StartTLS, search, bind, groups)", impl: "ssokit, pooled", bench: "LDAPLogin/pooled", ours: true, extra: [][2]string{{"logins/s", "logins/s"}}},
	{work: "", impl: "ssokit, dial per login", bench: "LDAPLogin/dial-per-login", base: "LDAPLogin/pooled", ours: true, extra: [][2]string{{"logins/s", "logins/s"}}},
	{work: "full SP-initiated SAML login through login.Handler, app side", impl: "1 client", bench: "Login/saml/clients=1", unit: "app-ns/login", ours: true, extra: loginExtra},
	{work: "", impl: "8 clients", bench: "Login/saml/clients=8", unit: "app-ns/login", ours: true, extra: loginExtra},
	{work: "full OIDC login through login.Handler, app side", impl: "1 client", bench: "Login/oidc/clients=1", unit: "app-ns/login", ours: true, extra: loginExtra},
	{work: "", impl: "8 clients", bench: "Login/oidc/clients=8", unit: "app-ns/login", ours: true, extra: loginExtra},
}

var loginExtra = [][2]string{{"idp-ns/login", "IdP side"}, {"logins/s", "logins/s"}, {"new-conns/login", "new conns/login"}}

const floor = "RSAVerify"

// groupOf returns the benchmark function of a sub-benchmark's name: its
// rsa-floor sub-benchmark is the floor of its rows.
func groupOf(bench string) string {
	if i := strings.IndexByte(bench, '/'); i >= 0 {
		return bench[:i]
	}
	return bench
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stat is a row's medians over the rounds.
type stat struct {
	row
	ns, ratio, vsBase, bop, allocs float64
	extra                          []float64
	n                              int
}

func unitOf(r row) string {
	if r.unit == "" {
		return "ns/op"
	}
	return r.unit
}

func compute(runs []run) []stat {
	var out []stat
	for _, r := range rows {
		var ns, ratio, vs, bop, allocs []float64
		extra := make([][]float64, len(r.extra))
		for _, rn := range runs {
			m, ok := rn[r.bench]
			if !ok {
				continue
			}
			v := m[unitOf(r)]
			ns = append(ns, v)
			fl, ok := rn[groupOf(r.bench)+"/rsa-floor"]
			if !ok {
				fl, ok = rn[floor]
			}
			if ok && fl["ns/op"] > 0 {
				ratio = append(ratio, v/fl["ns/op"])
			}
			if r.base != "" {
				if b, ok := rn[r.base]; ok {
					bu := "ns/op"
					if strings.HasPrefix(r.base, "Login/") {
						bu = "app-ns/login"
					}
					if b[bu] > 0 {
						vs = append(vs, v/b[bu])
					}
				}
			}
			bop, allocs = append(bop, m["B/op"]), append(allocs, m["allocs/op"])
			for i, e := range r.extra {
				extra[i] = append(extra[i], m[e[0]])
			}
		}
		s := stat{row: r, ns: median(ns), ratio: median(ratio), vsBase: median(vs), bop: median(bop), allocs: median(allocs), n: len(ns)}
		for _, e := range extra {
			s.extra = append(s.extra, median(e))
		}
		out = append(out, s)
	}
	return out
}

func dur(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "-"
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func bytesStr(b float64) string {
	switch {
	case math.IsNaN(b):
		return "-"
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func ratioStr(r float64) string {
	switch {
	case math.IsNaN(r):
		return "-"
	case r >= 10:
		return fmt.Sprintf("%.0fx", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2fx", r)
	}
	return fmt.Sprintf("%.4fx", r)
}

func extraStr(s stat) string {
	var parts []string
	for i, e := range s.row.extra {
		if math.IsNaN(s.extra[i]) {
			continue
		}
		v := s.extra[i]
		switch e[0] {
		case "idp-ns/login":
			parts = append(parts, e[1]+" "+dur(v))
		case "new-conns/login":
			parts = append(parts, fmt.Sprintf("%.3f %s", v, e[1]))
		default:
			parts = append(parts, fmt.Sprintf("%.0f %s", v, e[1]))
		}
	}
	return strings.Join(parts, ", ")
}

// svg draws the ratios to the floor as horizontal bars on a log scale.
func svg(stats []stat) string {
	const (
		left, right, top, barH, gap = 470.0, 40.0, 40.0, 16.0, 6.0
		width                       = 980.0
		lo, hi                      = -4.0, 3.0 // log10 of the scale's ends
	)
	var drawn []stat
	for _, s := range stats {
		if !math.IsNaN(s.ratio) {
			drawn = append(drawn, s)
		}
	}
	height := top + float64(len(drawn))*(barH+gap) + 40
	x := func(r float64) float64 {
		l := math.Log10(r)
		l = math.Max(lo, math.Min(hi, l))
		return left + (l-lo)/(hi-lo)*(width-left-right)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14" font-weight="bold">Time as a multiple of one RSA-2048 verification (median, log scale)</text>`+"\n", 10.0)
	for e := lo; e <= hi; e++ {
		xx := x(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`+"\n", xx, top-6, xx, height-30)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%gx</text>`+"\n", xx, height-14, math.Pow(10, e))
	}
	work := ""
	for i, s := range drawn {
		y := top + float64(i)*(barH+gap)
		if s.work != "" {
			work = s.work
		}
		label := shorten(work, 34) + " · " + shorten(s.impl, 30)
		color := "#9aa5b1"
		if s.ours {
			color = "#2f6fdb"
		}
		if s.bench == floor {
			color = "#d9822b"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH-4, esc(label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`+"\n", x(math.Pow(10, lo)), y, x(s.ratio)-x(math.Pow(10, lo)), barH, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#222">%s</text>`+"\n", x(s.ratio)+4, y+barH-4, ratioStr(s.ratio))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func cpuModel(fromBench string) string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i > 0 {
					return strings.TrimSpace(l[i+1:])
				}
			}
		}
	}
	return fromBench
}

func main() {
	in := flag.String("in", "", "benchmark output of the rounds")
	load := flag.String("load", "", "Markdown of the load and fault run (cmd/load)")
	commit := flag.String("commit", "unknown", "commit measured")
	out := flag.String("out", "README.md", "README to write")
	svgOut := flag.String("svg", "ratios.svg", "SVG chart to write (named in the README relative to it)")
	benchtime := flag.String("benchtime", "", "the -benchtime used, for the README")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fatal(err)
	}
	runs, cpu, err := parse(f)
	f.Close()
	if err != nil {
		fatal(err)
	}
	if len(runs) == 0 {
		fatal(fmt.Errorf("%s: no benchmark output", *in))
	}
	stats := compute(runs)
	for _, s := range stats {
		if s.n == 0 {
			fmt.Fprintf(os.Stderr, "benchreport: no result for %s (skipped?)\n", s.bench)
		}
	}
	if err := os.WriteFile(*svgOut, []byte(svg(stats)), 0o644); err != nil {
		fatal(err)
	}
	var loadMD []byte
	if *load != "" {
		if loadMD, err = os.ReadFile(*load); err != nil {
			fatal(err)
		}
	}
	var b strings.Builder
	writeReadme(&b, stats, len(runs), cpu, *commit, *benchtime, filepath.Base(*svgOut), string(loadMD))
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

func writeReadme(b *strings.Builder, stats []stat, rounds int, cpu, commit, benchtime, svgName, load string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# Benchmarks: ssokit against its peers\n\n")
	p("Generated by `./run.sh` (do not edit by hand): every benchmark of this module, %d rounds run one after the other (interleaved, so that a slow moment of the machine hits every row alike)", rounds)
	if benchtime != "" {
		p(" with `-benchtime %s`", benchtime)
	}
	p(", then the load and fault run of `cmd/load`. Each figure is the median over the rounds. Each ratio is computed within a round, to an RSA-2048 verification timed as the first sub-benchmark of the same benchmark function (`.../rsa-floor`, moments before the rows it divides), then the median taken; the RSA row is `BenchmarkRSAVerify` itself.\n\n")
	p("- Machine: %s, %d logical CPUs (shared with other work: expect noise), %s/%s, %s\n", cpuModel(cpu), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			p("- Load average when the report was written (1, 5, 15 min): %s %s %s on %d CPUs: other work shared the machine, so single rounds vary widely; trust the within-round ratios more than the times\n", f[0], f[1], f[2], runtime.NumCPU())
		}
	}
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("- Commit: %s\n\n", commit)
	p("Before anything is timed, each library is shown to accept the input and to refuse a tampered copy (and, for SAML, a replay and a response to another request): the tests `Test*AcceptAndRefuse` and the same check at the start of each benchmark.\n\n")
	p("| work | implementation | time | x RSA floor | x reference | B/op | allocs/op | more |\n")
	p("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range stats {
		impl := s.impl
		if s.ours {
			impl = "**" + impl + "**"
		}
		p("| %s | %s | %s | %s | %s | %s | %.0f | %s |\n", s.work, impl, dur(s.ns), ratioStr(s.ratio), ratioStr(s.vsBase), bytesStr(s.bop), s.allocs, extraStr(s))
	}
	p("\n*x reference*: a peer's time over ssokit's (above 1: ssokit is faster); ssokit's discovery over the Go map's; dial-per-login over pooled. ssokit rows in bold.\n")
	p("\n![Ratios to one RSA-2048 verification](%s)\n\n", svgName)
	writeGoals(b, stats)
	p(`## What is measured

- **RSA floor**: ` + "`rsa.VerifyPKCS1v15`" + ` of a SHA-256 digest with a 2048-bit key, the one public-key operation of a signed assertion or an RS256 ID token.
- **SAML**: the same IdP (` + "`saml/samltest`" + `) signs 32 distinct responses of about 5 KB (one signed assertion, RSA-SHA256, the user's groups padding it), each answering its own request; a pass over them is timed, then the replay caches are renewed and the pending requests stored again with the timer stopped.
  - ssokit: ` + "`ServiceProvider.Complete`" + ` with its flow store and replay cache (flow, InResponseTo, signature, conditions, replay, identity).
  - gosaml2: ` + "`RetrieveAssertionInfo`" + ` plus the checks its caller must add to reach the same verdict: the time and audience conditions it only reports as warnings (` + "`WarningInfo.InvalidTime`, `NotInAudience`" + `), exactly one assertion, InResponseTo against the pending request, a non-empty NameID, and a replay cache of assertion IDs until their NotOnOrAfter. It checks issuer, status, signature, Destination, Recipient and the bearer confirmation's NotOnOrAfter itself.
  - crewjam/saml: ` + "`ParseXMLResponse`" + ` with the request ID, ACS URL, SHA-1 refused and its replay cache hook; it checks InResponseTo, Destination, audience, conditions and replay itself. The caller decodes base64.
- **OIDC**: one RS256 ID token from ` + "`oidc/oidctest`" + ` with profile claims, key caches warm. ssokit ` + "`Connection.VerifyIDToken`" + ` (every claim into a map); go-oidc ` + "`IDTokenVerifier.Verify`" + ` from its provider (remote key set cache) plus the nonce and ` + "`Claims`" + ` into a struct, as its caller must; zitadel ` + "`rp.VerifyIDToken`" + ` into its ` + "`IDTokenClaims`" + ` (nonce included).
- **Discovery**: 1,000,000 claimed domains (250,000 accounts of 4 domains, one SAML connection each). ssokit ` + "`Table.Lookup`" + ` of an email against a Go map indexed with the domain cut at the last '@'. B/domain is the live heap each keeps per domain (for the table: the whole table, with accounts, connections and issuers).
- **LDAP**: complete logins (service search, user bind, groups) against OpenLDAP's slapd over StartTLS, one at a time; skipped with a message when slapd is not installed (failed under CI=true).
- **Logins through login.Handler**: the handler is called in process; the SAML IdP, OpenID provider and directory run in process behind loopback TLS. A login is the whole browser path: email, redirect, the IdP's login page and form, the ACS POST or the callback (where the handler redeems the code at the token endpoint), provisioning (JIT) and the host session. *app side* is the handler's time less the time it waits for the token endpoint (measured with ` + "`httptrace`" + ` from the request written to the first response byte); *IdP side* the providers' pages and the token endpoint; *new conns/login* the connections the application opened to a provider (0 = keep-alive reused). With 8 clients on 2 cores, the app side includes waiting for a CPU, and *time* is wall time per login (throughput); logins/s is the sum over the clients.

One binary holds every library, so Go's module resolution gives all of them the newest version any of them requires: here github.com/beevik/etree v1.8.1 (crewjam/saml's requirement; the library itself requires v1.7.0).

`)
	if load != "" {
		p("## Load and faults\n\n`go run ./cmd/load` (bench.RunLoad, also run in short mode by `TestLoadFaults`): concurrent browsers log in through the handler while, phase after phase, the OpenID provider's token endpoint is slow (beyond the application's timeout), answers errors or is down, its JWKS is down (keys cached), the SAML metadata URL fails while the connection refreshes it every 100 ms, the SAML IdP sends hostile responses (one of 17 misbehaviours, switched every 5 ms), the directory drops every connection every 100 ms, is slower than the timeout, or is down; then everything returns. Each login ends either with a session for the right person, or with an error page and an audit event carrying an `sso.Reason` (counted below per reason); *wrongly accepted* and *untyped* must be 0. Background events are those no login caused (metadata refreshes).\n\n")
		p("%s\n", strings.TrimSpace(load))
	}
}

// goal is one target of the library's speed work, judged on the medians.
type goal struct {
	what, target string
	// measured returns the figure shown and whether the target is met.
	measured func(by map[string]stat) (string, bool)
}

var goals = []goal{
	{"SAML response check", "<= 25x, <= 400 KB, <= 5k allocs", func(by map[string]stat) (string, bool) {
		s := by["SAMLResponse/ssokit"]
		return fmt.Sprintf("%s, %s, %.0f allocs", ratioStr(s.ratio), bytesStr(s.bop), s.allocs), s.ratio <= 25 && s.bop <= 400<<10 && s.allocs <= 5000
	}},
	{"OIDC ID token verification", "<= go-oidc's time and allocations", func(by map[string]stat) (string, bool) {
		s, g := by["OIDCIDToken/ssokit"], by["OIDCIDToken/go-oidc"]
		return fmt.Sprintf("%s (go-oidc %s), %.0f allocs (go-oidc %.0f)", ratioStr(s.ratio), ratioStr(g.ratio), s.allocs, g.allocs), s.ratio <= g.ratio && s.allocs <= g.allocs
	}},
	{"discovery miss among 1,000,000 domains", "<= the map, 0 allocs", func(by map[string]stat) (string, bool) {
		s := by["Discovery/miss/ssokit"]
		return fmt.Sprintf("%s the map, %.0f allocs", ratioStr(s.vsBase), s.allocs), s.vsBase <= 1 && s.allocs == 0
	}},
	{"full SAML login, app side, 1 client", "<= 35x", func(by map[string]stat) (string, bool) {
		s := by["Login/saml/clients=1"]
		return ratioStr(s.ratio), s.ratio <= 35
	}},
	{"full OIDC login, app side, 1 client", "<= 10x", func(by map[string]stat) (string, bool) {
		s := by["Login/oidc/clients=1"]
		return ratioStr(s.ratio), s.ratio <= 10
	}},
	{"OIDC logins with 8 clients", "0 new connections per login", func(by map[string]stat) (string, bool) {
		s := by["Login/oidc/clients=8"]
		if len(s.extra) < 3 {
			return "-", false
		}
		return fmt.Sprintf("%.3f new connections per login", s.extra[2]), s.extra[2] == 0
	}},
}

func writeGoals(b *strings.Builder, stats []stat) {
	by := map[string]stat{}
	for _, s := range stats {
		by[s.bench] = s
	}
	fmt.Fprintf(b, "### Against the targets\n\n| work | target | measured | met |\n|---|---|---|---|\n")
	for _, g := range goals {
		m, ok := g.measured(by)
		verdict := "no"
		if ok {
			verdict = "yes"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", g.what, g.target, m, verdict)
	}
	fmt.Fprintln(b)
}
