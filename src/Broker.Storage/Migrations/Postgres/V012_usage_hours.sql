-- The PostgreSQL twin of Sqlite/V012_usage_hours.sql.
CREATE TABLE usage_hours (
    client_id        TEXT COLLATE "C" NOT NULL,
    hour_start       BIGINT           NOT NULL,
    parent_client_id TEXT COLLATE "C" NOT NULL,
    admitted         BIGINT           NOT NULL,
    not_whitelisted  BIGINT           NOT NULL,
    quota_spent      BIGINT           NOT NULL,
    unavailable      BIGINT           NOT NULL,
    PRIMARY KEY (client_id, hour_start)
);
CREATE INDEX ix_usage_hours_parent ON usage_hours (parent_client_id, hour_start);
