-- The SQL Server twin of Sqlite/V009_software_statements.sql.
CREATE TABLE trusted_issuers (
    issuer      NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_trusted_issuers PRIMARY KEY,
    vendor_name NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    jwks        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    created_at  BIGINT                                        NOT NULL
);
ALTER TABLE clients ADD software_statement_issuer NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD software_vendor NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
