package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso/internal/testenv"
)

// demo is the demo application under test, with the addresses of its mock
// identity providers.
type demo struct {
	URL      string // http://localhost:PORT
	SAMLURL  string // http://127.0.0.1:PORT
	OIDCURL  string
	LDAPAddr string

	dir  string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDemo builds examples/demo and runs it on free loopback ports with
// its built-in setup and a fresh database, and waits until /healthz
// answers.
//
// The demo is a main package, so it cannot be started in this process; it
// runs as a child process of the test binary, stopped by stop.
func startDemo(goBin string) (_ *demo, err error) {
	d := &demo{log: new(syncBuffer), done: make(chan error, 1)}
	if d.dir, err = os.MkdirTemp("", "ssokit-e2e-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	bin := filepath.Join(d.dir, "demo")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/ssokit/sso/examples/demo")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building examples/demo: %v\n%s", err, out)
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	d.URL = "http://localhost:" + ports[0]
	d.SAMLURL = "http://127.0.0.1:" + ports[1]
	d.OIDCURL = "http://127.0.0.1:" + ports[2]
	d.LDAPAddr = "127.0.0.1:" + ports[3]
	d.cmd = exec.Command(bin,
		"-addr", "localhost:"+ports[0],
		"-saml-addr", "127.0.0.1:"+ports[1],
		"-oidc-addr", "127.0.0.1:"+ports[2],
		"-ldap-addr", d.LDAPAddr,
		"-db", filepath.Join(d.dir, "demo.db"))
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	dieWithParent(d.cmd)
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.done <- d.cmd.Wait() }()
	if err := d.waitHealthy(30 * time.Second); err != nil {
		return nil, fmt.Errorf("%v\ndemo output:\n%s", err, d.log.String())
	}
	return d, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits or
// the timeout passes.
func (d *demo) waitHealthy(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("the demo exited before it was healthy: %v", err)
		case <-ctx.Done():
			return errors.New("the demo did not answer /healthz within " + timeout.String())
		case <-tick.C:
		}
	}
}

// stop ends the demo process and removes its files.
func (d *demo) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// logTail returns the end of the demo's output, for failure messages.
func (d *demo) logTail(lines int) string {
	all := strings.Split(strings.TrimRight(d.log.String(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// freePorts returns n distinct TCP ports of 127.0.0.1 that were free a
// moment ago.
func freePorts(n int) ([]string, error) {
	var out []string
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for range n {
		l, err := listenLoopback()
		if err != nil {
			return nil, err
		}
		closers = append(closers, l)
		_, port, _ := strings.Cut(l.Addr().String(), ":")
		if _, err := strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("unexpected listener address %s", l.Addr())
		}
		out = append(out, port)
	}
	return out, nil
}

// shared is what all tests of the binary share: one demo, one browser.
var shared struct {
	once    sync.Once
	err     error
	demo    *demo
	browser *browser
}

// setup returns the running demo and browser, starting them at the first
// call. A missing chromium or go program skips the test (fails it under
// CI=true); so does -short.
func setup(t *testing.T) (*demo, *browser) {
	t.Helper()
	if testing.Short() {
		t.Skip("a browser end-to-end test; run it without -short")
	}
	chromium := testenv.LookPath(t, "chromium", "/usr/bin/chromium")
	goBin := testenv.LookPath(t, "go", filepath.Join(runtime.GOROOT(), "bin", "go"))
	shared.once.Do(func() {
		start := time.Now()
		if shared.demo, shared.err = startDemo(goBin); shared.err != nil {
			return
		}
		t.Logf("demo built and started in %v at %s", time.Since(start).Round(time.Millisecond), shared.demo.URL)
		start = time.Now()
		if shared.browser, shared.err = startBrowser(chromium); shared.err != nil {
			return
		}
		t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	d := shared.demo
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the demo's last log lines:\n%s", d.logTail(30))
		}
	})
	return d, shared.browser
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.browser != nil {
		shared.browser.close()
	}
	if shared.demo != nil {
		shared.demo.stop()
	}
	os.Exit(code)
}
