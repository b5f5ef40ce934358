-- The PostgreSQL twin of Sqlite/V004_registration.sql.
ALTER TABLE clients ADD COLUMN application_type TEXT COLLATE "C" NOT NULL DEFAULT 'web';
ALTER TABLE clients ADD COLUMN response_types TEXT COLLATE "C" NOT NULL DEFAULT '["code"]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT COLLATE "C" NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN client_uri TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN logo_uri TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN tos_uri TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN policy_uri TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN contacts TEXT COLLATE "C" NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN registration_source TEXT COLLATE "C" NOT NULL DEFAULT 'admin';
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT COLLATE "C" NULL;
ALTER TABLE clients ADD COLUMN deleted_at BIGINT NULL;
ALTER TABLE clients ADD COLUMN name_key TEXT COLLATE "C" NULL;
UPDATE clients SET registration_source = 'installation' WHERE kind = 'child';
CREATE UNIQUE INDEX ux_clients_name_key ON clients (name_key);
CREATE INDEX ix_clients_source ON clients (registration_source, created_at);
CREATE UNIQUE INDEX ux_clients_registration_token ON clients (registration_token_hash);

CREATE TABLE tenant_settings (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
