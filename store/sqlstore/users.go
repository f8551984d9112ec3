package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// Tx implements provisioning.Store: fn runs in one database transaction,
// committed when fn returns nil and rolled back when it returns an error or
// panics. On SQLite, transactions begin immediately (one writer at a time).
// On PostgreSQL they run at REPEATABLE READ, so that every read of a login
// sees the same snapshot (at READ COMMITTED a login retried after a
// concurrent first login of the same person could find that login's user
// but not yet its link); a uniqueness violation or serialisation failure
// (e.g. two first logins of one person at once) is reported as
// sso.ReasonConflict for the Provisioner to retry.
func (s *Store) Tx(ctx context.Context, fn func(tx provisioning.Tx) error) (err error) {
	const op = "sqlstore.Tx"
	var opts *sql.TxOptions
	if s.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	}
	sqlTx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return dbError(op, "begin a transaction", err)
	}
	t := &userTx{s: s, tx: sqlTx}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
		t.tx = nil
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return dbError(op, "commit", err)
	}
	committed = true
	return nil
}

type userTx struct {
	s  *Store
	tx *sql.Tx
}

func (t *userTx) sqlTx() *sql.Tx {
	if t.tx == nil {
		panic("sqlstore: transaction used after it ended")
	}
	return t.tx
}

func notFound(op, what string) error {
	return &sso.Error{Op: "sqlstore." + op, Reason: sso.ReasonNotFound, Detail: what + " not found"}
}

func conflict(op, detail string) error {
	return &sso.Error{Op: "sqlstore." + op, Reason: sso.ReasonConflict, Detail: detail}
}

// nullable maps "" to NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *userTx) FindLink(ctx context.Context, connection, subject string) (*provisioning.Link, error) {
	l := provisioning.Link{Connection: connection, Subject: subject}
	var created int64
	err := t.sqlTx().QueryRowContext(ctx, `SELECT user_id, issuer, created_us FROM sso_links WHERE connection = $1 AND subject = $2`,
		connection, subject).Scan(&l.User, &l.Issuer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("FindLink", "link")
	}
	if err != nil {
		return nil, dbError("sqlstore.FindLink", "find a link", err)
	}
	l.Created = fromMicros(created)
	return &l, nil
}

