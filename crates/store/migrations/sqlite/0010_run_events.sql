-- The Lumos event that started a run (workflows with on: lumos_event), seen by its templates
-- as event.
ALTER TABLE runs ADD COLUMN event TEXT;
