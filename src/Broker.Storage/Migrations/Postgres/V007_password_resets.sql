-- The PostgreSQL twin of Sqlite/V007_password_resets.sql.
CREATE TABLE password_resets (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    created_at BIGINT           NOT NULL,
    expires_at BIGINT           NOT NULL,
    used_at    BIGINT           NULL
);
CREATE INDEX ix_password_resets_user ON password_resets (user_id);
CREATE INDEX ix_password_resets_expires ON password_resets (expires_at);
