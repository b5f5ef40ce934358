-- The SQL Server twin of Sqlite/V004_registration.sql. Unique indexes on nullable columns are
-- filtered: SQL Server would otherwise count NULLs as equal (SQLite and PostgreSQL do not).
ALTER TABLE clients ADD application_type NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_application_type DEFAULT N'web';
ALTER TABLE clients ADD response_types NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_response_types DEFAULT N'["code"]';
ALTER TABLE clients ADD post_logout_redirect_uris NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_post_logout_redirect_uris DEFAULT N'[]';
ALTER TABLE clients ADD client_uri NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD logo_uri NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD tos_uri NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD policy_uri NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD initiate_login_uri NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD contacts NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_contacts DEFAULT N'[]';
ALTER TABLE clients ADD registration_source NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_clients_registration_source DEFAULT N'admin';
ALTER TABLE clients ADD registration_token_hash NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL;
ALTER TABLE clients ADD deleted_at BIGINT NULL;
ALTER TABLE clients ADD name_key NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NULL;
GO
UPDATE clients SET registration_source = N'installation' WHERE kind = N'child';
CREATE UNIQUE INDEX ux_clients_name_key ON clients (name_key) WHERE name_key IS NOT NULL;
CREATE INDEX ix_clients_source ON clients (registration_source, created_at);
CREATE UNIQUE INDEX ux_clients_registration_token ON clients (registration_token_hash) WHERE registration_token_hash IS NOT NULL;

CREATE TABLE tenant_settings (
    name  NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_tenant_settings PRIMARY KEY,
    value NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL
);
