//! HTTP handlers with their request and response types and their OpenAPI descriptions, one
//! module per resource.

pub mod action_plan;
pub mod amendments;
pub mod contract_csv;
pub mod contract_indicators;
pub mod contract_view;
pub mod contracts;
pub mod department_summary;
pub mod docs;
pub mod enums;
pub mod equipments;
pub mod events;
pub mod funding;
pub mod funding_summary;
pub mod health;
pub mod history;
pub mod indicators;
pub mod observations;
pub mod organisations;
pub mod parties;
pub mod problems;
pub mod schedule;
pub mod territories;

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use crate::http::preconditions::etag;

/// 200 with `ETag` and the resource.
pub fn with_etag(version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag(version))).json(body)
}
