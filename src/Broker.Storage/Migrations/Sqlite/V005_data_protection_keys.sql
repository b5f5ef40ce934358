-- The ASP.NET Core Data Protection key ring, shared by every instance over the database when no Redis
-- is configured, so that cookies and antiforgery tokens one instance mints validate on the others.
CREATE TABLE data_protection_keys (
    name       TEXT    NOT NULL PRIMARY KEY,
    xml        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
