package demoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
)

// How the admin page's changes reach every replica. A change is written to
// demo_settings with the settings' version in one transaction (see
// settings.go), which on PostgreSQL also notifies the channel
// settingsChannel. Each replica
//
//   - listens on the channel on a connection of its own, reconnecting
//     (and catching up) when it drops: a change arrives within a few
//     milliseconds;
//   - reads the version every SyncInterval anyway, the fallback that also
//     catches a notification lost while the listening connection was
//     down: a change arrives within SyncInterval at worst;
//   - applies what changed (policies, stages, IdP metadata, connections
//     added or removed) to its registry in one login.Registry.Batch: one rebuild of the routing
//     table, swapped in atomically.
//
// Notifications are only a nudge to read the version; a burst of them
// coalesces: the replica waits syncCoalesce for the rest of a burst, then
// applies everything in one rebuild, and rebuilds at most once per
// syncMinGap, however many changes arrive.

// DefaultSyncInterval is how often a replica reads the settings' version
// when no notification comes.
const DefaultSyncInterval = 5 * time.Second

const (
	// syncCoalesce is how long a replica waits after a nudge for the rest
	// of a burst of changes.
	syncCoalesce = 50 * time.Millisecond
	// syncMinGap is the least time between two rebuilds.
	syncMinGap = 250 * time.Millisecond
)

// syncer keeps a replica's registry in step with the settings.
type syncer struct {
	a        *App
	interval time.Duration
	kick     chan struct{}
	stop     context.CancelFunc
	done     sync.WaitGroup

	mu        sync.Mutex
	listening bool  // the notification connection is up
	lastErr   error // of the last version check, nil when it worked
}

// startSync starts keeping the registry in step; App.close stops it.
func (a *App) startSync() {
	ctx, stop := context.WithCancel(context.Background())
	s := &syncer{a: a, interval: a.opts.SyncInterval, kick: make(chan struct{}, 1), stop: stop}
	if s.interval <= 0 {
		s.interval = DefaultSyncInterval
	}
	a.sync = s
	s.done.Add(2)
	go s.tick(ctx)
	go s.apply(ctx)
	if a.pgURL != "" {
		s.done.Add(1)
		go s.listen(ctx)
	}
}

func (s *syncer) close() {
	s.stop()
	s.done.Wait()
}

// nudge asks for a version check, unless one is pending already.
func (s *syncer) nudge() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// tick nudges every interval and drops expired sessions.
func (s *syncer) tick(ctx context.Context) {
	defer s.done.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.nudge()
			dctx, cancel := context.WithTimeout(ctx, storeTimeout)
			_, _ = s.a.store.DB().ExecContext(dctx, `DELETE FROM demo_sessions WHERE expires_us < $1`, time.Now().UnixMicro())
			cancel()
		}
	}
}

// listen holds a PostgreSQL connection listening on settingsChannel,
// nudging at every notification and after every (re)connection.
func (s *syncer) listen(ctx context.Context) {
	defer s.done.Done()
	const first, most = 100 * time.Millisecond, 5 * time.Second
	backoff := first
	for ctx.Err() == nil {
		connected, err := s.listenOnce(ctx)
		s.setListening(false)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = first
		}
		s.a.log.Warn("settings notifications: connection lost; reading the version every SyncInterval until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, most)
	}
}

// listenOnce listens until the connection fails; connected reports
// whether it got as far as listening.
func (s *syncer) listenOnce(ctx context.Context) (connected bool, err error) {
	cfg, err := postgresConfig(s.a.pgURL)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{settingsChannel}.Sanitize()); err != nil {
		return false, err
	}
	s.setListening(true)
	s.nudge() // what changed while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.nudge()
	}
}

// isListening reports whether the notification connection is up.
func (s *syncer) isListening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening
}

func (s *syncer) setListening(v bool) {
	s.mu.Lock()
	s.listening = v
	s.mu.Unlock()
}

