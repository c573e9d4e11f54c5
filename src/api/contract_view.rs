//! How a contract is shown, and how its row becomes that view: the JSON list, a single read, the
//! CSV download and every write answer these, so they live apart from the handlers.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::stored_id;
use crate::db::contracts::{self as repo, ContractRow, Perimeter};
use crate::db::{self, DbConnection};
use crate::domain::contract::{ContractKind, ContractStatus, Field, SchemeKind};
use crate::error::{ApiError, ApiResult};
use crate::write;

/// A departmental scheme or contract the contract is articulated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkedScheme {
    pub kind: SchemeKind,
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
    #[schema(max_length = 100)]
    pub reference: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
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
    /// The territory's band in the bonus rate table (`/v1/bonus-rates/{year}`), by its wealth:
    /// the rate of a new place depends on it.
    #[schema(minimum = 1, maximum = 20)]
    pub bonus_band: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

write::resource!(
    ContractView, "contract", |view| id: view.id,
    location: format!("/v1/contracts/{}", view.id),
    version: view.version,
);

/// Builds the views of `rows`, with their perimeters, coverage and predecessors, in one query
/// for the whole list.
fn views(conn: &mut DbConnection, rows: Vec<ContractRow>) -> ApiResult<Vec<ContractView>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut summaries = repo::summaries(conn, &ids)?;
    let today = chrono::Utc::now().date_naive();
    rows.into_iter()
        .map(|row| {
            let summary = summaries.remove(&row.id);
            summarised_view(row, summary.as_ref(), today)
        })
        .collect()
}

/// The view of a contract read with its summary.
pub(crate) fn summarised_view(
    row: ContractRow,
    summary: Option<&repo::SummaryRow>,
    today: NaiveDate,
) -> ApiResult<ContractView> {
    let perimeter = summary.map(repo::SummaryRow::perimeter).unwrap_or_default();
    let covered = summary.map(repo::SummaryRow::coverage).unwrap_or_default();
    let predecessor_ids = summary.map(repo::SummaryRow::predecessor_ids).unwrap_or_default();
    view(row, perimeter, covered, &predecessor_ids, today)
}

/// The view `row` will have once written with this perimeter and these predecessors: what a
/// write answers and records in the history before and without reading it back.
pub(crate) fn draft_view(
    conn: &mut DbConnection,
    row: ContractRow,
    perimeter: &Perimeter,
    predecessor_ids: &[String],
) -> ApiResult<ContractView> {
    let coverage = repo::coverage(conn, &HashMap::from([(row.id.clone(), perimeter.clone())]))?;
    let covered = coverage.get(&row.id).copied().unwrap_or_default();
    let mut sorted = perimeter.clone();
    sorted.epcis.sort();
    sorted.communes.sort();
    let mut predecessor_ids = predecessor_ids.to_vec();
    predecessor_ids.sort();
    let today = chrono::Utc::now().date_naive();
    view(row, sorted, covered, &predecessor_ids, today)
}

pub(crate) fn view_one(conn: &mut DbConnection, row: ContractRow) -> ApiResult<ContractView> {
    views(conn, vec![row])?.pop().ok_or_else(|| ApiError::internal("a contract view went missing"))
}

fn view(
    row: ContractRow,
    perimeter: Perimeter,
    covered: repo::Coverage,
    predecessor_ids: &[String],
    today: NaiveDate,
) -> ApiResult<ContractView> {
    let recorded = row.status;
    Ok(ContractView {
        id: stored_id(&row.id)?,
        kind: row.kind,
        reference: row.reference,
        title: row.title,
        department: row.department,
        status: recorded.seen_on(today, row.start_date, row.end_date),
        start_date: row.start_date,
        end_date: row.end_date,
        signed_on: row.signed_on,
        ended_on: row.ended_on,
        status_reason: row.status_reason,
        fields: row.fields,
        perimeter: PerimeterView {
            epcis: perimeter.epcis,
            communes: perimeter.communes,
            covered_communes: covered.communes,
            covered_population: covered.population,
        },
        linked_schemes: serde_json::from_str(&row.linked_schemes).map_err(ApiError::internal)?,
        predecessor_ids: predecessor_ids.iter().map(|id| stored_id(id)).collect::<ApiResult<_>>()?,
        bonus_band: row.bonus_band,
        version: row.version,
        created_at: db::rfc3339(row.created_at),
        updated_at: db::rfc3339(row.updated_at),
    })
}
