ALTER TABLE contract_parties DROP COLUMN second_signatory_title;
ALTER TABLE contract_parties DROP COLUMN second_signatory_name;
