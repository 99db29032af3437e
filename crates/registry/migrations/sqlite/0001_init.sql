CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    province TEXT NOT NULL,
    division_code TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    security_officer TEXT NOT NULL,
    assessment_lead TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id INTEGER REFERENCES organisations(id),
    province TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    classification TEXT NOT NULL,
    launched_on TEXT,
    stopped_on TEXT,
    changed_on TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE filings (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    service_id INTEGER REFERENCES services(id),
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL,
    parent_id INTEGER REFERENCES filings(id),
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    name_latin TEXT NOT NULL,
    province TEXT NOT NULL,
    form TEXT NOT NULL,
    number TEXT UNIQUE,
    checks TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_on TEXT,
    approved_on TEXT
);
CREATE INDEX filings_org ON filings(org_id);
CREATE INDEX filings_province_status ON filings(province, status);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings(id),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_filing ON attachments(filing_id);
CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE issued_numbers (
    number TEXT PRIMARY KEY,
    filing_id INTEGER NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE register (
    id INTEGER PRIMARY KEY,
    filing_number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    province TEXT NOT NULL,
    date TEXT NOT NULL,
    role TEXT NOT NULL,
    product TEXT NOT NULL,
    purpose TEXT NOT NULL,
    remark TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    filing_id INTEGER
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
