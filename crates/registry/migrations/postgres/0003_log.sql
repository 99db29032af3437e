-- The transparency log: one canonical-JSON entry per audit event and per
-- register row imported, hashed into an RFC 6962 tree whose checkpoints are
-- signed (Ed25519) and also kept outside the database.
CREATE TABLE log_entries (
    idx BIGINT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE log_checkpoint (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    note TEXT NOT NULL
);
CREATE FUNCTION log_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'log is append-only';
END;
$$;
CREATE TRIGGER log_entries_no_change BEFORE UPDATE OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_append_only();

-- API tokens expire and can be revoked.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
