package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssokit/sso"
)

// bound keeps the number of rows of one table (sso_state, sso_replay) at or
// below max without counting the table on every insert. A count, made by
// Purge or when the table looks full, sets base; every insert adds one to
// since (reserving it before the statement, so concurrent inserts cannot
// overshoot) and every row taken subtracts one. The table is full when
// base+since reaches max.
type bound struct {
	table, op, what, field string // for queries and the store_full error
	max                    int64

	base    atomic.Int64 // rows at the last count
	since   atomic.Int64 // inserts less deletions by this Store since then
	counted atomic.Bool  // a count has run

	mu   sync.Mutex // serialises counts; guards last
	last time.Time  // when the last count ran, by the store's clock
}

// reserve claims room for one more row; it reports false when the table is
// full.
func (b *bound) reserve() bool {
	if b.base.Load()+b.since.Add(1) > b.max {
		b.since.Add(-1)
		return false
	}
	return true
}

// release gives back a reserved row that was not inserted, or counts a row
// deleted.
func (b *bound) release() { b.since.Add(-1) }

// full returns the store_full error of the table.
func (b *bound) full() error {
	return &sso.Error{Op: b.op, Reason: sso.ReasonStoreFull, Detail: fmt.Sprintf(
		"%s holds its limit of %d unexpired %s (sqlstore.Config.%s); raise the limit if this is the normal load, or look for a flood of requests; writes succeed again as records expire",
		b.table, b.max, b.what, b.field)}
}

// recount deletes the table's expired rows and counts the rest. Inserts
// that run during the count may be counted twice (in the count and in
// since), which errs on the side of full until the next count.
func (s *Store) recount(ctx context.Context, b *bound, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return s.recountLocked(ctx, b, now)
}

func (s *Store) recountLocked(ctx context.Context, b *bound, now time.Time) error {
	const op = "sqlstore.Purge"
	if _, err := s.db.ExecContext(ctx, `DELETE FROM `+b.table+` WHERE expires_us <= $1`, micros(now)); err != nil {
		return dbError(op, "delete expired records from "+b.table, err)
	}
	before := b.since.Load()
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+b.table).Scan(&n); err != nil {
		return dbError(op, "count the records of "+b.table, err)
	}
	b.base.Store(n)
	b.since.Add(-before)
	b.last = now
	b.counted.Store(true)
	return nil
}

// admit reserves room for one row in b's table. A Store that has not
// counted the table yet counts it first. When the table looks full, and the
// last count is at least recountInterval old, it counts again (expired rows
// go) and tries once more. It returns b.full() when there is no room.
func (s *Store) admit(ctx context.Context, b *bound) error {
	if !b.counted.Load() {
		if err := s.recountOnce(ctx, b); err != nil {
			return err
		}
	}
	if b.reserve() {
		return nil
	}
	now := s.now()
	b.mu.Lock()
	due := now.Sub(b.last) >= recountInterval || now.Before(b.last)
	var err error
	if due {
		err = s.recountLocked(ctx, b, now)
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if due && b.reserve() {
		return nil
	}
	return b.full()
}

// recountOnce counts b's table unless another caller did meanwhile.
func (s *Store) recountOnce(ctx context.Context, b *bound) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.counted.Load() {
		return nil
	}
	return s.recountLocked(ctx, b, s.now())
}
