//! Funding commitments: the CAF's multi-year money for a payee of a contract, yearly amounts in
//! cents inside the contract's period, draft → committed → closed. Admins and CAF agents write
//! them; everyone who reaches the contract reads them.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::contracts::{find_in_scope, find_managed, require_open};
use super::problems::{
    ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, TransitionProblems, UpdateProblems,
};
use super::with_etag;
use crate::auth::Caller;
use crate::db::contracts::ContractRow;
use crate::db::funding::{self as repo, CommitmentRow};
use crate::db::history::{Action, Change, snapshot};
use crate::db::{self, DbConnection, DbPool, equipments, parties};
use crate::domain::codes::split_codes;
use crate::domain::contract::PartyRole;
use crate::domain::funding::{
    Basis, CommitmentStatus, MAX_AMOUNT_CENTS, Origin, Programme, ScheduleRule, parse_month_day,
};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, ApiJsonWithValue, RequestBody, nullable};
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::pagination::Page;
use crate::http::preconditions::IfMatch;
use crate::http::query::{ApiQuery, NoParameters};

/// The amount committed for one calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearAmount {
    #[schema(example = 2025)]
    pub year: i32,
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(example = 1_560_000)]
    pub amount_cents: i64,
}

/// How the schedule of each year is generated: advances as a share of the year, on given dates,
/// and the balance the next year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleRuleView {
    pub advance_percent: u8,
    /// `MM-DD` dates of the advances within the year.
    pub advance_splits: Vec<String>,
    /// `MM-DD` date of the balance in the following year.
    pub balance_due: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommitmentView {
    pub id: Uuid,
    pub contract_id: Uuid,
    /// The organisation paid: a party of the contract with the `payee` role.
    pub payee_id: Uuid,
    pub equipment_id: Option<Uuid>,
    pub programme: Programme,
    pub basis: Basis,
    pub origin: Origin,
    pub unit_amount_cents: Option<i64>,
    pub units: Option<i64>,
    pub years: Vec<YearAmount>,
    /// Sum of the yearly amounts.
    pub total_cents: i64,
    pub status: CommitmentStatus,
    /// Date of the CAF's decision (commission d'action sociale).
    pub decision_date: Option<NaiveDate>,
    pub schedule_rule: ScheduleRuleView,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn format_month_day((month, day): (u32, u32)) -> String {
    format!("{month:02}-{day:02}")
}

/// The stored schedule rule of a commitment.
pub(crate) fn stored_rule(row: &CommitmentRow) -> ScheduleRule {
    ScheduleRule {
        advance_percent: u8::try_from(row.advance_percent).unwrap_or(70),
        advance_splits: row.advance_splits.split(',').filter_map(parse_month_day).collect(),
        balance_due: parse_month_day(&row.balance_due).unwrap_or((5, 31)),
    }
}

pub(crate) fn commitment_view(row: CommitmentRow, years: &BTreeMap<i64, i64>) -> CommitmentView {
    let rule = stored_rule(&row);
    CommitmentView {
        id: row.id.parse().unwrap_or_default(),
        contract_id: row.contract_id.parse().unwrap_or_default(),
        payee_id: row.payee_id.parse().unwrap_or_default(),
        equipment_id: row.equipment_id.and_then(|id| id.parse().ok()),
        programme: Programme::parse(&row.programme).unwrap_or(Programme::Other),
        basis: Basis::parse(&row.basis).unwrap_or(Basis::LumpSum),
        origin: Origin::parse(&row.origin).unwrap_or(Origin::New),
        unit_amount_cents: row.unit_amount_cents,
        units: row.units,
        years: years
            .iter()
            .map(|(&year, &amount_cents)| YearAmount { year: i32::try_from(year).unwrap_or_default(), amount_cents })
            .collect(),
        total_cents: years.values().sum(),
        status: CommitmentStatus::parse(&row.status).unwrap_or(CommitmentStatus::Draft),
        decision_date: row.decision_date,
        schedule_rule: ScheduleRuleView {
            advance_percent: rule.advance_percent,
            advance_splits: rule.advance_splits.into_iter().map(format_month_day).collect(),
            balance_due: format_month_day(rule.balance_due),
        },
        version: row.version,
        created_at: db::rfc3339(row.created_at),
        updated_at: db::rfc3339(row.updated_at),
    }
}

const COMMITMENT_READ_ONLY: &[&str] =
    &["id", "version", "status", "created_at", "updated_at", "contract_id", "total_cents", "schedule_rule"];

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommitment {
    pub payee_id: Uuid,
    pub equipment_id: Option<Uuid>,
    pub programme: Programme,
    pub basis: Basis,
    pub origin: Origin,
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    pub unit_amount_cents: Option<i64>,
    #[validate(range(min = 0, max = 1_000_000, message = "must be between 0 and 1000000"))]
    pub units: Option<i64>,
    #[validate(length(min = 1, message = "name at least one year"), nested)]
    pub years: Vec<YearAmount>,
    pub decision_date: Option<NaiveDate>,
}

impl RequestBody for CreateCommitment {
    const READ_ONLY: &'static [&'static str] = COMMITMENT_READ_ONLY;
}

