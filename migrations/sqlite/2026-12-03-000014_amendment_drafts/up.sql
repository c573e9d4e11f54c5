-- An amendment is drafted first and applied when every signatory it concerns has signed it. A
-- draft waits here with the signatures it has gathered; at the last one it becomes a numbered
-- amendment under the same id, and the draft row goes.
CREATE TABLE amendment_drafts (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    effective_on DATE NOT NULL,
    rationale TEXT NOT NULL,
    -- JSON: what the amendment asks for.
    changes TEXT NOT NULL,
    -- JSON: the signature of each signatory it concerns, as they come.
    signatures TEXT NOT NULL,
    -- The number of the last amendment signed when it was drafted: one signed since may have
    -- changed what this one rewrites.
    based_on BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX amendment_drafts_by_contract ON amendment_drafts (contract_id);

-- JSON: who signed a recorded amendment, and when.
ALTER TABLE contract_amendments ADD COLUMN signatures TEXT NOT NULL DEFAULT '[]';
