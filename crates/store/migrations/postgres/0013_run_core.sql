-- One run core: a run keeps its whole requester (who, their role, the key they used, the
-- person behind it) so that the queue, approvals, sub-runs and the audit read it from the run.
ALTER TABLE runs ADD COLUMN requester JSONB;
-- The person who made a key: a service key made by a person counts as them for
-- self-approval and separation of duties.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
-- When a workflow was (last) installed: a run requested before an uninstall never runs
-- against a workflow installed again later, even with the same text.
ALTER TABLE workflows ADD COLUMN installed_at TIMESTAMPTZ;
