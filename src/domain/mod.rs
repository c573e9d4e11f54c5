//! Rules and value types of the domain, free of HTTP and SQL.

pub mod amendments;
pub mod annex;
pub mod cej_transfer;
pub mod codes;
pub mod commitments;
pub mod contract;
pub mod directory;
pub mod documents;
pub mod draft;
pub mod evidence;
pub mod funding;
pub mod identifiers;
pub mod indicators;
pub mod lifecycle;
pub mod observations;
pub mod organisation;
pub mod parties;
pub mod progress;
pub mod project;
pub mod reference;
pub mod schedule;
pub mod territory;
