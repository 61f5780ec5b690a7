-- A run started by a step of another run (a `workflow:` step): the run that started it.
ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
