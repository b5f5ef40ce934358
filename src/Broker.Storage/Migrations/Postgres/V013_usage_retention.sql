-- The PostgreSQL twin of Sqlite/V013_usage_retention.sql.
CREATE INDEX ix_usage_hours_hour ON usage_hours (hour_start, client_id);
