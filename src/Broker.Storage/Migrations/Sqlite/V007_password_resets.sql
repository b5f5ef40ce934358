-- Password-reset links sent by e-mail: only the SHA-256 of the token is kept. A link is spent by a
-- conditional UPDATE of used_at; expired ones are deleted by expires_at.
CREATE TABLE password_resets (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (user_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL
);
CREATE INDEX ix_password_resets_user ON password_resets (user_id);
CREATE INDEX ix_password_resets_expires ON password_resets (expires_at);
