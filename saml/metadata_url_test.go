package saml_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"github.com/ssokit/sso/ssotest"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// metadataServer serves whatever metadata the test sets.
type metadataServer struct {
	mu     sync.Mutex
	body   []byte
	status int
	header http.Header
	hits   int
}

func (m *metadataServer) set(status int, body []byte, header http.Header) {
	m.mu.Lock()
	m.status, m.body, m.header = status, body, header
	m.mu.Unlock()
}

func (m *metadataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hits++
	for k, v := range m.header {
		w.Header()[k] = v
	}
	w.WriteHeader(m.status)
	_, _ = w.Write(m.body)
}

// withCerts returns idp's metadata listing the given IdPs' certificates.
func withCerts(idp *samltest.Server, others ...*samltest.Server) []byte {
	md := string(idp.Metadata())
	i := strings.Index(md, "<md:KeyDescriptor")
	j := strings.Index(md, "</md:KeyDescriptor>") + len("</md:KeyDescriptor>")
	var kds string
	for _, o := range others {
		om := string(o.Metadata())
		kds += om[strings.Index(om, "<md:KeyDescriptor") : strings.Index(om, "</md:KeyDescriptor>")+len("</md:KeyDescriptor>")]
	}
	return []byte(md[:i] + kds + md[j:])
}

func TestMetadataURL(t *testing.T) {
	k1, c1, _ := samltest.GenerateKeyPair("idp 2029", t0.Add(-time.Hour), t0.Add(400*24*time.Hour))
	k2, c2, _ := samltest.GenerateKeyPair("idp 2030", t0.Add(-time.Hour), t0.Add(800*24*time.Hour))
	k3, c3, _ := samltest.GenerateKeyPair("idp hijacked", t0.Add(-time.Hour), t0.Add(800*24*time.Hour))
	idp1 := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Key: k1, Certificate: c1, Now: func() time.Time { return t0 }})
	idp2 := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Key: k2, Certificate: c2, Now: func() time.Time { return t0 }})
	idp3 := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Key: k3, Certificate: c3, Now: func() time.Time { return t0 }})
	for _, idp := range []*samltest.Server{idp1, idp2, idp3} {
		_ = idp.AddServiceProvider(samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL})
	}

	var logs bytes.Buffer
	ms := &metadataServer{}
	ms.set(200, withCerts(idp1, idp1), http.Header{"Cache-Control": {"max-age=7200"}})
	srv := httptest.NewServer(ms)
	defer srv.Close()
	ev := &eventLog{}
	cfg := saml.Config{
		ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPMetadataURL: srv.URL + "/metadata",
		InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true,
		AllowIdPInitiated: true, Now: func() time.Time { return t0 }, Events: ev.record,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	login := func(idp *samltest.Server) error {
		enc, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com"})
		_, err := sp.ValidateResponse(context.Background(), enc, "")
		return err
	}
	if err := login(idp1); err != nil {
		t.Fatal(err)
	}
	info := sp.IdP()
	if info.MetadataURL != cfg.IdPMetadataURL || len(info.Certificates) != 1 || !info.NextRefresh.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("IdP info = %+v (want next refresh from max-age)", info)
	}
	if err := login(idp2); err == nil {
		t.Fatal("accepted a certificate the metadata does not list")
	}

	// Rotation, step 1: the IdP publishes its next certificate beside the
	// current one; cacheDuration sets the schedule.
	md := strings.Replace(string(withCerts(idp1, idp1, idp2)), "<md:EntityDescriptor ", `<md:EntityDescriptor cacheDuration="PT3H" `, 1)
	ms.set(200, []byte(md), nil)
	if err := sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := login(idp2); err != nil {
		t.Fatalf("new certificate after refresh: %v", err)
	}
	if next := sp.IdP().NextRefresh; !next.Equal(t0.Add(3 * time.Hour)) {
		t.Fatalf("next refresh %v; want cacheDuration", next)
	}
	if n := len(ev.of(sso.EventMetadataRefreshed)); n != 1 {
		t.Fatalf("%d metadata_refreshed events", n)
	}
	// Step 2: the old certificate goes; overlap with what was in use.
	ms.set(200, withCerts(idp1, idp2), nil)
	if err := sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := login(idp1); err == nil {
		t.Fatal("retired certificate still accepted")
	}

	// A document replacing every certificate at once is held back.
	ms.set(200, withCerts(idp1, idp3), nil)
	err = sp.RefreshMetadata(context.Background())
	wantReason(t, err, sso.ReasonMetadataInvalid)
	if err := login(idp2); err != nil {
		t.Fatalf("held-back refresh changed the trusted certificates: %v", err)
	}
	if err := login(idp3); err == nil {
		t.Fatal("held-back certificate trusted")
	}
	if held := ev.of(sso.EventMetadataHeldBack); len(held) != 1 || !strings.Contains(held[0].Detail, "idp hijacked") {
		t.Fatalf("metadata_held_back events = %+v", held)
	}
	if info := sp.IdP(); info.RefreshFailures != 1 || info.RefreshError == "" || info.HeldBack == nil ||
		len(info.HeldBack.Certificates) != 1 || info.HeldBack.Certificates[0].Subject != "CN=idp hijacked" || !info.HeldBack.Since.Equal(t0) {
		t.Fatalf("status after hold-back = %+v, held back %+v", info, info.HeldBack)
	}
	if !strings.Contains(logs.String(), "IdP metadata held back") {
		t.Fatalf("the hold-back is not in the log:\n%s", logs.String())
	}

	// Fetch failures keep the last good copy.
	ms.set(500, []byte("oops"), nil)
	err = sp.RefreshMetadata(context.Background())
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	ms.set(200, []byte("<not-metadata/>"), nil)
	err = sp.RefreshMetadata(context.Background())
	wantReason(t, err, sso.ReasonMetadataInvalid)
	if err := login(idp2); err != nil {
		t.Fatalf("after failed refreshes: %v", err)
	}
	if n := len(ev.of(sso.EventMetadataRefreshError)); n != 2 {
		t.Fatalf("%d metadata_refresh_failed events; want 2", n)
	}

	// An administrator who confirmed the rotation applies it.
	ms.set(200, withCerts(idp1, idp3), nil)
	if err := sp.ForceMetadataRefresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := login(idp3); err != nil {
		t.Fatalf("forced refresh: %v", err)
	}
	if sp.IdP().HeldBack != nil {
		t.Fatal("the applied metadata is still reported as held back")
	}
}

