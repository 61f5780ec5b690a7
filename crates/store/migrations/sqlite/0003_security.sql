-- Console sessions in the database, tied to the key they signed in with.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT
);
CREATE INDEX sessions_by_key ON sessions (key_id);

-- Uninstalling keeps a workflow's versions, so numbers are never reused; runs pin the exact
-- definition they were requested with.
ALTER TABLE workflows ADD COLUMN uninstalled_at TEXT;
ALTER TABLE runs ADD COLUMN workflow_hash TEXT;

-- Which roles may run against a connection (comma-separated); NULL: the default rule.
ALTER TABLE connections ADD COLUMN allowed_roles TEXT;
