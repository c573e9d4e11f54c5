-- The CTGs in force are read on every departmental summary: find them without reading every
-- contract.
CREATE INDEX contracts_in_force ON contracts (status, kind, end_date);
