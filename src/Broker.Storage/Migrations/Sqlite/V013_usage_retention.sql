-- Retention removes usage rows an hour at a time, oldest first (Retention:UsageHours): this index finds
-- the oldest hour and its rows without reading the table.
CREATE INDEX ix_usage_hours_hour ON usage_hours (hour_start, client_id);
