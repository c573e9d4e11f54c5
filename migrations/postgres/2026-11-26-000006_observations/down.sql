DROP TABLE contract_indicator_targets;
DROP TABLE contract_indicators;
DROP TABLE observations;
