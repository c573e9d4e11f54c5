DROP TABLE funding_continuations;
DROP TABLE funding_evidence;
DROP TABLE evidence_requirements;
DROP TABLE bonus_rates;
DROP TABLE bonus_rate_years;
ALTER TABLE schedule_lines DROP COLUMN reason;
ALTER TABLE funding_years DROP COLUMN actual_cents;
ALTER TABLE funding_years DROP COLUMN forecast_cents;
ALTER TABLE contracts DROP COLUMN bonus_band;