// TestMetadataRefreshChecksCertificates: a refresh that brings a
// certificate close to its expiry warns at once.
func TestMetadataRefreshChecksCertificates(t *testing.T) {
	k1, c1, _ := samltest.GenerateKeyPair("idp current", t0.Add(-time.Hour), t0.Add(400*24*time.Hour))
	k2, c2, _ := samltest.GenerateKeyPair("idp soon", t0.Add(-time.Hour), t0.Add(10*24*time.Hour))
	idp1 := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Certificate: c1, Key: k1})
	idp2 := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Certificate: c2, Key: k2})
	ms := &metadataServer{}
	ms.set(200, withCerts(idp1, idp1), nil)
	srv := httptest.NewServer(ms)
	defer srv.Close()
	ev := &eventLog{}
	sp, err := saml.New(context.Background(), saml.Config{
		ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPMetadataURL: srv.URL + "/metadata",
		InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, Now: func() time.Time { return t0 }, Events: ev.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if n := len(ev.of(sso.EventCertificateExpiring)); n != 0 {
		t.Fatalf("%d certificate_expiring events at New", n)
	}
	ms.set(200, withCerts(idp1, idp1, idp2), nil)
	if err := sp.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ev.of(sso.EventCertificateExpiring); len(got) != 1 || got[0].Attrs["subject"] != "CN=idp soon" || got[0].Attrs["days_left"] != "10" {
		t.Fatalf("certificate_expiring events after the refresh = %+v", got)
	}
}

// TestMetadataValidUntilSchedule: without cacheDuration or caching headers,
// a document is refreshed well before its validUntil (three quarters of
// the way), not after the default interval.
func TestMetadataValidUntilSchedule(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	ms := &metadataServer{}
	ms.set(200, []byte(strings.Replace(string(idp.Metadata()), "<md:EntityDescriptor ", `<md:EntityDescriptor validUntil="2030-01-02T07:04:05Z" `, 1)), nil)
	// An injected client (here the test server's own) replaces the guarded
	// one, so the loopback http URL needs no Allow option.
	srv := httptest.NewServer(ms)
	defer srv.Close()
	sp, err := saml.New(context.Background(), saml.Config{
		ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPMetadataURL: srv.URL + "/metadata",
		HTTPClient: srv.Client(), Now: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if next, want := sp.IdP().NextRefresh, t0.Add(3*time.Hour); !next.Equal(want) {
		t.Fatalf("next refresh %v; want %v (validUntil in 4h)", next, want)
	}
}

func TestMetadataURLGuard(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	ms := &metadataServer{}
	ms.set(200, idp.Metadata(), nil)
	srv := httptest.NewServer(ms)
	defer srv.Close()
	base := saml.Config{ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPMetadataURL: srv.URL + "/metadata"}

	// http refused unless allowed; then loopback refused unless allowed.
	_, err := saml.New(context.Background(), base)
	wantReason(t, err, sso.ReasonAddressNotAllowed)
	if !strings.Contains(err.Error(), "InsecureAllowHTTP") {
		t.Errorf("error does not name the option: %v", err)
	}
	c := base
	c.InsecureAllowHTTP = true
	_, err = saml.New(context.Background(), c)
	wantReason(t, err, sso.ReasonAddressNotAllowed)
	if !strings.Contains(err.Error(), "InsecureAllowPrivateNetwork") {
		t.Errorf("error does not name the option: %v", err)
	}
	c.IdPMetadataURL = "https://169.254.169.254/latest/meta-data/"
	_, err = saml.New(context.Background(), c)
	wantReason(t, err, sso.ReasonAddressNotAllowed)

	// Size cap.
	c = base
	c.InsecureAllowHTTP, c.InsecureAllowPrivateNetwork = true, true
	c.MetadataMaxBytes = 100
	_, err = saml.New(context.Background(), c)
	wantReason(t, err, sso.ReasonMetadataFetchFailed)

	// Expired document.
	ms.set(200, []byte(strings.Replace(string(idp.Metadata()), "<md:EntityDescriptor ", `<md:EntityDescriptor validUntil="2001-01-01T00:00:00Z" `, 1)), nil)
	c.MetadataMaxBytes = 0
	_, err = saml.New(context.Background(), c)
	wantReason(t, err, sso.ReasonMetadataInvalid)

	// Timeout.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	c.IdPMetadataURL = slow.URL
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = saml.New(context.Background(), c)
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %v", d)
	}

	// No URL.
	e := newEnv(t, samltest.Config{}, nil)
	if err := e.sp.RefreshMetadata(context.Background()); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("RefreshMetadata without URL: %v", err)
	}
}

// TestUntrustedKeyRefetchesMetadata: a response signed with a certificate
// the connection does not know makes it fetch the metadata once before
// refusing, so an IdP that switches to a certificate it has just published
// works at the first login, not after the next scheduled refresh; such
// fetches are at most one per MetadataMinRefetchInterval, so forged
// responses cannot make the connection hammer the IdP.
func TestUntrustedKeyRefetchesMetadata(t *testing.T) {
	clock := ssotest.NewClock(t0)
	k1, c1, _ := samltest.GenerateKeyPair("idp current", t0.Add(-time.Hour), t0.Add(400*24*time.Hour))
	k2, c2, _ := samltest.GenerateKeyPair("idp next", t0.Add(-time.Hour), t0.Add(800*24*time.Hour))
	k3, c3, _ := samltest.GenerateKeyPair("attacker", t0.Add(-time.Hour), t0.Add(800*24*time.Hour))
	idp := func(k *rsa.PrivateKey, c *x509.Certificate) *samltest.Server {
		s := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata", Key: k, Certificate: c, Now: clock.Now})
		_ = s.AddServiceProvider(samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL})
		return s
	}
	current, next, attacker := idp(k1, c1), idp(k2, c2), idp(k3, c3)
	ms := &metadataServer{}
	ms.set(200, withCerts(current, current), nil)
	srv := httptest.NewServer(ms)
	defer srv.Close()
	sp, err := saml.New(context.Background(), saml.Config{
		ID: "c1", EntityID: spEntity, ACSURL: acsURL, IdPMetadataURL: srv.URL + "/metadata",
		InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, AllowIdPInitiated: true, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	login := func(idp *samltest.Server) error {
		enc, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com"})
		_, err := sp.ValidateResponse(context.Background(), enc, "")
		return err
	}
	hits := func() int { ms.mu.Lock(); defer ms.mu.Unlock(); return ms.hits }

	// The IdP publishes its next certificate and signs with it at once.
	clock.Advance(2 * time.Minute)
	ms.set(200, withCerts(current, current, next), nil)
	before := hits()
	if err := login(next); err != nil {
		t.Fatalf("a certificate published since the last fetch: %v", err)
	}
	if hits() != before+1 {
		t.Fatalf("%d metadata fetches; want one", hits()-before)
	}
	// Forged responses: the first costs one fetch, the rest within the
	// interval none, and all are refused.
	clock.Advance(2 * time.Minute)
	before = hits()
	for range 20 {
		if err := login(attacker); sso.ReasonOf(err) != sso.ReasonUntrustedKey {
			t.Fatalf("a response signed by an unknown key: %v", err)
		}
	}
	if hits() != before+1 {
		t.Fatalf("%d metadata fetches for 20 forged responses; want one", hits()-before)
	}
	// Metadata that would drop every certificate in use is held back, not
	// taken from a refetch either.
	clock.Advance(2 * time.Minute)
	ms.set(200, withCerts(attacker, attacker), nil)
	if err := login(attacker); sso.ReasonOf(err) != sso.ReasonUntrustedKey {
		t.Fatalf("held-back metadata was applied by a refetch: %v", err)
	}
	if err := login(current); err != nil {
		t.Fatalf("the current certificate after a held-back refetch: %v", err)
	}
}
