-- The money of a CTG: the band of the bonus rates a territory falls in, the rate table per
-- year, forecast and actual entitlement per year, the evidence that supports the actual one,
-- and the link from a bonus territoire to the CEJ commitment it continues.

-- The territory's band in the bonus rate table (by territory wealth), set on the contract.
ALTER TABLE contracts ADD COLUMN bonus_band BIGINT CHECK (bonus_band BETWEEN 1 AND 20);

-- The forecast entitlement ("droit prévisionnel") the advances are computed from, and the actual
-- one ("droit réel") the balance settles, once known.
ALTER TABLE funding_years ADD COLUMN forecast_cents BIGINT CHECK (forecast_cents BETWEEN 0 AND 1000000000000);
ALTER TABLE funding_years ADD COLUMN actual_cents BIGINT CHECK (actual_cents BETWEEN 0 AND 1000000000000);

-- Why a line exists when the schedule alone does not say it: a recovery's reason.
ALTER TABLE schedule_lines ADD COLUMN reason TEXT;

-- One year of the bonus rate table, versioned as a whole: it is replaced with one PUT.
CREATE TABLE bonus_rate_years (
    year BIGINT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A bonus per new place and year, per programme and band.
CREATE TABLE bonus_rates (
    year BIGINT NOT NULL REFERENCES bonus_rate_years (year) ON DELETE CASCADE,
    programme TEXT NOT NULL CHECK (programme IN ('bonus_territoire_eaje', 'bonus_territoire_rpe',
        'bonus_territoire_laep', 'bonus_territoire_alsh', 'bonus_territoire_jeunes')),
    band BIGINT NOT NULL CHECK (band BETWEEN 1 AND 20),
    per_place_cents BIGINT NOT NULL CHECK (per_place_cents BETWEEN 1 AND 1000000000000),
    PRIMARY KEY (year, programme, band)
);

-- The kinds of evidence each programme requires before a year's balance is paid: data, kept
-- by admins, seeded with the CAF's usual list.
CREATE TABLE evidence_requirements (
    programme TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('activity_report', 'financial_statement', 'attendance_data', 'other')),
    PRIMARY KEY (programme, kind)
);
INSERT INTO evidence_requirements (programme, kind) VALUES
    ('bonus_territoire_eaje', 'activity_report'), ('bonus_territoire_eaje', 'financial_statement'),
    ('bonus_territoire_eaje', 'attendance_data'),
    ('bonus_territoire_alsh', 'activity_report'), ('bonus_territoire_alsh', 'financial_statement'),
    ('bonus_territoire_alsh', 'attendance_data'),
    ('bonus_territoire_rpe', 'activity_report'), ('bonus_territoire_rpe', 'financial_statement'),
    ('bonus_territoire_laep', 'activity_report'), ('bonus_territoire_laep', 'financial_statement'),
    ('bonus_territoire_jeunes', 'activity_report'), ('bonus_territoire_jeunes', 'financial_statement'),
    ('psej', 'activity_report'), ('psej', 'financial_statement'), ('psej', 'attendance_data'),
    ('prestation_service', 'activity_report'), ('prestation_service', 'financial_statement'),
    ('prestation_service', 'attendance_data'),
    ('bonus_inclusion_handicap', 'activity_report'), ('bonus_inclusion_handicap', 'financial_statement'),
    ('bonus_mixite_sociale', 'activity_report'), ('bonus_mixite_sociale', 'financial_statement'),
    ('aide_diagnostic', 'financial_statement'),
    ('coordination', 'activity_report'), ('coordination', 'financial_statement'),
    ('aide_investissement', 'financial_statement'),
    ('other', 'financial_statement');

-- A piece of evidence for one year of a commitment: received, then validated by the CAF.
CREATE TABLE funding_evidence (
    id TEXT PRIMARY KEY NOT NULL,
    commitment_id TEXT NOT NULL REFERENCES funding_commitments (id),
    year BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('activity_report', 'financial_statement', 'attendance_data', 'other')),
    received_on DATE NOT NULL,
    validated_on DATE,
    -- The `sub` of who validated it, from their token.
    validated_by TEXT,
    note TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX funding_evidence_by_commitment ON funding_evidence (commitment_id, year);

-- A bonus territoire created at a CTG's signature continues the CEJ commitments of its facility.
CREATE TABLE funding_continuations (
    commitment_id TEXT NOT NULL REFERENCES funding_commitments (id),
    continues_id TEXT NOT NULL REFERENCES funding_commitments (id),
    PRIMARY KEY (commitment_id, continues_id)
);
CREATE INDEX funding_continuations_by_continued ON funding_continuations (continues_id);
