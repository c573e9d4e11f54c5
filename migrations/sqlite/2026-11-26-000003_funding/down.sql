DROP TABLE idempotency_keys;
DROP TABLE payments;
DROP TABLE schedule_lines;
DROP TABLE funding_years;
DROP TABLE funding_commitments;
