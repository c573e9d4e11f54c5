-- Observed values of the catalogue's indicators, one per (indicator, level, code, period), and the
-- indicators each contract follows with its baseline and targets.
CREATE TABLE observations (
    indicator TEXT NOT NULL REFERENCES indicators (code),
    geo_level TEXT NOT NULL CHECK (geo_level IN ('commune', 'epci', 'department')),
    geo_code TEXT NOT NULL,
    -- `2024` or `2024-Q2`.
    period TEXT NOT NULL,
    -- An exact decimal as text; NULL when the value is suppressed for statistical secrecy, so that
    -- a secret value can never be read as 0.
    value TEXT,
    suppressed BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    millesime TEXT,
    -- The bulk ingestion that last wrote the row and its line in that file: provenance, and how a
    -- key given twice in one file is found without holding the whole file's keys in memory.
    ingest_id TEXT NOT NULL,
    ingest_line BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (indicator, geo_level, geo_code, period),
    CHECK (suppressed = (value IS NULL))
) WITHOUT ROWID;

CREATE TABLE contract_indicators (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    indicator TEXT NOT NULL REFERENCES indicators (code),
    geo_level TEXT NOT NULL CHECK (geo_level IN ('commune', 'epci', 'department')),
    geo_code TEXT NOT NULL,
    baseline_period TEXT,
    baseline_value TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, indicator, geo_level, geo_code),
    CHECK ((baseline_period IS NULL) = (baseline_value IS NULL))
);

CREATE TABLE contract_indicator_targets (
    contract_indicator_id TEXT NOT NULL REFERENCES contract_indicators (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (contract_indicator_id, period)
);
