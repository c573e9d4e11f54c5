-- The project of territory around a contract: its shared diagnostic (one per contract) and its
-- steering, technical and thematic committees. Lists are TEXT holding JSON, as linked_schemes.

CREATE TABLE contract_diagnostics (
    contract_id TEXT PRIMARY KEY NOT NULL REFERENCES contracts (id),
    started_on DATE NOT NULL,
    completed_on DATE,
    led_by TEXT NOT NULL,
    fields TEXT NOT NULL,
    findings TEXT NOT NULL,
    needs TEXT NOT NULL,
    indicators TEXT NOT NULL,
    observations TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE contract_meetings (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    kind TEXT NOT NULL,
    held_on DATE NOT NULL,
    title TEXT NOT NULL,
    present TEXT NOT NULL,
    decisions TEXT NOT NULL,
    notes TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX contract_meetings_by_contract ON contract_meetings (contract_id, held_on);
