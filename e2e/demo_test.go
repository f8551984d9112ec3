package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso/examples/demo/demoapp"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/internal/testenv"
)

// demo is the demo application under test, with the addresses of its mock
// identity providers.
type demo struct {
	URL     string // http://localhost:PORT
	SAMLURL string // http://127.0.0.1:PORT
	OIDCURL string // http://127.0.0.1:PORT
	LDAPURL string // ldap://127.0.0.1:PORT

	app *demoapp.App
	dir string
	log *syncBuffer
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

// startDemo starts the demo application in this process with its built-in
// setup and a fresh database: the application on a free port of localhost,
// its mock identity providers on free ports of 127.0.0.1, as
// `go run ./examples/demo` does on its fixed ports.
func startDemo() (_ *demo, err error) {
	d := &demo{log: new(syncBuffer)}
	if d.dir, err = os.MkdirTemp("", "ssokit-e2e-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.app, err = demoapp.Start(ctx, demoapp.Options{
		Addr:     "localhost:0",
		SAMLAddr: "127.0.0.1:0",
		OIDCAddr: "127.0.0.1:0",
		LDAPAddr: "127.0.0.1:0",
		DB:       filepath.Join(d.dir, "demo.db"),
		Logger:   slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the demo: %v\ndemo log:\n%s", err, d.log.String())
	}
	d.URL, d.SAMLURL, d.OIDCURL, d.LDAPURL = d.app.URL(), d.app.SAMLURL(), d.app.OIDCURL(), d.app.LDAPURL()
	if !strings.HasPrefix(d.URL, "http://localhost:") || !strings.HasPrefix(d.SAMLURL, "http://127.0.0.1:") || !strings.HasPrefix(d.OIDCURL, "http://127.0.0.1:") {
		return nil, fmt.Errorf("the demo runs at %s with identity providers at %s and %s; want localhost and 127.0.0.1", d.URL, d.SAMLURL, d.OIDCURL)
	}
	return d, nil
}

// stop stops the demo and removes its files.
func (d *demo) stop() {
	if d.app != nil {
		_ = d.app.Close()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// logTail returns the end of the demo's log, for failure messages.
func (d *demo) logTail(lines int) string {
	all := strings.Split(strings.TrimRight(d.log.String(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// shared is what all tests of the binary share: one demo, one browser.
var shared struct {
	once    sync.Once
	err     error
	demo    *demo
	browser *browser
}

// setup returns the running demo and browser, starting them at the first
// call. A missing chromium skips the test (fails it under CI=true); so
// does -short.
func setup(t *testing.T) (*demo, *browser) {
	t.Helper()
	if testing.Short() {
		t.Skip("a browser end-to-end test; run it without -short")
	}
	chromium := testenv.LookPath(t, "chromium", "/usr/bin/chromium")
	shared.once.Do(func() {
		start := time.Now()
		if shared.demo, shared.err = startDemo(); shared.err != nil {
			return
		}
		t.Logf("demo started in %v at %s", time.Since(start).Round(time.Millisecond), shared.demo.URL)
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
	servertest.Stop()
	os.Exit(code)
}
