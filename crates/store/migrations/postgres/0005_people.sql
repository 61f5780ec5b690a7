-- People: who signs in (SSO or a key they own), who asks for runs and on whose behalf.
CREATE TABLE people (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    -- Lower-cased email: one person per address, whatever its case.
    email_key     TEXT NOT NULL UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ
);

-- A key with an owner acts as that person; without one it is a service key.
ALTER TABLE api_keys ADD COLUMN owner_id TEXT REFERENCES people(id);

-- Sessions come from a key sign-in or from SSO (a person). Sessions are short-lived, so the
-- table is recreated rather than altered: everyone signs in once more after this upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    key_id       TEXT REFERENCES api_keys(id) ON DELETE CASCADE,
    person_id    TEXT REFERENCES people(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    CHECK (key_id IS NOT NULL OR person_id IS NOT NULL)
);
CREATE INDEX sessions_by_key ON sessions (key_id);
CREATE INDEX sessions_by_person ON sessions (person_id);

-- SSO sign-ins under way: the state (hashed), the nonce and PKCE verifier to finish them,
-- consumed once. In the database so the callback may reach any replica.
CREATE TABLE oidc_logins (
    state_hash   TEXT PRIMARY KEY,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    return_to    TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

-- Runs say who asked and for whom.
ALTER TABLE runs RENAME COLUMN started_by TO requested_by;
ALTER TABLE runs ADD COLUMN requested_for TEXT;