/// Changes to a commitment. Once committed, a change is a correction: it needs a `reason`, no
/// year may fall below what was already paid for it, and the unpaid schedule of the changed years
/// is generated again so that it still adds up.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentPatch {
    pub payee_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub equipment_id: Option<Option<Uuid>>,
    pub programme: Option<Programme>,
    pub basis: Option<Basis>,
    pub origin: Option<Origin>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    pub unit_amount_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000, message = "must be between 0 and 1000000"))]
    pub units: Option<Option<i64>>,
    #[validate(length(min = 1, message = "name at least one year"), nested)]
    pub years: Option<Vec<YearAmount>>,
    #[serde(default, deserialize_with = "nullable")]
    pub decision_date: Option<Option<NaiveDate>>,
    /// Why a committed commitment is corrected; required then.
    #[validate(length(min = 1, max = 2000, message = "must have 1 to 2000 characters"))]
    pub reason: Option<String>,
}

impl RequestBody for CommitmentPatch {
    const READ_ONLY: &'static [&'static str] = COMMITMENT_READ_ONLY;
}

/// Checks who is paid, for what, and when, against the contract; returns the years by year.
fn check_commitment(
    conn: &mut DbConnection,
    contract: &ContractRow,
    row: &CommitmentRow,
    years: &[YearAmount],
) -> ApiResult<BTreeMap<i64, i64>> {
    let mut errors = Vec::new();
    let payee_roles = parties::list(conn, &contract.id)?
        .into_iter()
        .find(|(party, _)| party.organisation_id == row.payee_id)
        .map(|(party, _)| split_codes(&party.roles, PartyRole::parse));
    if !payee_roles.is_some_and(|roles| roles.contains(&PartyRole::Payee)) {
        errors.push(FieldError::at_pointer(
            "/payee_id",
            "PAYEE_NOT_A_PARTY",
            "the payee must be a party of the contract with the payee role",
        ));
    }
    if let Some(equipment_id) = &row.equipment_id {
        match equipments::find(conn, equipment_id)? {
            None => {
                errors.push(FieldError::at_pointer("/equipment_id", "UNKNOWN_EQUIPMENT", "no equipment has this id"));
            }
            Some(equipment) if equipment.manager_id != row.payee_id => {
                errors.push(FieldError::at_pointer(
                    "/equipment_id",
                    "EQUIPMENT_OF_ANOTHER_MANAGER",
                    "the equipment is run by another organisation than the payee",
                ));
            }
            Some(_) => {}
        }
    }
    if let (Some(unit), Some(units)) = (row.unit_amount_cents, row.units)
        && unit.checked_mul(units).is_none_or(|product| product > MAX_AMOUNT_CENTS)
    {
        errors.push(FieldError::at_pointer(
            "/units",
            "AMOUNT_TOO_LARGE",
            "unit_amount_cents × units exceeds 10^12 cents",
        ));
    }
    let (first, last) = (i64::from(contract.start_date.year()), i64::from(contract.end_date.year()));
    let mut by_year = BTreeMap::new();
    for (index, entry) in years.iter().enumerate() {
        let year = i64::from(entry.year);
        if !(first..=last).contains(&year) {
            let detail = format!("the contract runs from {first} to {last}");
            errors.push(FieldError::at_pointer(format!("/years/{index}/year"), "YEAR_OUTSIDE_PERIOD", detail));
        }
        if by_year.insert(year, entry.amount_cents).is_some() {
            errors.push(FieldError::at_pointer(
                format!("/years/{index}/year"),
                "DUPLICATE",
                "this year appears earlier in the list",
            ));
        }
    }
    if errors.is_empty() { Ok(by_year) } else { Err(ApiError::validation(errors)) }
}

