-- Times are unix milliseconds (INTEGER); lists are JSON arrays (TEXT); secrets only as SHA-256 hex.
CREATE TABLE users (
    user_id          TEXT    NOT NULL PRIMARY KEY,
    email            TEXT    NOT NULL,
    normalized_email TEXT    NOT NULL UNIQUE,
    password_hash    TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    disabled_at      INTEGER NULL
);

CREATE TABLE clients (
    client_id                  TEXT    NOT NULL PRIMARY KEY,
    secret_hash                TEXT    NULL,
    secret_fingerprint         TEXT    NULL,
    name                       TEXT    NOT NULL,
    description                TEXT    NOT NULL DEFAULT '',
    redirect_uris              TEXT    NOT NULL DEFAULT '[]',
    grant_types                TEXT    NOT NULL,
    token_endpoint_auth_method TEXT    NOT NULL,
    kind                       TEXT    NOT NULL,
    redirect_policy            TEXT    NOT NULL DEFAULT 'exact',
    callback_path              TEXT    NULL,
    child_rate_limit           INTEGER NULL,
    child_endpoints            TEXT    NULL,
    parent_client_id           TEXT    NULL REFERENCES clients (client_id),
    owner_user_id              TEXT    NULL REFERENCES users (user_id),
    origin                     TEXT    NULL,
    rate_limit                 INTEGER NULL,
    endpoints                  TEXT    NULL,
    created_at                 INTEGER NOT NULL,
    revoked_at                 INTEGER NULL,
    disabled_at                INTEGER NULL
);
CREATE INDEX ix_clients_owner ON clients (owner_user_id, created_at);
CREATE INDEX ix_clients_parent ON clients (parent_client_id, created_at);

CREATE TABLE authorization_codes (
    code_hash      TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL REFERENCES clients (client_id),
    user_id        TEXT    NOT NULL REFERENCES users (user_id),
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    code_challenge TEXT    NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    redeemed_at    INTEGER NULL
);
CREATE INDEX ix_authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE access_tokens (
    token_hash          TEXT    NOT NULL PRIMARY KEY,
    client_id           TEXT    NOT NULL REFERENCES clients (client_id),
    user_id             TEXT    NULL REFERENCES users (user_id),
    scope               TEXT    NOT NULL,
    purpose             TEXT    NOT NULL,
    code_hash           TEXT    NULL,
    origin              TEXT    NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NULL,
    revoked_at          INTEGER NULL,
    spent_at            INTEGER NULL,
    idempotency_key     TEXT    NULL,
    request_fingerprint TEXT    NULL,
    child_client_id     TEXT    NULL REFERENCES clients (client_id)
);
CREATE INDEX ix_access_tokens_code ON access_tokens (code_hash);
CREATE INDEX ix_access_tokens_client ON access_tokens (client_id);
