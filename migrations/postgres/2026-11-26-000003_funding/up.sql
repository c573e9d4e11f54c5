-- Multi-year funding commitments, their payment schedules, payments, and the idempotency keys
-- that make payment retries safe. Money is BIGINT cents.

CREATE TABLE funding_commitments (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    payee_id TEXT NOT NULL REFERENCES organisations (id),
    equipment_id TEXT REFERENCES equipments (id),
    programme TEXT NOT NULL CHECK (programme IN ('bonus_territoire_eaje', 'bonus_territoire_rpe', 'bonus_territoire_laep',
        'bonus_territoire_alsh', 'bonus_territoire_jeunes', 'psej', 'prestation_service', 'bonus_inclusion_handicap',
        'bonus_mixite_sociale', 'aide_diagnostic', 'coordination', 'aide_investissement', 'other')),
    basis TEXT NOT NULL CHECK (basis IN ('per_place', 'per_equipment', 'per_etp', 'lump_sum')),
    origin TEXT NOT NULL CHECK (origin IN ('ex_cej', 'new')),
    unit_amount_cents BIGINT CHECK (unit_amount_cents >= 0),
    units BIGINT CHECK (units >= 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'committed', 'closed')),
    decision_date DATE,
    -- The rule the schedule was last generated with, reused when a correction regenerates it.
    advance_percent BIGINT NOT NULL,
    advance_splits TEXT NOT NULL,
    balance_due TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX funding_commitments_by_contract ON funding_commitments (contract_id);
CREATE INDEX funding_commitments_by_payee ON funding_commitments (payee_id);
CREATE INDEX funding_commitments_by_equipment ON funding_commitments (equipment_id);

CREATE TABLE funding_years (
    commitment_id TEXT NOT NULL REFERENCES funding_commitments (id),
    year BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0 AND amount_cents <= 1000000000000),
    PRIMARY KEY (commitment_id, year)
);

CREATE TABLE schedule_lines (
    id TEXT PRIMARY KEY NOT NULL,
    commitment_id TEXT NOT NULL REFERENCES funding_commitments (id),
    year BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('advance', 'balance', 'adjustment')),
    due_on DATE NOT NULL,
    amount_cents BIGINT NOT NULL,
    -- planned or paid are recorded; `due` is derived from the date when read.
    status TEXT NOT NULL CHECK (status IN ('planned', 'paid', 'cancelled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX schedule_lines_by_commitment ON schedule_lines (commitment_id, year, due_on);

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    commitment_id TEXT NOT NULL REFERENCES funding_commitments (id),
    schedule_line_id TEXT NOT NULL REFERENCES schedule_lines (id),
    year BIGINT NOT NULL,
    paid_on DATE NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0),
    reference TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_by_commitment ON payments (commitment_id, year);
CREATE INDEX payments_by_line ON payments (schedule_line_id);

CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- NULL while the first request is in progress.
    response_status BIGINT,
    response_headers TEXT,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);
