-- The PostgreSQL twin of Sqlite/V003_platform.sql (written ahead of the merge with the providers
-- work; run by the provider contract suite once that is merged).
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT NULL;
ALTER TABLE clients ADD COLUMN last_used_at BIGINT NULL;
CREATE INDEX ix_clients_kind ON clients (kind, created_at);
CREATE INDEX ix_users_created ON users (created_at);

CREATE TABLE admin_tokens (
    token_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    fingerprint  TEXT COLLATE "C" NOT NULL,
    scopes       TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT           NOT NULL,
    last_used_at BIGINT           NULL,
    revoked_at   BIGINT           NULL
);

CREATE TABLE audit_log (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT           NOT NULL,
    actor          TEXT COLLATE "C" NOT NULL,
    action         TEXT COLLATE "C" NOT NULL,
    target         TEXT COLLATE "C" NOT NULL,
    source_address TEXT COLLATE "C" NULL,
    request_id     TEXT COLLATE "C" NULL,
    details        TEXT COLLATE "C" NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_target ON audit_log (target, id);
CREATE INDEX ix_audit_log_actor ON audit_log (actor, id);

-- Append-only in the database too, not only by the store's API.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
