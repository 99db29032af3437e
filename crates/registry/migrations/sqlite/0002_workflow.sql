-- The thread of a filing: returns, replies, rejections, cancellations and
-- approvals over failing pre-checks (with the override reason), in order.
CREATE TABLE filing_events (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    override_reason TEXT,
    failing TEXT NOT NULL
);
CREATE INDEX filing_events_filing ON filing_events(filing_id, id);
