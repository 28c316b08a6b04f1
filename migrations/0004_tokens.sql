-- API tokens. A token is "sy_<id>_<secret>": the id finds the row, the
-- secret is kept only as its SHA-256 (the secret is 32 random bytes, so a
-- fast hash is enough). A revoked token keeps its row (revoked_at set) so
-- `tokens list` shows it and its id is never reused.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    secret_hash  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
