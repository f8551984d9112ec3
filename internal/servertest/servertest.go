//go:build unix

// Package servertest starts throwaway PostgreSQL and Redis servers for
// integration tests (the stores', and the login handler's on every store): one server of each kind per test
// binary, started on first use on a loopback port with its files in a
// temporary directory, and stopped by [Stop], which the test binary's
// TestMain calls after m.Run. [StartRedis] starts a Redis server of a test's
// own, for tests that change its configuration, and a [Proxy] in front of a
// server stands in for one that goes down and comes back.
//
// The server programs are found with internal/testenv: a test skips when
// they are missing, and fails under CI=true.
//
// PostgreSQL refuses to run as root. When the tests run as root (as in a
// container), initdb and postgres run as the unprivileged user "nobody",
// which owns the temporary directory.
package servertest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"github.com/ssokit/sso/internal/testenv"
)

type server struct {
	once sync.Once
	addr string // DSN or host:port
	err  error
	cmd  *exec.Cmd
	dir  string
}

var (
	mu      sync.Mutex
	servers []*server
	pg      server
	redis   server
	schemas atomic.Int64
)

// Stop stops the servers this test binary started and removes their files.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range servers {
		s.stop()
	}
	servers = nil
}

// stop ends the server's process and removes its files.
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT) // postgres: fast shutdown
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

func register(s *server) {
	mu.Lock()
	servers = append(servers, s)
	mu.Unlock()
}

// postgresBin finds a PostgreSQL server program: in PATH, or in Debian's
// versioned directories, the newest first.
func postgresBin(t testing.TB, name string) string {
	t.Helper()
	cands := []string{name}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		cands = append(cands, filepath.Join(d, name))
	}
	return testenv.LookPath(t, cands...)
}

// Postgres returns the DSN of the test binary's PostgreSQL server, as the
// superuser "postgres" of database "postgres", starting the server on first
// use.
func Postgres(t testing.TB) string {
	t.Helper()
	initdb := postgresBin(t, "initdb")
	postgres := postgresBin(t, "postgres")
	pg.once.Do(func() {
		register(&pg)
		pg.addr, pg.err = startPostgres(initdb, postgres, testenv.FreePort(t))
	})
	if pg.err != nil {
		t.Fatalf("starting PostgreSQL: %v", pg.err)
	}
	return pg.addr
}

// PostgresSchema creates a fresh schema on the test binary's PostgreSQL
// server and returns a DSN whose connections use it (search_path), so each
// test starts from an empty database without the cost of CREATE DATABASE.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := Postgres(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return base + "&search_path=" + name
}

// asNobody makes cmd run as the user nobody when the tests run as root, and
// gives that user dir. It returns an error when nobody does not exist.
func asNobody(cmd *exec.Cmd, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return fmt.Errorf("running as root, and PostgreSQL refuses root: user nobody not found: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	}); err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return nil
}

func startPostgres(initdb, postgres string, port int) (string, error) {
	dir, err := os.MkdirTemp("", "servertest-pg-")
	if err != nil {
		return "", err
	}
	pg.dir = dir
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--no-locale")
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := asNobody(cmd, dir); err != nil {
		return "", err
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out.String())
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return "", err
	}
	cmd = exec.Command(postgres, "-D", data, "-k", dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=60", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	cmd.Env = []string{"HOME=" + dir, "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := asNobody(cmd, dir); err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	pg.cmd = cmd
	logf.Close()
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
		}
		if err == nil {
			return dsn, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return "", fmt.Errorf("postgres did not accept connections: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Redis returns the host:port of the test binary's Redis server, starting
// it on first use. Tests share the server; give each its own key prefix.
func Redis(t testing.TB) string {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server", "/usr/bin/redis-server")
	redis.once.Do(func() {
		register(&redis)
		redis.addr, redis.err = startRedis(&redis, bin, testenv.FreePort(t))
	})
	if redis.err != nil {
		t.Fatalf("starting Redis: %v", redis.err)
	}
	return redis.addr
}

// StartRedis starts a Redis server for the calling test alone, with args
// added to its command line (e.g. "--maxmemory-policy", "allkeys-lru"), and
// returns its host:port. The server stops when the test ends, so the test
// may change its configuration freely.
func StartRedis(t testing.TB, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server", "/usr/bin/redis-server")
	s := &server{}
	t.Cleanup(s.stop)
	addr, err := startRedis(s, bin, testenv.FreePort(t), args...)
	if err != nil {
		t.Fatalf("starting Redis: %v", err)
	}
	return addr
}

func startRedis(s *server, bin string, port int, args ...string) (string, error) {
	dir, err := os.MkdirTemp("", "servertest-redis-")
	if err != nil {
		return "", err
	}
	s.dir = dir
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("redis-server: %w", err)
	}
	s.cmd = cmd
	logf.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_, err = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			if err == nil {
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				_, err = c.Read(buf)
			}
			c.Close()
			if err == nil && string(buf) == "+PONG\r\n" {
				return addr, nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return "", fmt.Errorf("redis-server did not answer: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
