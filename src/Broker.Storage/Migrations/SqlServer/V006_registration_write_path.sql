-- A registration access token is looked up through its client (the client id is in the path), never
-- by its hash, and a 256-bit random value needs no uniqueness check: that index only cost every open
-- registration a write to a random page. (The owner and parent indexes stay whole here: SQL Server
-- may pass over a filtered index for a parameterized query, and the group commit they were narrowed
-- for elsewhere is SQLite's.)
DROP INDEX ux_clients_registration_token ON clients;

-- The tenant cap counts undeleted open-registered clients: with deleted_at in the index the count
-- reads the index alone, not every row (the clean-up of unused clients reads the same prefix).
DROP INDEX ix_clients_source ON clients;
CREATE INDEX ix_clients_source ON clients (registration_source, deleted_at, created_at);
