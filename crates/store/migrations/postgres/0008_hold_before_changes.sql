-- A run held before its first change to Lumos: where it stopped, the outputs of the steps
-- before, and the calls it was about to make (shown to approvers), to resume from.
ALTER TABLE runs ADD COLUMN resume JSONB;
