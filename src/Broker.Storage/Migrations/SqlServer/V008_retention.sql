-- Retention deletes ended tokens in batches by when they ended: each end has its index, so that a
-- batch reads the rows it deletes, not the table.
CREATE INDEX ix_access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX ix_access_tokens_spent ON access_tokens (spent_at);
CREATE INDEX ix_access_tokens_revoked ON access_tokens (revoked_at);
DROP TRIGGER audit_log_append_only;
GO

-- Old audit entries may now be deleted (Retention:AuditEntries), but no entry younger than 28 days,
-- whoever asks: the log stays append-only for what an investigation needs first (CREATE TRIGGER must
-- open its batch).
CREATE TRIGGER audit_log_no_update ON audit_log INSTEAD OF UPDATE
AS
    THROW 50000, 'audit_log is append-only', 1;
GO

CREATE TRIGGER audit_log_no_recent_delete ON audit_log INSTEAD OF DELETE
AS
BEGIN
    SET NOCOUNT ON;
    IF EXISTS (SELECT 1 FROM deleted WHERE at > DATEDIFF_BIG(MILLISECOND, '19700101', SYSUTCDATETIME()) - 2419200000)
        THROW 50000, 'audit_log entries younger than 28 days cannot be deleted', 1;
    DELETE FROM audit_log WHERE id IN (SELECT id FROM deleted);
END
GO
