-- Who canceled a run and when; indexes for the queue, leases and retention.
ALTER TABLE runs ADD COLUMN canceled_by TEXT;
ALTER TABLE runs ADD COLUMN canceled_at TEXT;
CREATE INDEX runs_queue ON runs (status, created_at);
CREATE INDEX runs_by_holder ON runs (locked_by);
CREATE INDEX runs_by_finish ON runs (finished_at);
