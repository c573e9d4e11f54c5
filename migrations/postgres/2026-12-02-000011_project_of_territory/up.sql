-- The project of territory around a contract: its shared diagnostic (one per contract), its
-- steering, technical and thematic committees, its evaluations and the commitments of its
-- parties. Lists are TEXT holding JSON, as linked_schemes.

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

-- Yearly reviews (with their year) and the final evaluation (one per contract, which the
-- contract's lock keeps so), each assessing axes and actions of the contract.
CREATE TABLE contract_evaluations (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    kind TEXT NOT NULL,
    year BIGINT,
    held_on DATE NOT NULL,
    axes TEXT NOT NULL,
    actions TEXT NOT NULL,
    summary TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX contract_evaluations_by_contract ON contract_evaluations (contract_id, held_on);

-- What each party commits to besides money (the CAF's engineering among them).
CREATE TABLE contract_party_commitments (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    party_id TEXT NOT NULL REFERENCES contract_parties (id),
    field TEXT,
    text TEXT NOT NULL,
    engineering_support BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX contract_party_commitments_by_contract ON contract_party_commitments (contract_id, party_id);
