-- The SQL Server twin of Sqlite/V005_data_protection_keys.sql.
CREATE TABLE data_protection_keys (
    name       NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_data_protection_keys PRIMARY KEY,
    xml        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    created_at BIGINT                                        NOT NULL
);
