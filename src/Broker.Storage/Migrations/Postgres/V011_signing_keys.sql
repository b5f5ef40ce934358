-- The PostgreSQL twin of Sqlite/V011_signing_keys.sql.
CREATE TABLE signing_keys (
    generation            BIGINT           NOT NULL PRIMARY KEY,
    key_id                TEXT COLLATE "C" NOT NULL UNIQUE,
    algorithm             TEXT COLLATE "C" NOT NULL,
    public_jwk            TEXT COLLATE "C" NOT NULL,
    protected_private_key TEXT COLLATE "C" NOT NULL,
    created_at            BIGINT           NOT NULL,
    signs_from            BIGINT           NOT NULL
);
