-- lumosflow schema, PostgreSQL flavour.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE connections (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    base_url          TEXT NOT NULL,
    token_hint        TEXT NOT NULL,
    token_nonce       BYTEA,
    token_ciphertext  BYTEA,
    key_version       INTEGER NOT NULL DEFAULT 1,
    lumos_user_id     TEXT,
    lumos_user_email  TEXT,
    verified_at       TIMESTAMPTZ,
    last_check_at     TIMESTAMPTZ,
    last_check_status TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE workflows (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    bundle          TEXT,
    origin          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    yaml        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    created_by  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    workflow_id      TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT NOT NULL,
    inputs           JSONB NOT NULL,
    output           JSONB,
    error            TEXT,
    connection       TEXT,
    started_by       TEXT,
    dry_run          BOOLEAN NOT NULL DEFAULT FALSE,
    attempt          INTEGER NOT NULL DEFAULT 0,
    locked_by        TEXT,
    locked_until     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE run_steps (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id     TEXT NOT NULL,
    iteration   INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    operation   TEXT,
    params      JSONB,
    http_status INTEGER,
    duration_ms BIGINT,
    error       TEXT,
    output      JSONB,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, step_id, iteration)
);

CREATE TABLE approvals (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    decided_by TEXT,
    comment    TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE audit_events (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    details JSONB
);
CREATE INDEX audit_by_time ON audit_events (at);
