-- Slack interactions seen (button presses, modal submissions, option requests): each
-- signed payload is acted on once, for as long as its signature is valid.
CREATE TABLE slack_receipts (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);
CREATE INDEX slack_receipts_at ON slack_receipts (at);

-- Where a trigger's answer goes when its run ends (a Slack thread through its
-- response_url, a ticket's comment through an http request): sent by whichever replica
-- finds the run ended, retried for a day. What the reply's templates read (the payload and
-- headers) is sealed: a Slack response_url is a capability.
CREATE TABLE hook_replies (
    run_id       TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    trigger_id   TEXT NOT NULL,
    nonce        BLOB NOT NULL,
    ciphertext   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    next_at      TEXT NOT NULL,
    locked_until TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'pending',
    last_error   TEXT
);
CREATE INDEX hook_replies_due ON hook_replies (status, next_at);

-- The Slack messages that told of a held run, so a decision made anywhere (console, CLI,
-- API, MCP, Slack) updates them in place.
CREATE TABLE slack_notices (
    run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    target_id TEXT NOT NULL,
    channel   TEXT NOT NULL,
    ts        TEXT NOT NULL,
    PRIMARY KEY (run_id, target_id)
);
