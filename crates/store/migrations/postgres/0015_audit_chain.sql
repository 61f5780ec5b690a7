-- The audit trail as a hash chain: each event carries its place (seq) and the hash of the
-- one before; the chain's head and the checkpoint left by pruning are kept apart.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_by_seq ON audit_events (seq);
CREATE TABLE audit_chain (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    checkpoint_seq  BIGINT NOT NULL,
    checkpoint_hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, checkpoint_seq, checkpoint_hash) VALUES (1, 0, '', 0, '');

-- Which process holds a delivery it is sending: a restart on the same host lets go of the
-- deliveries its dead predecessor held, instead of waiting out their lock.
ALTER TABLE notification_deliveries ADD COLUMN locked_by TEXT;
