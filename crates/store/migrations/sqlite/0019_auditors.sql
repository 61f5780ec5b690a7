-- An auditor reads the audit trail (and checks and exports it) without being an admin.
ALTER TABLE people ADD COLUMN auditor BOOLEAN NOT NULL DEFAULT FALSE;
