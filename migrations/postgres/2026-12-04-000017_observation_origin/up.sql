-- An official figure and a collectivity's own figure for the same place and period stand side by
-- side: the origin joins the key, so that a collectivity's file can no longer replace the figure
-- the CAF and the statistical offices published. Rows a collectivity wrote (source
-- `collectivite`) keep that origin; every other row is official.
CREATE TABLE observations_by_origin (
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
    -- The bulk ingestion that last wrote the row and its line in that file.
    ingest_id TEXT NOT NULL,
    ingest_line BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- `official`: written by an admin, a CAF agent or an integration; `collectivity`: by a
    -- collectivity, about its own places.
    origin TEXT NOT NULL CHECK (origin IN ('official', 'collectivity')),
    PRIMARY KEY (indicator, geo_level, geo_code, period, origin),
    CHECK (suppressed = (value IS NULL))
);
INSERT INTO observations_by_origin (
    indicator, geo_level, geo_code, period, value, suppressed, source, millesime, ingest_id, ingest_line,
    updated_at, origin
)
SELECT
    indicator, geo_level, geo_code, period, value, suppressed, source, millesime, ingest_id, ingest_line,
    updated_at, CASE WHEN source = 'collectivite' THEN 'collectivity' ELSE 'official' END
FROM observations;
DROP TABLE observations;
ALTER TABLE observations_by_origin RENAME TO observations;
