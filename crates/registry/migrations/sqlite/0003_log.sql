-- The transparency log: one canonical-JSON entry per audit event and per
-- register row imported, hashed into an RFC 6962 tree whose checkpoints are
-- signed (Ed25519) and also kept outside the database.
CREATE TABLE log_entries (
    idx INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE log_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    note TEXT NOT NULL
);
CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries BEGIN SELECT RAISE(ABORT, 'log is append-only'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries BEGIN SELECT RAISE(ABORT, 'log is append-only'); END;

-- API tokens expire and can be revoked.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