/// The commitment `id` if its contract is in the caller's scope; 404 otherwise.
pub(crate) fn find_commitment(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
) -> ApiResult<(CommitmentRow, ContractRow)> {
    repo::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound)
}

/// The commitment `id` for a change by the caller: 404 when out of scope, then 403 when the
/// caller's role does not manage contracts.
pub(crate) fn find_managed_commitment(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
) -> ApiResult<(CommitmentRow, ContractRow)> {
    let found = find_commitment(conn, caller, id)?;
    caller.require_contract_manager()?;
    Ok(found)
}

/// The yearly amounts of one commitment, by year.
pub(crate) fn years_of(conn: &mut DbConnection, id: &str) -> ApiResult<BTreeMap<i64, i64>> {
    Ok(repo::years(conn, &[id.to_owned()])?.remove(id).unwrap_or_default())
}

/// The funding commitments of a contract.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = Page<CommitmentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/funding-commitments")]
pub async fn list_commitments(
    caller: Caller,
    id: web::Path<Uuid>,
    _no_parameters: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let items = db::run(&pool, move |conn| {
        find_in_scope(conn, &caller, &id)?;
        let rows = repo::list(conn, std::slice::from_ref(&id))?;
        let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
        let mut years = repo::years(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let row_years = years.remove(&row.id).unwrap_or_default();
                commitment_view(row, &row_years)
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

/// One funding commitment.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = CommitmentView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}")]
pub async fn get_commitment(caller: Caller, id: web::Path<Uuid>, pool: web::Data<DbPool>) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let view = db::run(&pool, move |conn| {
        let (row, _) = find_commitment(conn, &caller, &id)?;
        let years = years_of(conn, &id)?;
        Ok(commitment_view(row, &years))
    })
    .await?;
    Ok(with_etag(view.version, &view))
}

/// Record a funding commitment in `draft` for a payee party of the contract, with its yearly
/// amounts inside the contract's period.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), request_body = CreateCommitment, responses((status = 201, body = CommitmentView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/funding-commitments")]
pub async fn create_commitment(
    caller: Caller,
    id: web::Path<Uuid>,
    json: ApiJsonWithValue<CreateCommitment>,
    pool: web::Data<DbPool>,
    req: HttpRequest,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let hash = idempotency::request_hash("POST", req.path(), &json.value);
    let body = json.body;
    let contract_id = id.into_inner().to_string();
    let owner = caller.clone();
    idempotency::run_once(&pool, &owner, key.0, hash, move |conn| {
        let contract = find_managed(conn, &caller, &contract_id)?;
        require_open(&contract)?;
        let rule = ScheduleRule::default();
        let now = db::now();
        let row = CommitmentRow {
            id: db::new_id(),
            contract_id: contract_id.clone(),
            payee_id: body.payee_id.to_string(),
            equipment_id: body.equipment_id.map(|id| id.to_string()),
            programme: body.programme.as_str().to_owned(),
            basis: body.basis.as_str().to_owned(),
            origin: body.origin.as_str().to_owned(),
            unit_amount_cents: body.unit_amount_cents,
            units: body.units,
            status: CommitmentStatus::Draft.as_str().to_owned(),
            decision_date: body.decision_date,
            advance_percent: i64::from(rule.advance_percent),
            advance_splits: rule.advance_splits.into_iter().map(format_month_day).collect::<Vec<_>>().join(","),
            balance_due: format_month_day(rule.balance_due),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let years = check_commitment(conn, &contract, &row, &body.years)?;
        let view = commitment_view(row.clone(), &years);
        let change = Change {
            caller: &caller,
            action: Action::Created,
            resource: "funding_commitment",
            resource_id: row.id.clone(),
            reason: None,
            before: None,
            after: snapshot(&view),
        };
        repo::insert(conn, &row, &years, &change)?;
        Answer::created(format!("/v1/funding-commitments/{}", view.id), Some(view.version), &view)
    })
    .await
}

/// Change a commitment: freely in `draft`; as a correction with a `reason` once `committed`;
/// never once `closed`.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = CommitmentPatch, responses((status = 200, body = CommitmentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/funding-commitments/{id}")]
pub async fn update_commitment(
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<CommitmentPatch>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let view = db::run_write(&pool, move |conn| {
        // This commitment's money writers take turns from here to the commit, so what is
        // checked below is still true when it is written.
        repo::lock(conn, &id)?;
        let (current, contract) = find_managed_commitment(conn, &caller, &id)?;
        if_match.check(current.version)?;
        let status = CommitmentStatus::parse(&current.status).unwrap_or(CommitmentStatus::Draft);
        if status == CommitmentStatus::Closed {
            return Err(ApiError::Conflict("the commitment is closed".into()));
        }
        if status == CommitmentStatus::Committed && patch.reason.is_none() {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/reason",
                "REASON_REQUIRED",
                "a committed commitment is corrected with a reason",
            )]));
        }
        let old_years = years_of(conn, &id)?;
        let before = commitment_view(current.clone(), &old_years);
        let row = CommitmentRow {
            payee_id: patch.payee_id.map_or_else(|| current.payee_id.clone(), |id| id.to_string()),
            equipment_id: patch
                .equipment_id
                .map_or_else(|| current.equipment_id.clone(), |id| id.map(|id| id.to_string())),
            programme: patch.programme.map_or_else(|| current.programme.clone(), |p| p.as_str().to_owned()),
            basis: patch.basis.map_or_else(|| current.basis.clone(), |b| b.as_str().to_owned()),
            origin: patch.origin.map_or_else(|| current.origin.clone(), |o| o.as_str().to_owned()),
            unit_amount_cents: patch.unit_amount_cents.unwrap_or(current.unit_amount_cents),
            units: patch.units.unwrap_or(current.units),
            decision_date: patch.decision_date.unwrap_or(current.decision_date),
            version: current.version + 1,
            updated_at: db::now(),
            ..current.clone()
        };
        let sent_years = patch.years.clone().unwrap_or_else(|| before.years.clone());
        let years = check_commitment(conn, &contract, &row, &sent_years)?;
        let years_changed = years != old_years;
        if years_changed {
            super::schedule::reschedule_after_correction(conn, &row, &old_years, &years)?;
        }
        let after = commitment_view(row.clone(), &years);
        let change = Change {
            caller: &caller,
            action: Action::Updated,
            resource: "funding_commitment",
            resource_id: id.clone(),
            reason: patch.reason.clone(),
            before: snapshot(&before),
            after: snapshot(&after),
        };
        if !repo::update(conn, &row, if_match.0, years_changed.then_some(&years), &change)? {
            return Err(ApiError::PreconditionFailed);
        }
        Ok(after)
    })
    .await?;
    Ok(with_etag(view.version, &view))
}

