//! CTG API: the contracts between a CAF and the local authorities it works with — Conventions
//! territoriales globales (CTG) and the Contrats enfance et jeunesse (CEJ) they replace.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod ingest;
pub mod logging;
pub mod openapi;
pub mod problem_detail;
pub mod routes;
pub mod startup;
pub mod write;
