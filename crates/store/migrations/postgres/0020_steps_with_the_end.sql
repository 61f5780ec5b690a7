-- The step records a run held until its end, written with it (zstd-compressed JSON), and
-- whether any others were written apart in run_steps (NULL: unknown, look there).
ALTER TABLE runs ADD COLUMN steps_z BYTEA;
ALTER TABLE runs ADD COLUMN steps_apart BOOLEAN;
