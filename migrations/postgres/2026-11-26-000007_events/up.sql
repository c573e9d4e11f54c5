-- The change feed: one row per change, written in the transaction of the change. Ids grow in
-- commit order (SQLite lets one writer in at a time; on PostgreSQL writers take turns on an
-- advisory lock before their first event), so a reader that follows ids misses nothing.
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    -- `<resource>.<action>`, e.g. `contract.created`, `payment.created`, `observations.upserted`.
    event_type TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    contract_id TEXT,
    -- Whose scope the event is in: the contract's or the directory entry's département; NULL for
    -- catalogue changes, which every role may read.
    department TEXT,
    actor_sub TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    -- The resource as it is after the change, as JSON; NULL after a deletion.
    body TEXT
);
CREATE INDEX events_by_department ON events (department, id);
CREATE INDEX events_by_contract ON events (contract_id, id);

-- Changes made before the feed existed, from the contracts' history, in their order.
INSERT INTO events (occurred_at, event_type, resource, resource_id, contract_id, department, actor_sub, actor_role, body)
SELECT h.at, h.resource || '.' || h.action, h.resource, h.resource_id, h.contract_id, c.department, h.actor_sub,
       h.actor_role, h.after
FROM contract_history h JOIN contracts c ON c.id = h.contract_id
ORDER BY h.id;
