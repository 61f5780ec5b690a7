-- Approval policies: a held run keeps the policy it was requested under (JSON), the step it
-- waits at and when it expires; every decision is on the record.
ALTER TABLE runs ADD COLUMN approval JSONB;
ALTER TABLE runs ADD COLUMN approval_step INTEGER;
ALTER TABLE runs ADD COLUMN approval_expires_at TIMESTAMPTZ;

CREATE TABLE approval_decisions (
    id         BIGSERIAL PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    decided_by TEXT NOT NULL,
    -- Lower-cased: one decision per person per step, whatever the case of their email.
    by_key     TEXT NOT NULL,
    approved   BOOLEAN NOT NULL,
    comment    TEXT,
    at         TIMESTAMPTZ NOT NULL,
    UNIQUE (run_id, step, by_key)
);
CREATE INDEX runs_pending_approval ON runs (status, approval_expires_at);

-- Runs held before this upgrade wait at their first step, under the default policy.
UPDATE runs SET approval_step = 0 WHERE status = 'pending_approval';
