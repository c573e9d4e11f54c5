//! The integration suite: one binary, so the template database is built once per run.

// Helpers outside `#[test]` functions panic on a failed setup on purpose: that is a failed test
// with its message. Tables of attack cases are long by nature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod access;
mod amendments;
mod annex;
mod auth;
mod bonus_rates;
mod cej_transfer;
mod contract_indicators;
mod contracts;
mod database;
mod department_summary;
mod directory;
mod documents;
mod events;
mod evidence;
mod examples;
mod fixtures;
mod funding;
mod head;
mod helpers;
mod http;
mod import;
mod indicators;
mod instances;
mod metrics;
mod modules;
mod observation_imports;
mod observations;
mod openapi;
mod preconditions;
mod project;
mod readme;
mod renewal;
mod schema_drift;
mod stored_values;
mod territories;
mod write_races;
