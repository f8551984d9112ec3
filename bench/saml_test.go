package bench

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// The SAML benchmark's fixed clock and service provider.
var samlT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	samlSPEntity   = "https://app.example.test/saml/c1/metadata"
	samlACSURL     = "https://app.example.test/saml/c1/acs"
	samlBinding    = "browser-binding-cookie-value"
	samlTargetSize = 5 << 10 // bytes of the decoded response
	samlUser       = "alice@example.com"
	samlPool       = 32 // distinct responses per cycle (IDs, InResponseTo)
)

// samlFixture is one IdP and, configured for it, ssokit's connection,
// gosaml2's service provider and crewjam's service provider, with a pool
// of distinct valid responses of about samlTargetSize bytes.
type samlFixture struct {
	idp      *samltest.Server
	sp       *saml.ServiceProvider
	states   *sso.MemoryStateStore
	replay   *swapReplay
	gosaml2  *saml2.SAMLServiceProvider
	crewjam  *crewjam.ServiceProvider
	crewSeen *mapReplay
	// resp[i] is the encoded response answering request samlReqID(i).
	resp  []string
	bytes int // decoded size of resp[0]
}

func samlReqID(i int) string { return fmt.Sprintf("_req-%04d", i) }
func samlFlowID(i int) string {
	return fmt.Sprintf("flow-%04d", i)
}

// swapReplay is an sso.ReplayCache whose memory cache is replaced between
// cycles of the response pool, so that the pool's assertion IDs are new
// again; ssokit still runs its complete replay check on every response.
type swapReplay struct {
	mu sync.RWMutex
	c  *sso.MemoryReplayCache
}

func (s *swapReplay) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	s.mu.RLock()
	c := s.c
	s.mu.RUnlock()
	return c.Seen(ctx, key, until)
}

func (s *swapReplay) reset() {
	s.mu.Lock()
	s.c = sso.NewMemoryReplayCache(sso.MemoryOptions{Now: func() time.Time { return samlT0 }})
	s.mu.Unlock()
}

// mapReplay is the replay cache a gosaml2 or crewjam caller must supply:
// assertion IDs until their NotOnOrAfter.
type mapReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

var errReplayed = errors.New("assertion replayed")

func (m *mapReplay) Consume(id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.seen[id]; ok {
		return errReplayed
	}
	m.seen[id] = until
	return nil
}

func (m *mapReplay) reset() {
	m.mu.Lock()
	m.seen = make(map[string]time.Time, samlPool)
	m.mu.Unlock()
}

func newSAMLFixture(tb testing.TB) *samlFixture {
	tb.Helper()
	idp := samltest.Start(tb, samltest.Config{EntityID: "https://idp.example.test/metadata", Now: func() time.Time { return samlT0 }})
	f := &samlFixture{idp: idp, replay: &swapReplay{}, crewSeen: &mapReplay{}}
	f.replay.reset()
	f.crewSeen.reset()
	f.states = sso.NewMemoryStateStore(sso.MemoryOptions{Now: func() time.Time { return samlT0 }})
	cfg := idp.ConnectionConfig("c1", samlSPEntity, samlACSURL)
	cfg.StateStore, cfg.ReplayCache = f.states, f.replay
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	f.sp = sp
	f.gosaml2 = &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      idp.SSOURL(),
		IdentityProviderIssuer:      idp.EntityID(),
		AssertionConsumerServiceURL: samlACSURL,
		ServiceProviderIssuer:       samlSPEntity,
		AudienceURI:                 samlSPEntity,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idp.Certificate()}},
		Clock:                       dsig.NewFakeClockAt(samlT0),
	}
	md, err := samlsp.ParseMetadata(idp.Metadata())
	if err != nil {
		tb.Fatal(err)
	}
	acs, _ := url.Parse(samlACSURL)
	meta, _ := url.Parse(samlSPEntity)
	f.crewjam = &crewjam.ServiceProvider{
		EntityID:             samlSPEntity,
		MetadataURL:          *meta,
		AcsURL:               *acs,
		IDPMetadata:          md,
		Clock:                dsig.NewFakeClockAt(samlT0),
		RejectSHA1Signatures: true,
		ReplayCache:          f.crewSeen,
	}
	// Pad the user's attributes until the response is samlTargetSize.
	var groups []string
	for {
		raw, err := idp.Response(f.opts(0, groups))
		if err != nil {
			tb.Fatal(err)
		}
		if len(raw) >= samlTargetSize {
			f.bytes = len(raw)
			break
		}
		groups = append(groups, fmt.Sprintf("cn=group-%03d,ou=groups,dc=example,dc=com", len(groups)))
	}
	f.resp = make([]string, samlPool)
	for i := range f.resp {
		enc, err := idp.EncodedResponse(f.opts(i, groups))
		if err != nil {
			tb.Fatal(err)
		}
		f.resp[i] = enc
	}
	return f
}

