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
)

// Listen listens on addr, e.g. "localhost:8080" (port 0 picks a free
// port), and returns the listener and the application's base URL. A
// loopback address is named "localhost" in the URL: the examples' mock
// identity providers run on 127.0.0.1, another site for the browser, as a
// real identity provider is.
func Listen(addr string) (net.Listener, string, error) {
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

// Server is an http.Server running in the background.
type Server struct {
	srv  *http.Server
	done chan struct{}
}

// Serve serves h on ln in the background until Close.
func Serve(ln net.Listener, h http.Handler, log *slog.Logger) *Server {
	s := &Server{
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
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// Cleanup runs functions in the reverse order of their registration, like
// deferred calls; the examples use it to stop what they started.
type Cleanup struct{ fns []func() }

// Add registers fn.
func (c *Cleanup) Add(fn func()) { c.fns = append(c.fns, fn) }

// Run runs the registered functions, last first, and forgets them.
func (c *Cleanup) Run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}

// WaitForInterrupt blocks until the process gets SIGINT (Ctrl-C) or
// SIGTERM.
func WaitForInterrupt() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// Logger returns the examples' logger: text on stderr.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// LoginRoutes is what Mux needs of a login handler: *login.Handler.
type LoginRoutes interface {
	http.Handler
	Routes() []string
}

// Mux returns the application's routes: the login handler's, the start
// page at / and the /me JSON. Callers may add their own.
func Mux(login LoginRoutes, home, me http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range login.Routes() {
		mux.Handle(p, login)
	}
	mux.Handle("GET /{$}", home)
	mux.Handle("GET /me", me)
	return mux
}
