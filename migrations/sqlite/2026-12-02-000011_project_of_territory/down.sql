DROP TABLE contract_party_commitments;
DROP TABLE contract_evaluations;
DROP TABLE contract_meetings;
DROP TABLE contract_diagnostics;
