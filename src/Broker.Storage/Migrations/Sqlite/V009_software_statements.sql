-- Issuers whose software statements (RFC 7591 §2.3) the platform team trusts, with their public keys as a
-- JWK Set; and, on each client registered with a verified statement, who vouched for it.
CREATE TABLE trusted_issuers (
    issuer      TEXT    NOT NULL PRIMARY KEY,
    vendor_name TEXT    NOT NULL,
    jwks        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
ALTER TABLE clients ADD COLUMN software_statement_issuer TEXT NULL;
ALTER TABLE clients ADD COLUMN software_vendor TEXT NULL;
