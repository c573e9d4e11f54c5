//! How a contract is shown: the JSON list, a single read and the CSV download all answer these, so
//! they live apart from the handlers that fill them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::domain::contract::{ContractKind, ContractStatus, Field, SchemeKind};
use crate::write;

/// A departmental scheme or contract the contract is articulated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkedScheme {
    pub kind: SchemeKind,
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
    pub reference: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    pub label: String,
}

/// The territory a contract covers, with what it adds up to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PerimeterView {
    pub epcis: Vec<String>,
    pub communes: Vec<String>,
    /// Communes covered, directly or as members of the EPCI, each counted once.
    pub covered_communes: i64,
    /// Municipal population of the covered communes.
    pub covered_population: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContractView {
    pub id: Uuid,
    pub kind: ContractKind,
    #[schema(example = "CTG-074-2024-0001")]
    pub reference: String,
    pub title: String,
    /// The département of the CAF that signs it.
    pub department: String,
    pub status: ContractStatus,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub signed_on: Option<NaiveDate>,
    /// The date a terminated contract ended.
    pub ended_on: Option<NaiveDate>,
    /// Why it was last sent back, terminated, cancelled or superseded.
    pub status_reason: Option<String>,
    pub fields: Vec<Field>,
    pub perimeter: PerimeterView,
    pub linked_schemes: Vec<LinkedScheme>,
    /// The CEJs this CTG replaces.
    pub predecessor_ids: Vec<Uuid>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

write::resource!(
    ContractView, "contract", |view| id: view.id,
    location: format!("/v1/contracts/{}", view.id),
    version: view.version,
);