func (f *samlFixture) opts(i int, groups []string) samltest.ResponseOptions {
	return samltest.ResponseOptions{User: samlUser, InResponseTo: samlReqID(i), Audience: samlSPEntity,
		Attributes: map[string][]string{"memberOf": groups}}
}

// cycle starts a new pass over the pool: fresh replay caches and, for
// ssokit, the pending flows the responses answer (as Begin stores them).
func (f *samlFixture) cycle(tb testing.TB) {
	f.replay.reset()
	f.crewSeen.reset()
	for i := range f.resp {
		fl := &sso.Flow{ID: samlFlowID(i), Connection: "c1", RequestID: samlReqID(i), Created: samlT0, Expires: samlT0.Add(saml.DefaultFlowLifetime)}
		if err := sso.StoreFlows(f.states, samlBinding).Save(context.Background(), fl); err != nil {
			tb.Fatal(err)
		}
	}
}

// ssokit runs the complete check of response i: flow, InResponseTo,
// signature, conditions, replay, identity.
func (f *samlFixture) ssokit(i int, enc string) error {
	id, err := f.sp.Complete(context.Background(), sso.CompleteRequest{Binding: samlBinding,
		Params: url.Values{"SAMLResponse": {enc}, "RelayState": {samlFlowID(i)}}})
	if err != nil {
		return err
	}
	if id.Subject != samlUser {
		return fmt.Errorf("ssokit: subject %q", id.Subject)
	}
	return nil
}

// gosaml2Check is gosaml2's RetrieveAssertionInfo plus what its caller must
// add to reach the same verdict: the time and audience conditions it only
// reports as warnings, exactly one assertion, InResponseTo against the
// pending request, a non-empty NameID, and the replay check of the
// assertion ID until its NotOnOrAfter.
func (f *samlFixture) gosaml2Check(i int, enc string) error {
	info, err := f.gosaml2.RetrieveAssertionInfo(enc)
	if err != nil {
		return err
	}
	if info.WarningInfo.InvalidTime {
		return errors.New("gosaml2: outside the assertion's validity")
	}
	if info.WarningInfo.NotInAudience {
		return errors.New("gosaml2: not in audience")
	}
	if len(info.Assertions) != 1 {
		return errors.New("gosaml2: not exactly one assertion")
	}
	a := info.Assertions[0]
	scd := a.Subject.SubjectConfirmation.SubjectConfirmationData
	if scd.InResponseTo != samlReqID(i) {
		return errors.New("gosaml2: InResponseTo mismatch")
	}
	if info.NameID == "" {
		return errors.New("gosaml2: empty NameID")
	}
	until, err := time.Parse(time.RFC3339, scd.NotOnOrAfter)
	if err != nil {
		return err
	}
	if err := f.crewSeen.Consume("gosaml2/"+a.ID, until); err != nil {
		return err
	}
	if info.NameID != samlUser {
		return fmt.Errorf("gosaml2: NameID %q", info.NameID)
	}
	return nil
}

