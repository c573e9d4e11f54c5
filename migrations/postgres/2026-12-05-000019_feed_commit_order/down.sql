DROP INDEX events_by_contract;
DROP INDEX events_by_department;
DROP INDEX events_in_commit_order;
CREATE INDEX events_by_department ON events (department, id);
CREATE INDEX events_by_contract ON events (contract_id, id);
ALTER TABLE feed_horizon DROP COLUMN purged_through_transaction;
ALTER TABLE events DROP COLUMN transaction_id;
