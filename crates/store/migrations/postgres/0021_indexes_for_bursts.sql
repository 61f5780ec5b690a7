-- The queue is taken oldest first, by (created_at, id): with the id in the index a claim
-- reads only the runs it takes, instead of every queued run to sort them.
CREATE INDEX runs_queue_order ON runs (status, created_at, id);
DROP INDEX runs_queue;
-- Each hook request forgets its trigger's receipts older than the window: by age, not by
-- reading every receipt of a burst.
CREATE INDEX trigger_receipts_by_age ON trigger_receipts (trigger_id, kind, at);
