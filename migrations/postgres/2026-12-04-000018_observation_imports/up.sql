-- Bulk files of observations taken as jobs: what each became, for its sender to follow at
-- /v1/observation-imports/{id}. A file is checked and staged outside the database, then applied in
-- one short transaction, all or nothing.
CREATE TABLE observation_imports (
    id TEXT NOT NULL PRIMARY KEY,
    -- The caller who sent the file (subject, role and scope): only it and admins read the import.
    owner TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'checking', 'applying', 'succeeded', 'failed')),
    rows_read BIGINT NOT NULL,
    rows_written BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    -- What failed it, as the `errors` of a problem (JSON); NULL unless failed.
    errors TEXT,
    -- The `ingest_id` its rows carry once applied.
    ingest_id TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    -- Moved at every step and every second of checking: a job whose instance stopped shows as
    -- interrupted once this is old.
    updated_at TIMESTAMP NOT NULL
);