// apply waits for nudges and applies what changed, coalescing bursts.
func (s *syncer) apply(ctx context.Context) {
	defer s.done.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		// Let the rest of a burst arrive; the nudges it sends meanwhile
		// are absorbed by the one pending in kick.
		select {
		case <-ctx.Done():
			return
		case <-time.After(syncCoalesce):
		}
		select {
		case <-s.kick:
		default:
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rebuilt, err := s.a.syncSettings(actx)
		cancel()
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		if err != nil {
			s.a.log.Warn("settings: cannot apply the changes of other replicas yet; retrying", "err", err)
		}
		if rebuilt {
			select {
			case <-ctx.Done():
				return
			case <-time.After(syncMinGap):
			}
		}
	}
}

// status describes the sync for /healthz; ok is false when the settings
// cannot be read.
func (s *syncer) status() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.a.SettingsVersion()
	how := fmt.Sprintf("checked every %v", s.interval)
	if s.a.pgURL != "" {
		if s.listening {
			how = "notified by PostgreSQL, and " + how
		} else {
			how = "not notified (listening connection down), " + how
		}
	}
	if s.lastErr != nil {
		return fmt.Sprintf("version %d applied; cannot read newer: %v", v, s.lastErr), false
	}
	if refused := s.a.refusedSettings(); len(refused) > 0 {
		// This replica runs an older configuration than the others: out
		// of the balancer until an administrator fixes it.
		return fmt.Sprintf("version %d applied except %s, refused here (see the log)", v, strings.Join(refused, ", ")), false
	}
	return fmt.Sprintf("version %d applied, %s", v, how), true
}

// refusedSettings returns the keys of the settings this replica refused.
func (a *App) refusedSettings() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.refused))
	for k := range a.refused {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SettingsVersion returns the version of the admin page's settings this
// application has applied: the number of changes made on any replica.
func (a *App) SettingsVersion() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.settingsVersion
}

// Rebuilds returns how many times the application rebuilt its routing
// table (login.Registry.Generation): at the start, and for changes made
// on any replica.
func (a *App) Rebuilds() uint64 { return a.reg.Generation() }

