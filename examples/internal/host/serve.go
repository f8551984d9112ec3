package host

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ssokit/sso/login"
)

// listen listens on addr, e.g. "localhost:8080" (port 0 picks a free
// port), and returns the listener and the application's base URL. A
// loopback address is named "localhost" in the URL: the examples' mock
// identity providers run on 127.0.0.1, another site for the browser, as a
// real identity provider is.
func listen(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listening on %s: %w (pick another address with -addr)", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if host == "" || host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		host = "localhost"
	}
	return ln, "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// server is an http.Server running in the background.
type server struct {
	srv  *http.Server
	done chan struct{}
}

// serve serves h on ln in the background until Close.
func serve(ln net.Listener, h http.Handler, log *slog.Logger) *server {
	s := &server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Close stops the server, waiting up to five seconds for requests in
// flight.
func (s *server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// cleanup runs functions in the reverse order of their registration, like
// deferred calls; an App uses it to stop what it started.
type cleanup struct{ fns []func() }

// add registers fn.
func (c *cleanup) add(fn func()) { c.fns = append(c.fns, fn) }

// run runs the registered functions, last first, and forgets them.
func (c *cleanup) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}

// waitForInterrupt blocks until the process gets SIGINT (Ctrl-C) or
// SIGTERM.
func waitForInterrupt() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// newLogger returns the examples' logger: text on stderr.
func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newMux returns the application's routes: the login handler's, the start
// page at / and the /me JSON. Callers may add their own.
func newMux(login *login.Handler, home, me http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range login.Routes() {
		mux.Handle(p, login)
	}
	mux.Handle("GET /{$}", home)
	mux.Handle("GET /me", me)
	return mux
}
