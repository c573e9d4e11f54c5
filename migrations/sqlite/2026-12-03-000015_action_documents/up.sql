-- A document may belong to an action of the plan: what its pilot produced or reports on it.
ALTER TABLE documents ADD COLUMN action_id TEXT REFERENCES contract_actions (id);
