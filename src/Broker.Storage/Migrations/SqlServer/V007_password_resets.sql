-- The SQL Server twin of Sqlite/V007_password_resets.sql.
CREATE TABLE password_resets (
    token_hash NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_password_resets PRIMARY KEY,
    user_id    NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_password_resets_user REFERENCES users (user_id),
    created_at BIGINT                                        NOT NULL,
    expires_at BIGINT                                        NOT NULL,
    used_at    BIGINT                                        NULL
);
CREATE INDEX ix_password_resets_user ON password_resets (user_id);
CREATE INDEX ix_password_resets_expires ON password_resets (expires_at);
