-- Users, memberships, organisations, links and login bindings of package
-- provisioning; SSO state and replay records; the audit event log.
-- Times are microseconds since the Unix epoch (0 = unset).
CREATE TABLE sso_users (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL DEFAULT '',
    email_key    TEXT UNIQUE,
    given_name   TEXT NOT NULL DEFAULT '',
    family_name  TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created_us   BIGINT NOT NULL DEFAULT 0,
    updated_us   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sso_organisations (
    id         TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT '',
    created_us BIGINT NOT NULL DEFAULT 0,
    UNIQUE (account, name_key)
);

CREATE TABLE sso_memberships (
    user_id         TEXT NOT NULL REFERENCES sso_users (id) ON DELETE CASCADE,
    account         TEXT NOT NULL,
    sso_identifier  TEXT,
    status          TEXT NOT NULL DEFAULT '',
    organisation_id TEXT REFERENCES sso_organisations (id) ON DELETE SET NULL,
    created_us      BIGINT NOT NULL DEFAULT 0,
    updated_us      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, account),
    UNIQUE (account, sso_identifier)
);
CREATE INDEX sso_memberships_account ON sso_memberships (account);

CREATE TABLE sso_member_roles (
    user_id TEXT NOT NULL,
    account TEXT NOT NULL,
    role    TEXT NOT NULL,
    source  TEXT NOT NULL,
    PRIMARY KEY (user_id, account, role, source),
    FOREIGN KEY (user_id, account) REFERENCES sso_memberships (user_id, account) ON DELETE CASCADE
);

CREATE TABLE sso_links (
    connection TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES sso_users (id) ON DELETE CASCADE,
    issuer     TEXT NOT NULL DEFAULT '',
    created_us BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, subject)
);
CREATE INDEX sso_links_user ON sso_links (user_id);

CREATE TABLE sso_bindings (
    key        TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    account    TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    connection TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    issuer     TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    created_us BIGINT NOT NULL DEFAULT 0,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sso_bindings_expires ON sso_bindings (expires_us);

CREATE TABLE sso_state (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sso_state_expires ON sso_state (expires_us);

CREATE TABLE sso_replay (
    key        TEXT PRIMARY KEY,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sso_replay_expires ON sso_replay (expires_us);

CREATE TABLE sso_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us    BIGINT NOT NULL,
    type       TEXT NOT NULL,
    account    TEXT NOT NULL DEFAULT '',
    connection TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    attrs      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sso_events_account ON sso_events (account, id);
