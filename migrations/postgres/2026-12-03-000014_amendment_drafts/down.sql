ALTER TABLE contract_amendments DROP COLUMN signatures;
DROP TABLE amendment_drafts;
