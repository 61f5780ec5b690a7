-- Run outputs at any size: a listing's items in compressed chunks (NDJSON), in order, each
-- starting at item `first_item`; `output` keeps the rest of the output object.
CREATE TABLE run_output_chunks (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    first_item BIGINT NOT NULL,
    items      INTEGER NOT NULL,
    raw_bytes  BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (run_id, first_item)
);

-- What the output is (a value, a listing, a list), how many items and bytes; and, while a
-- run walks pages, how far it got.
ALTER TABLE runs ADD COLUMN output_info JSONB;
ALTER TABLE runs ADD COLUMN progress JSONB;
