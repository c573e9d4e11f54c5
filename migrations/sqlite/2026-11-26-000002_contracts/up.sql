-- Partners, facilities, contracts and everything a contract holds, with the history of its changes.
-- UUIDs are TEXT, money BIGINT cents, enums TEXT with CHECK, timestamps UTC.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('caf', 'commune', 'epci', 'departement', 'region', 'etat', 'msa', 'cpam', 'carsat',
        'ccas_cias', 'syndicat_intercommunal', 'association', 'entreprise', 'other')),
    name TEXT NOT NULL,
    search_name TEXT NOT NULL,
    siren TEXT UNIQUE,
    department TEXT REFERENCES departments (code),
    insee_code TEXT REFERENCES communes (insee),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (siren IS NOT NULL OR kind = 'other')
);
-- One CAF per département.
CREATE UNIQUE INDEX organisations_one_caf_per_department ON organisations (department) WHERE kind = 'caf';
CREATE INDEX organisations_by_department ON organisations (department, id);

CREATE TABLE equipments (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('eaje', 'alsh_periscolaire', 'alsh_extrascolaire', 'accueil_jeunes', 'rpe', 'laep',
        'ludotheque', 'centre_social', 'espace_vie_sociale', 'other')),
    name TEXT NOT NULL,
    siret TEXT,
    manager_id TEXT NOT NULL REFERENCES organisations (id),
    commune TEXT NOT NULL REFERENCES communes (insee),
    department TEXT NOT NULL REFERENCES departments (code),
    capacity_places BIGINT,
    opened_on DATE,
    closed_on DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX equipments_by_manager ON equipments (manager_id);
CREATE INDEX equipments_by_department ON equipments (department, id);

CREATE TABLE contracts (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ctg', 'cej')),
    reference TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments (code),
    -- The recorded lifecycle state; `active` and `expired` are derived from the dates when read.
    status TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'signed', 'terminated', 'cancelled', 'superseded')),
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    signed_on DATE,
    ended_on DATE,
    status_reason TEXT,
    -- Comma-separated intervention field codes, sorted.
    fields TEXT NOT NULL,
    -- JSON array of {kind, reference, label}.
    linked_schemes TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (end_date >= start_date)
);
CREATE INDEX contracts_by_department ON contracts (department, reference);
CREATE INDEX contracts_by_updated_at ON contracts (updated_at, id);

CREATE TABLE contract_epcis (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    epci_siren TEXT NOT NULL,
    PRIMARY KEY (contract_id, epci_siren)
);
CREATE INDEX contract_epcis_by_epci ON contract_epcis (epci_siren);

CREATE TABLE contract_communes (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    insee TEXT NOT NULL,
    PRIMARY KEY (contract_id, insee)
);
CREATE INDEX contract_communes_by_insee ON contract_communes (insee);

CREATE TABLE contract_predecessors (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    predecessor_id TEXT NOT NULL REFERENCES contracts (id),
    PRIMARY KEY (contract_id, predecessor_id)
);
CREATE INDEX contract_predecessors_by_predecessor ON contract_predecessors (predecessor_id);

CREATE TABLE contract_parties (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    -- Comma-separated role codes, sorted.
    roles TEXT NOT NULL,
    signatory_name TEXT,
    signatory_title TEXT,
    deliberation_date DATE,
    deliberation_ref TEXT,
    signed_on DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, organisation_id)
);
CREATE INDEX contract_parties_by_organisation ON contract_parties (organisation_id);

CREATE TABLE contract_axes (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    field TEXT,
    position BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, code)
);

CREATE TABLE contract_actions (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    axis_id TEXT REFERENCES contract_axes (id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    objective TEXT,
    field TEXT,
    pilot_organisation_id TEXT REFERENCES organisations (id),
    planned_start DATE,
    planned_end DATE,
    actual_start DATE,
    actual_end DATE,
    status TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'completed', 'abandoned', 'postponed')),
    estimated_budget_cents BIGINT CHECK (estimated_budget_cents >= 0),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, code)
);
CREATE INDEX contract_actions_by_axis ON contract_actions (axis_id);
CREATE INDEX contract_actions_by_pilot ON contract_actions (pilot_organisation_id);

CREATE TABLE contract_amendments (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    number BIGINT NOT NULL,
    signed_on DATE NOT NULL,
    effective_on DATE NOT NULL,
    rationale TEXT NOT NULL,
    -- JSON: what the amendment asked for, and the amended part of the contract before and after.
    changes TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, number)
);

CREATE TABLE contract_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    at TIMESTAMP NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted', 'transitioned', 'amended')),
    resource TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    reason TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX contract_history_by_contract ON contract_history (contract_id, id);
