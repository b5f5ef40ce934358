-- The SQL Server twin of Sqlite/V003_platform.sql (written ahead of the merge with the providers
-- work; run by the provider contract suite once that is merged). Sent as the batches between GO lines.
-- clients.kind is NVARCHAR(MAX) there, which cannot be an index key: no ix_clients_kind on this provider.
ALTER TABLE clients ADD version BIGINT NOT NULL CONSTRAINT df_clients_version DEFAULT 1;
ALTER TABLE clients ADD previous_secret_hash NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD previous_secret_expires_at BIGINT NULL;
ALTER TABLE clients ADD last_used_at BIGINT NULL;
CREATE INDEX ix_users_created ON users (created_at);

CREATE TABLE admin_tokens (
    token_id     NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_admin_tokens PRIMARY KEY,
    name         NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    token_hash   NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_admin_tokens_token_hash UNIQUE,
    fingerprint  NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    scopes       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    created_at   BIGINT        NOT NULL,
    last_used_at BIGINT        NULL,
    revoked_at   BIGINT        NULL
);

CREATE TABLE audit_log (
    id             BIGINT        IDENTITY(1, 1) NOT NULL CONSTRAINT pk_audit_log PRIMARY KEY,
    at             BIGINT        NOT NULL,
    actor          NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL,
    action         NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL,
    target         NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL,
    source_address NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    request_id     NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    details        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_target ON audit_log (target, id);
CREATE INDEX ix_audit_log_actor ON audit_log (actor, id);
GO

-- Append-only in the database too, not only by the store's API (CREATE TRIGGER must open its batch).
CREATE TRIGGER audit_log_append_only ON audit_log INSTEAD OF UPDATE, DELETE
AS
    THROW 50000, 'audit_log is append-only', 1;
GO
