-- Retention deletes ended tokens in batches by when they ended: each end has its index, so that a
-- batch reads the rows it deletes, not the table.
CREATE INDEX ix_access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX ix_access_tokens_spent ON access_tokens (spent_at);
CREATE INDEX ix_access_tokens_revoked ON access_tokens (revoked_at);

-- Old audit entries may now be deleted (Retention:AuditEntries), but no entry younger than 28 days,
-- whoever asks: the log stays append-only for what an investigation needs first. Updates and
-- TRUNCATE stay refused.
CREATE FUNCTION audit_log_no_recent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - 2419200000 THEN
        RAISE EXCEPTION 'audit_log entries younger than 28 days cannot be deleted';
    END IF;
    RETURN OLD;
END
$$;
DROP TRIGGER audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_recent_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_no_recent_delete();
