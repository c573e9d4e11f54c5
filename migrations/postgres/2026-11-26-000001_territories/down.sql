DROP TABLE communes;
DROP TABLE epcis;
DROP TABLE departments;
