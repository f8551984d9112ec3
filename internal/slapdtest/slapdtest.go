// Package slapdtest starts Debian's OpenLDAP server, slapd, for integration
// tests: a throwaway slapd.conf and database in a temporary directory, a
// test CA and server certificate generated at start, StartTLS and LDAPS
// listeners on loopback ports, the memberOf and ppolicy overlays, and the
// sample directory of [SampleLDIF] loaded with ldapadd.
//
// Tests get a server with [Shared] (one per test binary, started on first
// use; call [Main] from TestMain to stop it) or [Start] (their own, stopped
// at the end of the test). Both skip the test when slapd or ldapadd is
// missing, and fail it under CI=true (see internal/testenv).
package slapdtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssokit/sso/internal/testenv"
)

// The sample directory's names and passwords.
const (
	BaseDN          = "dc=example,dc=com"
	AdminDN         = "cn=admin,dc=example,dc=com"
	AdminPassword   = "admin-secret"
	ServiceDN       = "cn=ssokit,ou=services,dc=example,dc=com"
	ServicePassword = "service-secret"
)

// Options configure a server started with [Start].
type Options struct {
	// NoTLS starts a plain-only server: no certificate, so StartTLS is
	// refused, and no LDAPS listener.
	NoTLS bool
	// ExtraLDIF is loaded after [SampleLDIF].
	ExtraLDIF string
}

// Server is a running slapd.
type Server struct {
	// URL is "ldap://127.0.0.1:port" (StartTLS offered unless NoTLS).
	URL string
	// LDAPSURL is "ldaps://127.0.0.1:port"; empty with NoTLS.
	LDAPSURL string
	// CACertPEM is the CA certificate that signed the server's certificate.
	CACertPEM []byte
	// Dir is the server's temporary directory (config, database, socket).
	Dir string

	ldapi       string
	ldapaddPath string
	cmd         *exec.Cmd
	exited      chan struct{}
	stderr      *lockedBuffer
	stopped     sync.Once
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the test binary's shared server with the default options,
// starting it on first use. It skips tb (or fails it under CI) when slapd
// is not installed.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	slapd, ldapadd := lookPrograms(tb)
	sharedOnce.Do(func() {
		shared, sharedErr = start(slapd, ldapadd, Options{})
	})
	if sharedErr != nil {
		tb.Fatalf("slapdtest: %v", sharedErr)
	}
	return shared
}

// Main runs the tests and stops the shared server; call it from TestMain:
//
//	func TestMain(m *testing.M) { slapdtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Start starts a server of its own for tb, stopped when tb ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	slapd, ldapadd := lookPrograms(tb)
	s, err := start(slapd, ldapadd, opts)
	if err != nil {
		tb.Fatalf("slapdtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func lookPrograms(tb testing.TB) (string, string) {
	tb.Helper()
	slapd := testenv.LookPath(tb, "slapd", "/usr/sbin/slapd")
	ldapadd := testenv.LookPath(tb, "ldapadd", "/usr/bin/ldapadd")
	return slapd, ldapadd
}

// Stop stops slapd and removes its directory.
func (s *Server) Stop() {
	s.stopped.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(3 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		_ = os.RemoveAll(s.Dir)
	})
}

// AddLDIF loads LDIF change records (entries to add) as the rootdn.
func (s *Server) AddLDIF(ldif string) error {
	return s.ldapadd(ldif)
}

func start(slapd, ldapadd string, opts Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "slapdtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	tlsConf := ""
	if !opts.NoTLS {
		caPEM, certPEM, keyPEM, err := testCerts()
		if err != nil {
			return nil, err
		}
		s.CACertPEM = caPEM
		for name, data := range map[string][]byte{"ca.pem": caPEM, "server.pem": certPEM, "server.key": keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
		tlsConf = fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
			filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	}
	conf := fmt.Sprintf(slapdConf, tlsConf, dir, BaseDN, AdminDN, AdminPassword, filepath.Join(dir, "db"))
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s.ldapi = filepath.Join(dir, "ldapi")
	ldapiURL := "ldapi://" + url.QueryEscape(s.ldapi)

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		s.URL = "ldap://127.0.0.1:" + strconv.Itoa(ports[0])
		listen := s.URL + "/ " + ldapiURL
		if !opts.NoTLS {
			s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(ports[1])
			listen += " " + s.LDAPSURL + "/"
		}
		lastErr = s.run(slapd, confPath, listen, ports[0])
		if lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	s.ldapaddPath = ldapadd
	if err := s.ldapadd(SampleLDIF + opts.ExtraLDIF); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// run starts slapd in the foreground and waits until it accepts
// connections. slapd is started from a goroutine locked to its OS thread,
// which stays alive until slapd exits, so that Pdeathsig kills slapd if the
// test binary dies without stopping it.
func (s *Server) run(slapd, conf, listen string, port int) error {
	s.exited = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(slapd, "-d", "0", "-f", conf, "-h", listen)
		cmd.Stdout = s.stderr
		cmd.Stderr = s.stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		s.cmd = cmd
		started <- nil
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("slapd exited: %s", strings.TrimSpace(s.stderr.String()))
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			_ = c.Close()
			if _, err := os.Stat(s.ldapi); err == nil {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("slapd did not start within 10s: " + s.stderr.String())
}

func (s *Server) ldapadd(ldif string) error {
	cmd := exec.Command(s.ldapaddPath, "-x", "-H", "ldapi://"+url.QueryEscape(s.ldapi), "-D", AdminDN, "-w", AdminPassword)
	cmd.Stdin = strings.NewReader(ldif)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ldapadd: %v: %s", err, out)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var (
	certsOnce                    sync.Once
	certsCA, certsCert, certsKey []byte
	certsErr                     error
)

// testCerts returns the process's test CA and server certificate, made
// once: an RSA key takes a while to generate.
func testCerts() (caPEM, certPEM, keyPEM []byte, err error) {
	certsOnce.Do(func() { certsCA, certsCert, certsKey, certsErr = makeCerts() })
	return certsCA, certsCert, certsKey, certsErr
}

// makeCerts returns a CA certificate and a server certificate and key for
// 127.0.0.1 and localhost, PEM-encoded.
func makeCerts() (caPEM, certPEM, keyPEM []byte, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slapdtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	// An RSA-2048 server key, as most directories use: its handshake cost
	// is what a connection pool saves.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<16 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// slapdConf is the server's configuration; the placeholders are the TLS
// lines, the directory, the suffix, the rootdn and its password, and the
// database directory.
const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
%[1]s
pidfile %[2]s/slapd.pid
argsfile %[2]s/slapd.args
database mdb
maxsize 16777216
suffix "%[3]s"
rootdn "%[4]s"
rootpw %[5]s
directory %[6]s
index objectClass eq
index mail eq
index uid eq
index member eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
overlay ppolicy
ppolicy_default "cn=default,ou=policies,%[3]s"
ppolicy_use_lockout
access to attrs=userPassword by self =w by anonymous auth by * none
access to * by * read
`
