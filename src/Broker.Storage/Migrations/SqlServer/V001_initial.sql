-- The SQL Server twin of Sqlite/V001_initial.sql: same tables, columns, indexes and constraints.
-- Times are unix milliseconds (BIGINT); lists are JSON arrays (NVARCHAR(MAX)); secrets only as SHA-256 hex.
-- Text is Latin1_General_100_BIN2, whatever the database's default: it compares case-sensitively and
-- sorts by code point, as SQLite's BINARY does (a case-insensitive client_id would match another key).
-- Keys, references and indexed text are NVARCHAR(255) (an index key may not be MAX); other text MAX.
-- Constraints are named so that later migrations can drop or alter them.
CREATE TABLE users (
    user_id          NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_users PRIMARY KEY,
    email            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    normalized_email NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_users_normalized_email UNIQUE,
    password_hash    NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    created_at       BIGINT        NOT NULL,
    disabled_at      BIGINT        NULL
);

CREATE TABLE clients (
    client_id                  NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_clients PRIMARY KEY,
    secret_hash                NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    secret_fingerprint         NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    name                       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    description                NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_description DEFAULT N'',
    redirect_uris              NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_redirect_uris DEFAULT N'[]',
    grant_types                NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    token_endpoint_auth_method NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    kind                       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    redirect_policy            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_redirect_policy DEFAULT N'exact',
    callback_path              NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    child_rate_limit           BIGINT        NULL,
    child_endpoints            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    parent_client_id           NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_clients_parent REFERENCES clients (client_id),
    owner_user_id              NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_clients_owner REFERENCES users (user_id),
    origin                     NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    rate_limit                 BIGINT        NULL,
    endpoints                  NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    created_at                 BIGINT        NOT NULL,
    revoked_at                 BIGINT        NULL,
    disabled_at                BIGINT        NULL
);
CREATE INDEX ix_clients_owner ON clients (owner_user_id, created_at);
CREATE INDEX ix_clients_parent ON clients (parent_client_id, created_at);

CREATE TABLE authorization_codes (
    code_hash      NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_authorization_codes PRIMARY KEY,
    client_id      NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_authorization_codes_client REFERENCES clients (client_id),
    user_id        NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_authorization_codes_user REFERENCES users (user_id),
    redirect_uri   NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    scope          NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    code_challenge NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    created_at     BIGINT        NOT NULL,
    expires_at     BIGINT        NOT NULL,
    redeemed_at    BIGINT        NULL
);
CREATE INDEX ix_authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE access_tokens (
    token_hash          NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_access_tokens PRIMARY KEY,
    client_id           NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_access_tokens_client REFERENCES clients (client_id),
    user_id             NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_access_tokens_user REFERENCES users (user_id),
    scope               NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    purpose             NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    code_hash           NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL,
    origin              NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    created_at          BIGINT        NOT NULL,
    expires_at          BIGINT        NULL,
    revoked_at          BIGINT        NULL,
    spent_at            BIGINT        NULL,
    idempotency_key     NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL,
    request_fingerprint NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    child_client_id     NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_access_tokens_child REFERENCES clients (client_id)
);
CREATE INDEX ix_access_tokens_code ON access_tokens (code_hash);
CREATE INDEX ix_access_tokens_client ON access_tokens (client_id);
