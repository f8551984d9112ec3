package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ssokit/sso"
)

// MaxRecent bounds the n of [Store.Recent].
const MaxRecent = 1000

// Append adds e to the audit event log, in one statement: an event is
// written whole or not at all. A zero e.Time is set to now. The log is kept
// within Config.MaxEvents and Config.EventRetention by deleting the oldest
// events, never by refusing new ones, so a full log does not block logins.
func (s *Store) Append(ctx context.Context, e sso.Event) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	attrs := ""
	if len(e.Attrs) > 0 {
		b, err := json.Marshal(e.Attrs)
		if err != nil {
			return dbError("sqlstore.Append", "encode attributes", err)
		}
		attrs = string(b)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sso_events (time_us, type, account, connection, user_id, subject, reason, detail, attrs)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		micros(e.Time), string(e.Type), e.Account, e.Connection, e.User, e.Subject, string(e.Reason), e.Detail, attrs); err != nil {
		return dbError("sqlstore.Append", "append an event", err)
	}
	s.wrote(ctx)
	return nil
}

// Recent returns up to n of the account's most recent events, newest first
// (all accounts' when account is ""). n is capped at MaxRecent.
func (s *Store) Recent(ctx context.Context, account string, n int) ([]sso.Event, error) {
	const op = "sqlstore.Recent"
	if n <= 0 {
		return nil, nil
	}
	n = min(n, MaxRecent)
	q := `SELECT time_us, type, account, connection, user_id, subject, reason, detail, attrs FROM sso_events`
	args := []any{n}
	if account != "" {
		q += ` WHERE account = $2`
		args = append(args, account)
	}
	q += ` ORDER BY id DESC LIMIT $1`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError(op, "read events", err)
	}
	defer rows.Close()
	var out []sso.Event
	for rows.Next() {
		var e sso.Event
		var t int64
		var typ, reason, attrs string
		if err := rows.Scan(&t, &typ, &e.Account, &e.Connection, &e.User, &e.Subject, &reason, &e.Detail, &attrs); err != nil {
			return nil, dbError(op, "read events", err)
		}
		e.Time, e.Type, e.Reason = fromMicros(t), sso.EventType(typ), sso.Reason(reason)
		if attrs != "" {
			if err := json.Unmarshal([]byte(attrs), &e.Attrs); err != nil {
				return nil, dbError(op, "decode attributes", err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, "read events", err)
	}
	return out, nil
}

// EventFunc returns an sso.EventFunc that appends each event to the log,
// for Config.Events of the other packages. The write is synchronous, does not
// stop when the request's context is cancelled, and gives up after five
// seconds; failures go to onError when it is not nil.
func (s *Store) EventFunc(onError func(error)) sso.EventFunc {
	return func(ctx context.Context, e sso.Event) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Append(ctx, e); err != nil && onError != nil {
			onError(err)
		}
	}
}

// LoginCount is a number of logins through one connection in one interval
// with one outcome, as LoginCounts returns them.
type LoginCount struct {
	// Connection is the connection ID ("" for password logins).
	Connection string
	// Start is the start of the interval.
	Start time.Time
	// Succeeded tells a login_succeeded from a login_failed; Reason is the
	// failure's.
	Succeeded bool
	Reason    sso.Reason
	Count     int
}

// LoginCounts counts the account's login_succeeded and login_failed events
// since since, per connection, interval of length step from since, and
// outcome (failures per Reason): what a login health chart draws. The
// database counts; no event is read.
func (s *Store) LoginCounts(ctx context.Context, account string, since time.Time, step time.Duration) ([]LoginCount, error) {
	const op = "sqlstore.LoginCounts"
	if step <= 0 {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest, Detail: "step must be positive"}
	}
	from, width := micros(since), step.Microseconds()
	rows, err := s.db.QueryContext(ctx, `SELECT connection, (time_us - $2) / $3 AS slot, type, reason, COUNT(*) FROM sso_events
		WHERE account = $1 AND time_us >= $2 AND type IN ('login_succeeded', 'login_failed')
		GROUP BY connection, slot, type, reason ORDER BY connection, slot`, account, from, width)
	if err != nil {
		return nil, dbError(op, "count events", err)
	}
	defer rows.Close()
	var out []LoginCount
	for rows.Next() {
		var c LoginCount
		var slot int64
		var typ, reason string
		if err := rows.Scan(&c.Connection, &slot, &typ, &reason, &c.Count); err != nil {
			return nil, dbError(op, "count events", err)
		}
		c.Start = since.Add(time.Duration(slot) * step)
		c.Succeeded, c.Reason = typ == string(sso.EventLoginSucceeded), sso.Reason(reason)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, "count events", err)
	}
	return out, nil
}
