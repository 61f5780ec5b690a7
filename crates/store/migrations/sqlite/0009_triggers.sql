-- Inbound webhooks that start runs: how callers prove themselves (a secret sealed like a
-- token), how their payload maps to inputs (YAML), and what went wrong last.
CREATE TABLE triggers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    workflow_id       TEXT NOT NULL,
    auth              TEXT NOT NULL,
    secret_nonce      BLOB NOT NULL,
    secret_ciphertext BLOB NOT NULL,
    mapping           TEXT,
    enabled           BOOLEAN NOT NULL,
    created_at        TEXT NOT NULL,
    last_fired_at     TEXT,
    last_error        TEXT,
    last_error_at     TEXT
);

-- What a trigger has seen: signatures (accepted once) and dedupe keys (one run per key
-- within a day).
CREATE TABLE trigger_receipts (
    trigger_id TEXT NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    run_id     TEXT,
    at         TEXT NOT NULL,
    PRIMARY KEY (trigger_id, kind, key)
);
