-- A document may also be the minutes of a committee or the report of an evaluation.
ALTER TABLE documents ADD COLUMN meeting_id TEXT REFERENCES contract_meetings (id);
ALTER TABLE documents ADD COLUMN evaluation_id TEXT REFERENCES contract_evaluations (id);