func (t *userTx) CreateLink(ctx context.Context, l *provisioning.Link) error {
	r, err := t.sqlTx().ExecContext(ctx, `INSERT INTO sso_links (connection, subject, user_id, issuer, created_us) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, l.Connection, l.Subject, l.User, l.Issuer, micros(l.Created))
	if err != nil {
		return dbError("sqlstore.CreateLink", "create a link", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return conflict("CreateLink", "the identity is already linked")
	}
	return nil
}

const userColumns = `id, email, given_name, family_name, display_name, language, disabled, created_us, updated_us`

func scanUser(row *sql.Row, op string) (*provisioning.User, error) {
	var u provisioning.User
	var created, updated int64
	err := row.Scan(&u.ID, &u.Email, &u.GivenName, &u.FamilyName, &u.DisplayName, &u.Language, &u.Disabled, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "user")
	}
	if err != nil {
		return nil, dbError("sqlstore."+op, "read a user", err)
	}
	u.Created, u.Updated = fromMicros(created), fromMicros(updated)
	return &u, nil
}

func (t *userTx) FindUser(ctx context.Context, id string) (*provisioning.User, error) {
	return scanUser(t.sqlTx().QueryRowContext(ctx, `SELECT `+userColumns+` FROM sso_users WHERE id = $1`, id), "FindUser")
}

func (t *userTx) FindUserByEmail(ctx context.Context, email string) (*provisioning.User, error) {
	k := provisioning.EmailKey(email)
	if k == "" {
		return nil, notFound("FindUserByEmail", "user")
	}
	u, err := scanUser(t.sqlTx().QueryRowContext(ctx, `SELECT `+userColumns+` FROM sso_users WHERE email_key = $1`, k), "FindUserByEmail")
	if err == nil && provisioning.EmailKey(u.Email) != k {
		// A key folded with Unicode rules, written by a version before
		// migration 2 (e.g. during a rolling upgrade): this is the user of
		// another address.
		return nil, notFound("FindUserByEmail", "user")
	}
	return u, err
}

func (t *userTx) CreateUser(ctx context.Context, u *provisioning.User) error {
	if u.ID == "" {
		id, err := t.s.newID()
		if err != nil {
			return dbError("sqlstore.CreateUser", "make an ID", err)
		}
		u.ID = id
	}
	r, err := t.sqlTx().ExecContext(ctx, `INSERT INTO sso_users (`+userColumns+`, email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		u.ID, u.Email, u.GivenName, u.FamilyName, u.DisplayName, u.Language, u.Disabled, micros(u.Created), micros(u.Updated), nullable(provisioning.EmailKey(u.Email)))
	if err != nil {
		return dbError("sqlstore.CreateUser", "create a user", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return conflict("CreateUser", "a user with this ID or email exists")
	}
	return nil
}

func (t *userTx) UpdateUser(ctx context.Context, u *provisioning.User) error {
	r, err := t.sqlTx().ExecContext(ctx, `UPDATE sso_users SET email = $2, email_key = $3, given_name = $4, family_name = $5, display_name = $6,
		language = $7, disabled = $8, created_us = $9, updated_us = $10 WHERE id = $1`,
		u.ID, u.Email, nullable(provisioning.EmailKey(u.Email)), u.GivenName, u.FamilyName, u.DisplayName, u.Language, u.Disabled, micros(u.Created), micros(u.Updated))
	if err != nil {
		return dbError("sqlstore.UpdateUser", "update a user", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return notFound("UpdateUser", "user "+u.ID)
	}
	return nil
}

const membershipColumns = `user_id, account, COALESCE(sso_identifier, ''), status, COALESCE(organisation_id, ''), created_us, updated_us`

func scanMembership(sc interface{ Scan(...any) error }) (*provisioning.Membership, error) {
	var m provisioning.Membership
	var status string
	var created, updated int64
	if err := sc.Scan(&m.User, &m.Account, &m.SSOIdentifier, &status, &m.Organisation, &created, &updated); err != nil {
		return nil, err
	}
	m.Status = provisioning.Status(status)
	m.Created, m.Updated = fromMicros(created), fromMicros(updated)
	return &m, nil
}

func (t *userTx) roles(ctx context.Context, user, account string) ([]provisioning.RoleGrant, error) {
	rows, err := t.sqlTx().QueryContext(ctx, `SELECT role, source FROM sso_member_roles WHERE user_id = $1 AND account = $2 ORDER BY role, source`, user, account)
	if err != nil {
		return nil, dbError("sqlstore.FindMembership", "read roles", err)
	}
	defer rows.Close()
	var out []provisioning.RoleGrant
	for rows.Next() {
		var g provisioning.RoleGrant
		var src string
		if err := rows.Scan(&g.Role, &src); err != nil {
			return nil, dbError("sqlstore.FindMembership", "read roles", err)
		}
		g.Source = provisioning.RoleSource(src)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("sqlstore.FindMembership", "read roles", err)
	}
	return out, nil
}

func (t *userTx) findMembership(ctx context.Context, op, where string, args ...any) (*provisioning.Membership, error) {
	m, err := scanMembership(t.sqlTx().QueryRowContext(ctx, `SELECT `+membershipColumns+` FROM sso_memberships WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "membership")
	}
	if err != nil {
		return nil, dbError("sqlstore."+op, "read a membership", err)
	}
	if m.Roles, err = t.roles(ctx, m.User, m.Account); err != nil {
		return nil, err
	}
	return m, nil
}

func (t *userTx) FindMembership(ctx context.Context, user, account string) (*provisioning.Membership, error) {
	return t.findMembership(ctx, "FindMembership", `user_id = $1 AND account = $2`, user, account)
}

func (t *userTx) FindMembershipBySSOIdentifier(ctx context.Context, account, identifier string) (*provisioning.Membership, error) {
	if identifier == "" {
		return nil, notFound("FindMembershipBySSOIdentifier", "membership")
	}
	return t.findMembership(ctx, "FindMembershipBySSOIdentifier", `account = $1 AND sso_identifier = $2`, account, identifier)
}

func (t *userTx) ListMemberships(ctx context.Context, user string) ([]provisioning.Membership, error) {
	rows, err := t.sqlTx().QueryContext(ctx, `SELECT `+membershipColumns+` FROM sso_memberships WHERE user_id = $1 ORDER BY account`, user)
	if err != nil {
		return nil, dbError("sqlstore.ListMemberships", "list memberships", err)
	}
	var out []provisioning.Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			rows.Close()
			return nil, dbError("sqlstore.ListMemberships", "list memberships", err)
		}
		out = append(out, *m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbError("sqlstore.ListMemberships", "list memberships", err)
	}
	for i := range out {
		if out[i].Roles, err = t.roles(ctx, out[i].User, out[i].Account); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *userTx) PutMembership(ctx context.Context, m *provisioning.Membership) error {
	const op = "sqlstore.PutMembership"
	tx := t.sqlTx()
	if m.SSOIdentifier != "" {
		// Checked first so that a clash is a conflict without an error
		// that would abort a PostgreSQL transaction.
		var other string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM sso_memberships WHERE account = $1 AND sso_identifier = $2`, m.Account, m.SSOIdentifier).Scan(&other)
		if err == nil && other != m.User {
			return conflict("PutMembership", "another member of the account has this SSO identifier")
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return dbError(op, "check the SSO identifier", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sso_memberships (user_id, account, sso_identifier, status, organisation_id, created_us, updated_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (user_id, account) DO UPDATE SET sso_identifier = excluded.sso_identifier, status = excluded.status,
			organisation_id = excluded.organisation_id, created_us = excluded.created_us, updated_us = excluded.updated_us`,
		m.User, m.Account, nullable(m.SSOIdentifier), string(m.Status), nullable(m.Organisation), micros(m.Created), micros(m.Updated)); err != nil {
		return dbError(op, "store a membership", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sso_member_roles WHERE user_id = $1 AND account = $2`, m.User, m.Account); err != nil {
		return dbError(op, "replace roles", err)
	}
	for _, g := range m.Roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sso_member_roles (user_id, account, role, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			m.User, m.Account, g.Role, string(g.Source)); err != nil {
			return dbError(op, "store a role", err)
		}
	}
	return nil
}

const orgColumns = `id, account, name, status, created_us`

func scanOrg(row *sql.Row, op string) (*provisioning.Organisation, error) {
	var o provisioning.Organisation
	var created int64
	err := row.Scan(&o.ID, &o.Account, &o.Name, &o.Status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "organisation")
	}
	if err != nil {
		return nil, dbError("sqlstore."+op, "read an organisation", err)
	}
	o.Created = fromMicros(created)
	return &o, nil
}

func (t *userTx) FindOrganisation(ctx context.Context, id string) (*provisioning.Organisation, error) {
	return scanOrg(t.sqlTx().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM sso_organisations WHERE id = $1`, id), "FindOrganisation")
}

func (t *userTx) FindOrganisationByName(ctx context.Context, account, name string) (*provisioning.Organisation, error) {
	k := provisioning.NameKey(name)
	o, err := scanOrg(t.sqlTx().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM sso_organisations WHERE account = $1 AND name_key = $2`,
		account, k), "FindOrganisationByName")
	if err == nil && provisioning.NameKey(o.Name) != k {
		// A key written by a version before migration 2, as in
		// FindUserByEmail.
		return nil, notFound("FindOrganisationByName", "organisation")
	}
	return o, err
}

func (t *userTx) CreateOrganisation(ctx context.Context, o *provisioning.Organisation) error {
	if o.ID == "" {
		id, err := t.s.newID()
		if err != nil {
			return dbError("sqlstore.CreateOrganisation", "make an ID", err)
		}
		o.ID = id
	}
	r, err := t.sqlTx().ExecContext(ctx, `INSERT INTO sso_organisations (id, account, name, name_key, status, created_us) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`, o.ID, o.Account, o.Name, provisioning.NameKey(o.Name), o.Status, micros(o.Created))
	if err != nil {
		return dbError("sqlstore.CreateOrganisation", "create an organisation", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return conflict("CreateOrganisation", fmt.Sprintf("the account has an organisation named %q, or the ID is taken", o.Name))
	}
	return nil
}
