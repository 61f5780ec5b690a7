-- lumosflow schema, SQLite flavour. Timestamps are RFC 3339 text, JSON is text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE connections (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    base_url          TEXT NOT NULL,
    token_hint        TEXT NOT NULL,
    token_nonce       BLOB,
    token_ciphertext  BLOB,
    key_version       INTEGER NOT NULL DEFAULT 1,
    lumos_user_id     TEXT,
    lumos_user_email  TEXT,
    verified_at       TEXT,
    last_check_at     TEXT,
    last_check_status TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE workflows (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    bundle          TEXT,
    origin          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    yaml        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    created_by  TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    workflow_id      TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    output           TEXT,
    error            TEXT,
    connection       TEXT,
    started_by       TEXT,
    dry_run          INTEGER NOT NULL DEFAULT 0,
    attempt          INTEGER NOT NULL DEFAULT 0,
    locked_by        TEXT,
    locked_until     TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE run_steps (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id     TEXT NOT NULL,
    iteration   INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    operation   TEXT,
    params      TEXT,
    http_status INTEGER,
    duration_ms INTEGER,
    error       TEXT,
    output      TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (run_id, step_id, iteration)
);

CREATE TABLE approvals (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    decided_by TEXT,
    comment    TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    details TEXT
);
CREATE INDEX audit_by_time ON audit_events (at);
