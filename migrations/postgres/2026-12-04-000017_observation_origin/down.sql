-- Back to one figure per place and period: the official one where both exist.
CREATE TABLE observations_single (
    indicator TEXT NOT NULL REFERENCES indicators (code),
    geo_level TEXT NOT NULL CHECK (geo_level IN ('commune', 'epci', 'department')),
    geo_code TEXT NOT NULL,
    period TEXT NOT NULL,
    value TEXT,
    suppressed BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    millesime TEXT,
    ingest_id TEXT NOT NULL,
    ingest_line BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (indicator, geo_level, geo_code, period),
    CHECK (suppressed = (value IS NULL))
);
INSERT INTO observations_single (
    indicator, geo_level, geo_code, period, value, suppressed, source, millesime, ingest_id, ingest_line,
    updated_at
)
SELECT
    indicator, geo_level, geo_code, period, value, suppressed, source, millesime, ingest_id, ingest_line,
    updated_at
FROM observations AS kept
WHERE origin = 'official' OR NOT EXISTS (
    SELECT 1 FROM observations AS official
    WHERE official.origin = 'official' AND official.indicator = kept.indicator
        AND official.geo_level = kept.geo_level AND official.geo_code = kept.geo_code
        AND official.period = kept.period
);
DROP TABLE observations;
ALTER TABLE observations_single RENAME TO observations;
