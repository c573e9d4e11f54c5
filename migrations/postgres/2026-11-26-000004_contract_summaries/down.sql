ALTER TABLE contracts DROP COLUMN predecessor_ids;
ALTER TABLE contracts DROP COLUMN covered_population;
ALTER TABLE contracts DROP COLUMN covered_communes;
ALTER TABLE contracts DROP COLUMN perimeter_communes;
ALTER TABLE contracts DROP COLUMN perimeter_epcis;
