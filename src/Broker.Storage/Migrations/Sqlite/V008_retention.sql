-- Retention deletes ended tokens in batches by when they ended: each end has its index, so that a
-- batch reads the rows it deletes, not the table.
CREATE INDEX ix_access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX ix_access_tokens_spent ON access_tokens (spent_at);
CREATE INDEX ix_access_tokens_revoked ON access_tokens (revoked_at);

-- Old audit entries may now be deleted (Retention:AuditEntries), but no entry younger than 28 days,
-- whoever asks: the log stays append-only for what an investigation needs first.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 2419200000
BEGIN
    SELECT RAISE(ABORT, 'audit_log entries younger than 28 days cannot be deleted');
END;
