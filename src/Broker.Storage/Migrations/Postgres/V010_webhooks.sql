-- The PostgreSQL twin of Sqlite/V010_webhooks.sql.
CREATE TABLE webhook_subscriptions (
    subscription_id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url                        TEXT COLLATE "C" NOT NULL,
    event_types                TEXT COLLATE "C" NOT NULL,
    protected_secret           TEXT COLLATE "C" NOT NULL,
    previous_protected_secret  TEXT COLLATE "C" NULL,
    previous_secret_expires_at BIGINT           NULL,
    created_at                 BIGINT           NOT NULL,
    delivered_through          BIGINT           NOT NULL,
    failures                   BIGINT           NOT NULL DEFAULT 0,
    last_error                 TEXT COLLATE "C" NULL,
    parked_at                  BIGINT           NULL,
    lease_owner                TEXT COLLATE "C" NULL,
    lease_expires_at           BIGINT           NULL
);
