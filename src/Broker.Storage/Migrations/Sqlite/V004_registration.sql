-- RFC 7591 metadata beside the installation model; one client model for every registration path.
ALTER TABLE clients ADD COLUMN application_type TEXT NOT NULL DEFAULT 'web';
ALTER TABLE clients ADD COLUMN response_types TEXT NOT NULL DEFAULT '["code"]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN client_uri TEXT NULL;
ALTER TABLE clients ADD COLUMN logo_uri TEXT NULL;
ALTER TABLE clients ADD COLUMN tos_uri TEXT NULL;
ALTER TABLE clients ADD COLUMN policy_uri TEXT NULL;
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT NULL;
ALTER TABLE clients ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN registration_source TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT NULL;
ALTER TABLE clients ADD COLUMN deleted_at INTEGER NULL;
-- client_name is unique among the clients the management APIs list (not children, not deleted):
-- name_key holds the name there and NULL elsewhere, so NULLs never collide.
ALTER TABLE clients ADD COLUMN name_key TEXT NULL;
UPDATE clients SET registration_source = 'installation' WHERE kind = 'child';
CREATE UNIQUE INDEX ux_clients_name_key ON clients (name_key);
CREATE INDEX ix_clients_source ON clients (registration_source, created_at);
CREATE UNIQUE INDEX ux_clients_registration_token ON clients (registration_token_hash);

CREATE TABLE tenant_settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
