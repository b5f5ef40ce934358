-- The platform team's side: optimistic concurrency, secret rotation, last use, admin tokens, audit.
ALTER TABLE clients ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT NULL;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER NULL;
ALTER TABLE clients ADD COLUMN last_used_at INTEGER NULL;
CREATE INDEX ix_clients_kind ON clients (kind, created_at);
CREATE INDEX ix_users_created ON users (created_at);

CREATE TABLE admin_tokens (
    token_id     TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    fingerprint  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    revoked_at   INTEGER NULL
);

CREATE TABLE audit_log (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    source_address TEXT    NULL,
    request_id     TEXT    NULL,
    details        TEXT    NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_target ON audit_log (target, id);
CREATE INDEX ix_audit_log_actor ON audit_log (actor, id);

-- Append-only in the database too, not only by the store's API.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
