-- The SQL Server twin of Sqlite/V012_usage_hours.sql.
CREATE TABLE usage_hours (
    client_id        NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL,
    hour_start       BIGINT                                        NOT NULL,
    parent_client_id NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL,
    admitted         BIGINT                                        NOT NULL,
    not_whitelisted  BIGINT                                        NOT NULL,
    quota_spent      BIGINT                                        NOT NULL,
    unavailable      BIGINT                                        NOT NULL,
    CONSTRAINT pk_usage_hours PRIMARY KEY (client_id, hour_start)
);
CREATE INDEX ix_usage_hours_parent ON usage_hours (parent_client_id, hour_start);
