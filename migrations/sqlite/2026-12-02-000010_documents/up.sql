-- Documents attached to a contract: the metadata here, the content in 1 MiB chunks beside it,
-- so that neither an upload nor a download holds more than one chunk in memory.
CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    kind TEXT NOT NULL CHECK (kind IN ('signed_convention', 'deliberation', 'diagnostic_report', 'minutes',
        'evaluation_report', 'supporting_evidence', 'amendment', 'other')),
    filename TEXT NOT NULL,
    -- The type recognised from the content, never the one announced by the client.
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    -- SHA-256 of the content, lowercase hex: the download's ETag.
    sha256 TEXT NOT NULL,
    -- What the document belongs to, each of the same contract (checked by the service).
    party_id TEXT REFERENCES contract_parties (id),
    amendment_id TEXT REFERENCES contract_amendments (id),
    evidence_id TEXT REFERENCES funding_evidence (id),
    -- The `sub` of who uploaded it, from their token.
    uploaded_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_by_contract ON documents (contract_id, created_at);

-- The content of a document, in order: chunk `seq` holds bytes [seq × 1 MiB, (seq + 1) × 1 MiB).
CREATE TABLE document_chunks (
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL CHECK (seq >= 0),
    bytes BLOB NOT NULL,
    PRIMARY KEY (document_id, seq)
);
