-- Console sessions in the database, tied to the key they signed in with.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE INDEX sessions_by_key ON sessions (key_id);

-- Uninstalling keeps a workflow's versions, so numbers are never reused; runs pin the exact
-- definition they were requested with.
ALTER TABLE workflows ADD COLUMN uninstalled_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN workflow_hash TEXT;

-- Which roles may run against a connection (comma-separated); NULL: the default rule.
ALTER TABLE connections ADD COLUMN allowed_roles TEXT;
