-- The SQL Server twin of Sqlite/V011_signing_keys.sql.
CREATE TABLE signing_keys (
    generation            BIGINT                                        NOT NULL CONSTRAINT pk_signing_keys PRIMARY KEY,
    key_id                NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_signing_keys_key_id UNIQUE,
    algorithm             NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    public_jwk            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    protected_private_key NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    created_at            BIGINT                                        NOT NULL,
    signs_from            BIGINT                                        NOT NULL
);
