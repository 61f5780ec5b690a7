-- A step's recorded output, compressed (zstd) when it is not tiny; `output` then stays NULL.
-- Step outputs were most of a busy history's size.
ALTER TABLE run_steps ADD COLUMN output_z BLOB;
