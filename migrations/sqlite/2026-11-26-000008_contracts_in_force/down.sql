DROP INDEX contracts_in_force;
