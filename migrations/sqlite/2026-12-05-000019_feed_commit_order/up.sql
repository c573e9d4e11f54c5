-- The feed follows commit order without a global writer lock (see src/db/events.rs): each event
-- records the transaction that wrote it (PostgreSQL's transaction id; 0 on SQLite, whose writers
-- commit one at a time), and readers go through events by (transaction_id, id), never past a
-- transaction still running. Events written before this migration keep 0: they were committed one
-- at a time under the former lock, so their ids are their commit order.
ALTER TABLE events ADD COLUMN transaction_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feed_horizon ADD COLUMN purged_through_transaction BIGINT NOT NULL DEFAULT 0;
DROP INDEX events_by_department;
DROP INDEX events_by_contract;
CREATE INDEX events_in_commit_order ON events (transaction_id, id);
CREATE INDEX events_by_department ON events (department, transaction_id, id);
CREATE INDEX events_by_contract ON events (contract_id, transaction_id, id);
