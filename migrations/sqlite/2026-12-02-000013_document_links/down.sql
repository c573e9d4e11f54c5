ALTER TABLE documents DROP COLUMN evaluation_id;
ALTER TABLE documents DROP COLUMN meeting_id;
