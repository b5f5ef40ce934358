-- The PostgreSQL twin of Sqlite/V005_data_protection_keys.sql.
CREATE TABLE data_protection_keys (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    xml        TEXT COLLATE "C" NOT NULL,
    created_at BIGINT           NOT NULL
);