// syncSettings applies the settings newer than the applied version: the
// kept policies, IdP metadata and connections added or removed on the
// admin page, in one Registry.Batch. It reports
// whether the registry was rebuilt. Changes this replica made itself are
// in the registry already and cost no rebuild.
func (a *App) syncSettings(ctx context.Context) (bool, error) {
	// Under a.mu, which the admin page's changes hold too: what is read
	// here is never older than what runs.
	a.mu.Lock()
	defer a.mu.Unlock()
	v, err := a.settings.version(ctx)
	if err != nil {
		return false, err
	}
	if v <= a.settingsVersion {
		return false, nil
	}
	policies, err := a.settings.policies(ctx)
	if err != nil {
		return false, err
	}
	metadata, err := a.settings.all(ctx, metadataKeyPrefix)
	if err != nil {
		return false, err
	}
	candidates, err := a.settings.all(ctx, candidateKeyPrefix)
	if err != nil {
		return false, err
	}
	stored, err := a.settings.storedConnections(ctx)
	if err != nil {
		return false, err
	}
	// refused are the settings this replica cannot apply, with why.
	refused := map[string]error{}
	// The connections added on the admin page that this replica does not
	// have yet, built as at start before the registry changes.
	type added struct {
		ci *connInfo
		lc login.Connection
	}
	var adds []added
	for _, id := range sortedKeys(keysOf(stored)) {
		if _, ok := a.connOf[id]; ok {
			continue
		}
		ci, lc, err := a.newStoredConnection(ctx, id, stored[id], policies)
		if err != nil {
			refused[connectionKeyPrefix+id] = err
			a.log.Error("settings: a connection added on the admin page is refused here", "connection", id, "err", err)
			continue
		}
		adds = append(adds, added{ci, lc})
	}
	// The connections added on the admin page that are no longer kept:
	// removed on some replica.
	removed := map[string]*connInfo{}
	for id, ci := range a.connOf {
		if _, ok := stored[id]; !ok && ci.added() {
			removed[id] = ci
		}
	}
	// New service providers for the connections whose kept IdP metadata
	// or candidate metadata changed, built before the registry changes.
	type rebuilt struct {
		ci        *connInfo
		live      *saml.ServiceProvider // new live metadata, or nil
		candidate *saml.ServiceProvider // new candidate, or nil
		dropCand  bool                  // the candidate was removed
	}
	var changes []*rebuilt
	build := func(ci *connInfo, xml []byte) (*saml.ServiceProvider, error) {
		sc := ci.samlCfg
		sc.IdPMetadataURL, sc.IdPEntityID, sc.IdPMetadataXML = "", "", xml
		return saml.New(ctx, sc)
	}
	for id, ci := range a.connOf {
		if ci.cfg.SAML == nil || removed[id] != nil {
			continue
		}
		r := &rebuilt{ci: ci}
		if xml := metadata[id]; xml != nil && !bytes.Equal(xml, ci.samlCfg.IdPMetadataXML) {
			if r.live, err = build(ci, xml); err != nil {
				refused[metadataKeyPrefix+id] = err
				a.log.Error("settings: IdP metadata saved on the admin page is refused here; this replica keeps the previous metadata", "connection", id, "err", err)
				continue
			}
		}
		if xml := candidates[id]; !bytes.Equal(xml, a.candidates[id]) {
			if xml == nil {
				r.dropCand = true
			} else if r.candidate, err = build(ci, xml); err != nil {
				if r.live != nil {
					_ = r.live.Close()
				}
				refused[candidateKeyPrefix+id] = err
				a.log.Error("settings: candidate IdP metadata saved on the admin page is refused here", "connection", id, "err", err)
				continue
			}
		}
		if r.live != nil || r.candidate != nil || r.dropCand {
			changes = append(changes, r)
		}
	}
	// Each change is a step of one batch, named by its settings key. When
	// the batch does not check out, each is tried alone, so that one
	// change this replica refuses cannot hold back the others; the refused
	// ones are reported by /healthz and to the admin who made them.
	type step struct {
		key   string
		apply func(b *login.Batch) error
	}
	var steps []step
	for _, ad := range adds {
		steps = append(steps, step{connectionKeyPrefix + ad.ci.cfg.ID, func(b *login.Batch) error {
			_, _, err := b.SetConnection(ad.ci.account, ad.lc)
			return err
		}})
	}
	var replaced []sso.Authenticator
	// A removed connection goes first, its authenticators closed once the
	// registry without it runs.
	for _, id := range sortedKeys(keysOf(removed)) {
		ci := removed[id]
		steps = append(steps, step{connectionKeyPrefix + id, func(b *login.Batch) error {
			ac, _ := b.Account(ci.account)
			if i := slices.IndexFunc(ac.Connections, func(c login.Connection) bool { return c.ID() == id }); i >= 0 {
				replaced = append(replaced, ac.Connections[i].Authenticator)
				if c := ac.Connections[i].Candidate; c != nil {
					replaced = append(replaced, c)
				}
			}
			return removeConnection(b, ci.account, id)
		}})
	}
	for acct, kept := range policies {
		cur, ok := a.reg.Policy(acct)
		if !ok {
			continue
		}
		next := mergePolicy(cur, kept)
		next.Account = acct
		next.Connections = slices.DeleteFunc(next.Connections, func(c policy.Connection) bool { return removed[c.ID] != nil })
		cur.Connections = slices.DeleteFunc(slices.Clone(cur.Connections), func(c policy.Connection) bool { return removed[c.ID] != nil })
		if sameJSON(cur, next) {
			continue
		}
		steps = append(steps, step{policyKeyPrefix + acct, func(b *login.Batch) error { return b.SetPolicy(acct, next) }})
	}
	for _, r := range changes {
		steps = append(steps, step{metadataKeyPrefix + r.ci.cfg.ID, func(b *login.Batch) error {
			ac, _ := b.Account(r.ci.account)
			i := slices.IndexFunc(ac.Connections, func(c login.Connection) bool { return c.ID() == r.ci.cfg.ID })
			if i < 0 {
				return nil
			}
			entry := ac.Connections[i]
			if r.live != nil {
				replaced = append(replaced, entry.Authenticator)
				entry.Authenticator = r.live
				if r.candidate == nil {
					r.dropCand = true // a promoted candidate is live now
				}
			}
			if r.candidate != nil || r.dropCand {
				if entry.Candidate != nil {
					replaced = append(replaced, entry.Candidate)
				}
				entry.Candidate = nil
				if r.candidate != nil {
					entry.Candidate = r.candidate
				}
			}
			_, _, err := b.SetConnection(r.ci.account, entry)
			return err
		}})
	}
	err = a.reg.Batch(func(b *login.Batch) error {
		for _, st := range steps {
			if err := st.apply(b); err != nil {
				return err
			}
		}
		return nil
	})
	rebuilds := 1
	if err != nil {
		replaced, rebuilds = nil, 0
		for _, st := range steps {
			n := len(replaced)
			if err := a.reg.Batch(st.apply); err != nil {
				replaced = replaced[:n] // still in use
				refused[st.key] = err
				a.log.Error("settings: a change saved on the admin page is refused here; this replica keeps the previous value", "setting", st.key, "err", err)
				continue
			}
			rebuilds++
		}
	}
	if len(steps) == 0 {
		rebuilds = 0
	}
	for _, r := range changes {
		if refused[metadataKeyPrefix+r.ci.cfg.ID] != nil {
			if r.live != nil {
				_ = r.live.Close()
			}
			if r.candidate != nil {
				_ = r.candidate.Close()
			}
		}
	}
	for _, ad := range adds {
		if refused[connectionKeyPrefix+ad.ci.cfg.ID] != nil {
			if c, ok := ad.ci.auth.(io.Closer); ok {
				_ = c.Close()
			}
			continue
		}
		a.connOf[ad.ci.cfg.ID] = ad.ci
	}
	for id := range removed {
		if refused[connectionKeyPrefix+id] == nil {
			delete(a.connOf, id)
			delete(a.candidates, id)
		}
	}
	changes = slices.DeleteFunc(changes, func(r *rebuilt) bool { return refused[metadataKeyPrefix+r.ci.cfg.ID] != nil })
	for _, r := range changes {
		id := r.ci.cfg.ID
		if r.live != nil {
			nci := *r.ci
			nci.auth = r.live
			nci.samlCfg.IdPMetadataURL, nci.samlCfg.IdPEntityID, nci.samlCfg.IdPMetadataXML = "", "", metadata[id]
			a.connOf[id] = &nci
		}
		if r.candidate != nil || r.dropCand {
			a.candidates[id] = candidates[id]
		}
	}
	for _, old := range replaced {
		if c, ok := old.(io.Closer); ok {
			_ = c.Close()
		}
	}
	a.settingsVersion = v
	a.refused = refused
	return rebuilds > 0, nil
}

// refusedSetting returns why this replica refused the setting under key
// at the last sync, or nil.
func (a *App) refusedSetting(key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused[key]
}

// waitApplied waits until this replica applied the settings' version v
// (a change just saved) and returns the error it refused the setting key
// with, if it did.
func (a *App) waitApplied(ctx context.Context, v int64, key string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for a.SettingsVersion() < v {
		a.sync.nudge()
		select {
		case <-ctx.Done():
			return &sso.Error{Op: "demo.admin", Reason: sso.ReasonUnavailable, Detail: "the change is saved but not applied yet; it will be applied when the database answers again"}
		case <-time.After(10 * time.Millisecond):
		}
	}
	return a.refusedSetting(key)
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
