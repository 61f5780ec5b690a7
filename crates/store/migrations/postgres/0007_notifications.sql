-- Where notices go: a webhook URL and a signing secret, both sealed like Lumos tokens (the
-- id is their associated data), the events wanted and, optionally, one workflow.
CREATE TABLE notification_targets (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    format            TEXT NOT NULL,
    url_nonce         BYTEA NOT NULL,
    url_ciphertext    BYTEA NOT NULL,
    secret_nonce      BYTEA NOT NULL,
    secret_ciphertext BYTEA NOT NULL,
    url_hint          TEXT NOT NULL,
    events            TEXT NOT NULL,
    workflow_id       TEXT,
    created_at        TIMESTAMPTZ NOT NULL
);

-- Notices to send: queued with their body, taken by one replica at a time (locked_until),
-- retried with backoff until they are sent or given up.
CREATE TABLE notification_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    target_id    TEXT NOT NULL REFERENCES notification_targets(id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    run_id       TEXT,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ
);
CREATE INDEX deliveries_due ON notification_deliveries (status, next_at);
