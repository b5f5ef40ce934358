-- The PostgreSQL twin of Sqlite/V009_software_statements.sql.
CREATE TABLE trusted_issuers (
    issuer      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    vendor_name TEXT COLLATE "C" NOT NULL,
    jwks        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT           NOT NULL
);
ALTER TABLE clients ADD COLUMN software_statement_issuer TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN software_vendor TEXT COLLATE "C" NULL;
