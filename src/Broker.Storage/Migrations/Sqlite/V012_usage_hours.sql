-- The gateway's calls per installation and UTC clock hour, by outcome, for the console's charts. One
-- row per installation and hour (added to every few seconds), never one per call.
CREATE TABLE usage_hours (
    client_id        TEXT    NOT NULL,
    hour_start       INTEGER NOT NULL,
    parent_client_id TEXT    NOT NULL,
    admitted         INTEGER NOT NULL,
    not_whitelisted  INTEGER NOT NULL,
    quota_spent      INTEGER NOT NULL,
    unavailable      INTEGER NOT NULL,
    PRIMARY KEY (client_id, hour_start)
);
CREATE INDEX ix_usage_hours_parent ON usage_hours (parent_client_id, hour_start);
