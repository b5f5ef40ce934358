-- Webhook subscriptions: each a cursor over audit_log, which is the outbox (nothing is written for a
-- subscription in the transaction of a change). The lease lets one instance deliver per subscription.
CREATE TABLE webhook_subscriptions (
    subscription_id            TEXT    NOT NULL PRIMARY KEY,
    url                        TEXT    NOT NULL,
    event_types                TEXT    NOT NULL,
    protected_secret           TEXT    NOT NULL,
    previous_protected_secret  TEXT    NULL,
    previous_secret_expires_at INTEGER NULL,
    created_at                 INTEGER NOT NULL,
    delivered_through          INTEGER NOT NULL,
    failures                   INTEGER NOT NULL DEFAULT 0,
    last_error                 TEXT    NULL,
    parked_at                  INTEGER NULL,
    lease_owner                TEXT    NULL,
    lease_expires_at           INTEGER NULL
);
