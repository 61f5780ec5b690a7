-- Slack interactions seen (button presses, modal submissions, option requests): each
-- signed payload is acted on once, for as long as its signature is valid.
CREATE TABLE slack_receipts (
    key TEXT PRIMARY KEY,
    at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX slack_receipts_at ON slack_receipts (at);