/// Delete a draft commitment (a committed one is closed instead).
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/funding-commitments/{id}")]
pub async fn delete_commitment(
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    db::run_write(&pool, move |conn| {
        // This commitment's money writers take turns from here to the commit, so what is
        // checked below is still true when it is written.
        repo::lock(conn, &id)?;
        let (current, _) = find_managed_commitment(conn, &caller, &id)?;
        if_match.check(current.version)?;
        if current.status != CommitmentStatus::Draft.as_str() || repo::count_payments(conn, &id)? > 0 {
            return Err(ApiError::Conflict("only a draft commitment without payments can be deleted".into()));
        }
        let years = years_of(conn, &id)?;
        let before = commitment_view(current.clone(), &years);
        let change = Change {
            caller: &caller,
            action: Action::Deleted,
            resource: "funding_commitment",
            resource_id: id.clone(),
            reason: None,
            before: snapshot(&before),
            after: None,
        };
        if !repo::delete(conn, &current, if_match.0, db::now(), &change)? {
            return Err(ApiError::PreconditionFailed);
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentAction {
    /// draft → committed: needs a decision date and a signed contract.
    Commit,
    /// committed → closed: no more payments.
    Close,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentTransition {
    pub action: CommitmentAction,
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    pub reason: Option<String>,
}

impl RequestBody for CommitmentTransition {}

/// Commit or close a commitment. Payments need a committed commitment.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = CommitmentTransition, responses((status = 200, body = CommitmentView, headers(("ETag" = String))), TransitionProblems), security(("bearer" = [])))]
#[post("/funding-commitments/{id}/transitions")]
pub async fn transition_commitment(
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    json: ApiJsonWithValue<CommitmentTransition>,
    pool: web::Data<DbPool>,
    req: HttpRequest,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let hash = idempotency::request_hash("POST", req.path(), &json.value);
    let body = json.body;
    let id = id.into_inner().to_string();
    let owner = caller.clone();
    idempotency::run_once(&pool, &owner, key.0, hash, move |conn| {
        // This commitment's money writers take turns from here to the commit, so what is
        // checked below is still true when it is written.
        repo::lock(conn, &id)?;
        let (current, contract) = find_managed_commitment(conn, &caller, &id)?;
        if_match.check(current.version)?;
        let status = CommitmentStatus::parse(&current.status).unwrap_or(CommitmentStatus::Draft);
        let mut unmet = Vec::new();
        let target = match body.action {
            CommitmentAction::Commit => {
                if status != CommitmentStatus::Draft {
                    unmet.push(FieldError::condition(
                        "WRONG_STATUS",
                        format!("commit needs a draft commitment, this one is {status}"),
                    ));
                }
                if current.decision_date.is_none() {
                    unmet.push(FieldError::condition("DECISION_DATE_REQUIRED", "record the decision_date first"));
                }
                if contract.status != "signed" {
                    unmet.push(FieldError::condition(
                        "CONTRACT_NOT_SIGNED",
                        format!("money is committed under a signed contract; this one is {}", contract.status),
                    ));
                }
                CommitmentStatus::Committed
            }
            CommitmentAction::Close => {
                if status != CommitmentStatus::Committed {
                    unmet.push(FieldError::condition(
                        "WRONG_STATUS",
                        format!("close needs a committed commitment, this one is {status}"),
                    ));
                }
                CommitmentStatus::Closed
            }
        };
        if !unmet.is_empty() {
            return Err(ApiError::InvalidStateTransition {
                detail: format!("{} condition(s) unmet", unmet.len()),
                unmet,
            });
        }
        let years = years_of(conn, &id)?;
        let before = commitment_view(current.clone(), &years);
        let row = CommitmentRow {
            status: target.as_str().to_owned(),
            version: current.version + 1,
            updated_at: db::now(),
            ..current
        };
        let after = commitment_view(row.clone(), &years);
        let change = Change {
            caller: &caller,
            action: Action::Transitioned,
            resource: "funding_commitment",
            resource_id: id.clone(),
            reason: body.reason.clone(),
            before: snapshot(&before),
            after: snapshot(&after),
        };
        if !repo::update(conn, &row, if_match.0, None, &change)? {
            return Err(ApiError::PreconditionFailed);
        }
        Answer::ok(after.version, &after)
    })
    .await
}
