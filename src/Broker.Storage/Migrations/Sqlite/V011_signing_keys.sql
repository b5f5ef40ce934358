-- Keys that sign JWT access tokens (RFC 9068), shared by every instance. The generation orders them
-- and is the key: instances racing to make the next one insert the same generation, and one wins.
-- The private key is kept only as the Data Protection key ring protected it.
CREATE TABLE signing_keys (
    generation            INTEGER NOT NULL PRIMARY KEY,
    key_id                TEXT    NOT NULL UNIQUE,
    algorithm             TEXT    NOT NULL,
    public_jwk            TEXT    NOT NULL,
    protected_private_key TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    signs_from            INTEGER NOT NULL
);
