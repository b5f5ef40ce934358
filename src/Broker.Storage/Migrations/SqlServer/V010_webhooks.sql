-- The SQL Server twin of Sqlite/V010_webhooks.sql.
CREATE TABLE webhook_subscriptions (
    subscription_id            NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_webhook_subscriptions PRIMARY KEY,
    url                        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    event_types                NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    protected_secret           NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    previous_protected_secret  NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    previous_secret_expires_at BIGINT        NULL,
    created_at                 BIGINT        NOT NULL,
    delivered_through          BIGINT        NOT NULL,
    failures                   BIGINT        NOT NULL CONSTRAINT df_webhook_subscriptions_failures DEFAULT 0,
    last_error                 NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    parked_at                  BIGINT        NULL,
    lease_owner                NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires_at           BIGINT        NULL
);