// crewjamCheck is crewjam's ParseXMLResponse with the request ID, the ACS
// URL, SHA-1 refused and its replay cache: it checks InResponseTo,
// Destination, audience, conditions and replay itself. Decoding the
// base64 form value is the caller's.
func (f *samlFixture) crewjamCheck(i int, enc string) error {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return err
	}
	a, err := f.crewjam.ParseXMLResponse(raw, []string{samlReqID(i)}, f.crewjam.AcsURL)
	if err != nil {
		var ire *crewjam.InvalidResponseError
		if errors.As(err, &ire) {
			return fmt.Errorf("crewjam: %w", ire.PrivateErr)
		}
		return err
	}
	if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value != samlUser {
		return errors.New("crewjam: wrong subject")
	}
	return nil
}

// tamperSAML returns enc with one character of the signed assertion
// changed: the user's email in the NameID.
func tamperSAML(tb testing.TB, enc string) string {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		tb.Fatal(err)
	}
	i := bytes.Index(raw, []byte(samlUser+"</saml:NameID>"))
	if i < 0 {
		i = bytes.Index(raw, []byte(samlUser+"<"))
	}
	if i < 0 {
		tb.Fatalf("no NameID %q in the response", samlUser)
	}
	out := bytes.Clone(raw)
	out[i] = 'm' // alice -> mlice
	return base64.StdEncoding.EncodeToString(out)
}

type samlCheck struct {
	name  string
	check func(f *samlFixture, i int, enc string) error
}

var samlChecks = []samlCheck{
	{"ssokit", (*samlFixture).ssokit},
	{"gosaml2", (*samlFixture).gosaml2Check},
	{"crewjam", (*samlFixture).crewjamCheck},
}

// acceptAndRefuse shows that check accepts response 0 and refuses a
// tampered copy of response 1, a replay of response 0, and response 2
// posted for the wrong request.
func (f *samlFixture) acceptAndRefuse(tb testing.TB, c samlCheck) {
	tb.Helper()
	f.cycle(tb)
	if err := c.check(f, 0, f.resp[0]); err != nil {
		tb.Fatalf("%s refuses the valid response: %v", c.name, err)
	}
	for _, bad := range []struct {
		what string
		i    int
		enc  string
	}{
		{"a tampered response", 1, tamperSAML(tb, f.resp[1])},
		{"a replayed response", 0, f.resp[0]},
		{"a response to another request", 3, f.resp[2]},
	} {
		mustRefuse(tb, c.name, bad.what, c.check(f, bad.i, bad.enc))
	}
}

func TestSAMLPeersAcceptAndRefuse(t *testing.T) {
	f := newSAMLFixture(t)
	if f.bytes < samlTargetSize || f.bytes > samlTargetSize+512 {
		t.Fatalf("response of %d bytes; want about %d", f.bytes, samlTargetSize)
	}
	for _, c := range samlChecks {
		t.Run(c.name, func(t *testing.T) { f.acceptAndRefuse(t, c) })
	}
}

// BenchmarkSAMLResponse times the complete check of a valid signed
// response (about 5 KB, one signed assertion, RSA-SHA256) by ssokit,
// gosaml2 v0.11.0 with its caller's checks, and crewjam/saml.
func BenchmarkSAMLResponse(b *testing.B) {
	f := newSAMLFixture(b)
	floorHere(b)
	for _, c := range samlChecks {
		b.Run(c.name, func(b *testing.B) {
			f.acceptAndRefuse(b, c)
			f.cycle(b)
			b.ReportMetric(float64(f.bytes), "resp-bytes")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % samlPool
				if k == 0 && i > 0 {
					b.StopTimer()
					f.cycle(b)
					b.StartTimer()
				}
				if err := c.check(f, k, f.resp[k]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
