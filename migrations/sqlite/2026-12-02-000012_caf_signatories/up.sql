-- The CAF signs a convention with two names: its président and its directeur.
ALTER TABLE contract_parties ADD COLUMN second_signatory_name TEXT;
ALTER TABLE contract_parties ADD COLUMN second_signatory_title TEXT;
