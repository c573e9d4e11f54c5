-- What a contract read shows of its perimeter, coverage and predecessors, kept on the contract row
-- so that a read is one query. The link tables stay the truth (filters and supersession use them);
-- the service rewrites these columns whenever a perimeter, a predecessor list or the territory
-- reference changes.
ALTER TABLE contracts ADD COLUMN perimeter_epcis TEXT NOT NULL DEFAULT '';
ALTER TABLE contracts ADD COLUMN perimeter_communes TEXT NOT NULL DEFAULT '';
ALTER TABLE contracts ADD COLUMN covered_communes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contracts ADD COLUMN covered_population BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contracts ADD COLUMN predecessor_ids TEXT NOT NULL DEFAULT '';

UPDATE contracts SET
    perimeter_epcis = COALESCE((SELECT string_agg(epci_siren, ',' ORDER BY epci_siren)
        FROM contract_epcis e WHERE e.contract_id = contracts.id), ''),
    perimeter_communes = COALESCE((SELECT string_agg(insee, ',' ORDER BY insee)
        FROM contract_communes c WHERE c.contract_id = contracts.id), ''),
    predecessor_ids = COALESCE((SELECT string_agg(predecessor_id, ',' ORDER BY predecessor_id)
        FROM contract_predecessors p WHERE p.contract_id = contracts.id), ''),
    covered_communes = (SELECT COUNT(*) FROM communes m
        WHERE m.insee IN (SELECT insee FROM contract_communes c WHERE c.contract_id = contracts.id)
           OR m.epci_siren IN (SELECT epci_siren FROM contract_epcis e WHERE e.contract_id = contracts.id)),
    covered_population = (SELECT COALESCE(SUM(m.population), 0) FROM communes m
        WHERE m.insee IN (SELECT insee FROM contract_communes c WHERE c.contract_id = contracts.id)
           OR m.epci_siren IN (SELECT epci_siren FROM contract_epcis e WHERE e.contract_id = contracts.id));
