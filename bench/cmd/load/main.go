// Command load drives concurrent logins through login.Handler while the
// identity providers and the directory misbehave (see bench.RunLoad), and
// prints the result as a Markdown section for bench/README.md. It exits
// with status 1 when a login was accepted that should not have been, a
// refusal carried no typed reason, a healthy phase refused a valid login,
// or goroutines were left behind.
//
//	go run ./cmd/load [-clients 16] [-logins 300] [-timeout 2s] [-v]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso/bench"
)

func main() {
	clients := flag.Int("clients", 16, "concurrent browsers")
	logins := flag.Int("logins", 300, "logins per phase")
	timeout := flag.Duration("timeout", 2*time.Second, "the application's timeout for providers and the directory")
	verbose := flag.Bool("v", false, "print a line per phase on stderr")
	flag.Parse()
	cfg := bench.LoadConfig{Clients: *clients, PerPhase: *logins, Timeout: *timeout}
	if *verbose {
		cfg.Log = os.Stderr
	}
	rep, err := bench.RunLoad(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	bad := Markdown(os.Stdout, rep)
	if bad != "" {
		fmt.Fprintln(os.Stderr, "load:", bad)
		os.Exit(1)
	}
}

// Markdown writes the report and returns what went wrong, or "".
func Markdown(out io.Writer, rep *bench.LoadReport) string {
	var problems []string
	fmt.Fprintf(out, "%d concurrent browsers, %d logins per phase (a third each SAML, OpenID Connect, LDAP; every tenth SAML login posts a response whose signed NameID the browser changed), the application's timeout for providers and the directory %v. Run time %v.\n\n",
		rep.Clients, rep.Phases[0].Attempts, rep.Timeout, rep.Duration.Round(time.Second))
	fmt.Fprintln(out, "| phase | logins | ok | refused (typed) | wrongly accepted | untyped | p50 | p99 | reasons of the refusals | background events |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, ph := range rep.Phases {
		fmt.Fprintf(out, "| %s | %d | %d | %d | %d | %d | %v | %v | %s | %s |\n", ph.Name, ph.Attempts, ph.OK, ph.Refused, ph.Wrong, ph.Untyped+ph.ClientErrors,
			ph.P50.Round(time.Millisecond), ph.P99.Round(time.Millisecond), reasons(ph.Reasons), reasons(ph.Background))
		if ph.Wrong > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d wrongly accepted", ph.Name, ph.Wrong))
		}
		if ph.Untyped+ph.ClientErrors > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d refused without a typed reason", ph.Name, ph.Untyped+ph.ClientErrors))
		}
		if (ph.Name == "healthy" || strings.HasPrefix(ph.Name, "recovered")) && ph.OK != ph.Attempts-ph.Tampered {
			problems = append(problems, fmt.Sprintf("%s: %d of %d valid logins accepted", ph.Name, ph.OK, ph.Attempts-ph.Tampered))
		}
	}
	fmt.Fprintf(out, "\nGoroutines: %d before the world started, %d idle after the warm-up, %d idle after the last phase (keep-alive and pooled connections), %d once it was closed (peak %d). Heap: %.1f MB before, peak %.1f MB, %.1f MB after.\n",
		rep.GoroutinesBefore, rep.GoroutinesIdleStart, rep.GoroutinesIdleEnd, rep.GoroutinesAfter, rep.PeakGoroutines,
		mb(rep.HeapBeforeBytes), mb(rep.PeakHeapBytes), mb(rep.HeapEnd))
	if rep.GoroutinesAfter > rep.GoroutinesBefore+2 {
		problems = append(problems, fmt.Sprintf("goroutines: %d before, %d after", rep.GoroutinesBefore, rep.GoroutinesAfter))
	}
	return strings.Join(problems, "; ")
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func reasons[K ~string](m map[K]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[K(k)])
	}
	return strings.Join(parts, ", ")
}
