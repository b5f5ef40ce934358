-- The PostgreSQL twin of Sqlite/V001_initial.sql: same tables, columns, indexes and constraints.
-- Times are unix milliseconds (BIGINT); lists are JSON arrays (TEXT); secrets only as SHA-256 hex.
-- Text is COLLATE "C" so that it compares and sorts by code point, as SQLite's BINARY does.
CREATE TABLE users (
    user_id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email            TEXT COLLATE "C" NOT NULL,
    normalized_email TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash    TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT           NOT NULL,
    disabled_at      BIGINT           NULL
);

CREATE TABLE clients (
    client_id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret_hash                TEXT COLLATE "C" NULL,
    secret_fingerprint         TEXT COLLATE "C" NULL,
    name                       TEXT COLLATE "C" NOT NULL,
    description                TEXT COLLATE "C" NOT NULL DEFAULT '',
    redirect_uris              TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    grant_types                TEXT COLLATE "C" NOT NULL,
    token_endpoint_auth_method TEXT COLLATE "C" NOT NULL,
    kind                       TEXT COLLATE "C" NOT NULL,
    redirect_policy            TEXT COLLATE "C" NOT NULL DEFAULT 'exact',
    callback_path              TEXT COLLATE "C" NULL,
    child_rate_limit           BIGINT           NULL,
    child_endpoints            TEXT COLLATE "C" NULL,
    parent_client_id           TEXT COLLATE "C" NULL REFERENCES clients (client_id),
    owner_user_id              TEXT COLLATE "C" NULL REFERENCES users (user_id),
    origin                     TEXT COLLATE "C" NULL,
    rate_limit                 BIGINT           NULL,
    endpoints                  TEXT COLLATE "C" NULL,
    created_at                 BIGINT           NOT NULL,
    revoked_at                 BIGINT           NULL,
    disabled_at                BIGINT           NULL
);
CREATE INDEX ix_clients_owner ON clients (owner_user_id, created_at);
CREATE INDEX ix_clients_parent ON clients (parent_client_id, created_at);

CREATE TABLE authorization_codes (
    code_hash      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    client_id      TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id),
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    redirect_uri   TEXT COLLATE "C" NOT NULL,
    scope          TEXT COLLATE "C" NOT NULL,
    code_challenge TEXT COLLATE "C" NULL,
    created_at     BIGINT           NOT NULL,
    expires_at     BIGINT           NOT NULL,
    redeemed_at    BIGINT           NULL
);
CREATE INDEX ix_authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE access_tokens (
    token_hash          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    client_id           TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id),
    user_id             TEXT COLLATE "C" NULL REFERENCES users (user_id),
    scope               TEXT COLLATE "C" NOT NULL,
    purpose             TEXT COLLATE "C" NOT NULL,
    code_hash           TEXT COLLATE "C" NULL,
    origin              TEXT COLLATE "C" NULL,
    created_at          BIGINT           NOT NULL,
    expires_at          BIGINT           NULL,
    revoked_at          BIGINT           NULL,
    spent_at            BIGINT           NULL,
    idempotency_key     TEXT COLLATE "C" NULL,
    request_fingerprint TEXT COLLATE "C" NULL,
    child_client_id     TEXT COLLATE "C" NULL REFERENCES clients (client_id)
);
CREATE INDEX ix_access_tokens_code ON access_tokens (code_hash);
CREATE INDEX ix_access_tokens_client ON access_tokens (client_id);
