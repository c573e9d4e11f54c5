ALTER TABLE documents DROP COLUMN action_id;
