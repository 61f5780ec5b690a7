-- What a key may do beyond its role: only workflows that change nothing (read_only), and
-- only the workflows named (workflows, comma-separated; NULL: any).
ALTER TABLE api_keys ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN workflows TEXT;
