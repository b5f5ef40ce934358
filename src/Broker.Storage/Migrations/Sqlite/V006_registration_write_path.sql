-- Open registration writes thousands of clients a second; every index entry is a page in the commit.
-- A registration access token is looked up through its client (the client id is in the path), never
-- by its hash, and a 256-bit random value needs no uniqueness check: that index only cost every
-- registration a write to a random page.
DROP INDEX ux_clients_registration_token;

-- Only installations have an owner and a parent, and every query of these columns asks for equality,
-- which rules NULL out: registered clients need no entries here.
DROP INDEX ix_clients_owner;
CREATE INDEX ix_clients_owner ON clients (owner_user_id, created_at) WHERE owner_user_id IS NOT NULL;
DROP INDEX ix_clients_parent;
CREATE INDEX ix_clients_parent ON clients (parent_client_id, created_at) WHERE parent_client_id IS NOT NULL;

-- The tenant cap counts undeleted open-registered clients: with deleted_at in the index the count
-- reads the index alone, not every row (the clean-up of unused clients reads the same prefix).
DROP INDEX ix_clients_source;
CREATE INDEX ix_clients_source ON clients (registration_source, deleted_at, created_at);
