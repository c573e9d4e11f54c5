//! HTTP handlers with their request and response types and their OpenAPI descriptions, one
//! module per resource.

pub mod action_plan;
pub mod amending;
pub mod amendments;
pub mod annex;
pub mod bonus_rates;
pub mod cej_transfer;
pub mod contract_csv;
pub mod contract_indicators;
pub mod contract_view;
pub mod contracts;
pub mod department_summary;
pub mod docs;
pub mod documents;
pub mod entitlements;
pub mod enums;
pub mod equipments;
pub mod events;
pub mod evidence;
pub mod funding;
pub mod funding_summary;
pub mod health;
pub mod history;
pub mod indicators;
pub mod observation_imports;
pub mod observations;
pub mod organisations;
pub mod parties;
pub mod problems;
pub mod project;
pub mod renewal;
pub mod schedule;
pub mod territories;

use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::http::preconditions;

/// An id read from the database, as a UUID: one that does not parse is a fault of the database,
/// answered 500 and logged, never a made-up id.
pub fn stored_id(text: &str) -> ApiResult<uuid::Uuid> {
    text.parse().map_err(|_| ApiError::internal(format!("stored id {text:?} is not a UUID")))
}

/// 200 with `ETag` and the resource.
pub fn with_etag(version: i64, body: &impl Serialize) -> HttpResponse {
    preconditions::with_etag(Some(version), body)
}
