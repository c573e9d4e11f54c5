DROP TABLE contract_meetings;
DROP TABLE contract_diagnostics;
