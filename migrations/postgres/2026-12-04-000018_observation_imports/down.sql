DROP TABLE observation_imports;
