-- The territory reference (INSEE COG via Etalab): read-only for the API, refreshed by import-territories.
CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    chef_lieu TEXT,
    zone TEXT NOT NULL CHECK (zone IN ('metro', 'drom', 'com')),
    population BIGINT NOT NULL,
    commune_count BIGINT NOT NULL
);

CREATE TABLE epcis (
    siren TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    search_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('cc', 'ca', 'cu', 'metro', 'met69')),
    financing_mode TEXT,
    population BIGINT
);

CREATE TABLE communes (
    insee TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    search_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('commune_actuelle', 'arrondissement_municipal')),
    department TEXT NOT NULL REFERENCES departments (code),
    region TEXT,
    siren TEXT,
    epci_siren TEXT REFERENCES epcis (siren),
    parent_insee TEXT,
    postal_codes TEXT NOT NULL,
    population BIGINT
);

CREATE INDEX communes_by_department ON communes (department, insee);
CREATE INDEX communes_by_epci ON communes (epci_siren, insee);
CREATE INDEX communes_by_siren ON communes (siren);
