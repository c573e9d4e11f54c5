//! Amendments (avenants): the only way to change a signed contract's period, perimeter or fields
//! (and a way to change its title). Recorded and applied in one transaction, numbered 1, 2, …,
//! kept with before and after.

use actix_web::{HttpResponse, get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::contracts::{ContractDraft, ContractView, PerimeterInput, check_draft, draft_view, view_one};
use super::problems::{ChildListProblems, GuardedChildProblems, ReadProblems};
use crate::db::amendments::{self as repo, AmendmentRow};
use crate::db::contracts::{self as contracts_repo, ContractRow, Perimeter};
use crate::db::{self};
use crate::domain::amendments::{AmendedFacts, check_amendment};
use crate::domain::contract::{Field, RecordedStatus};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::RequestBody;
use crate::http::idempotency::IdempotentJson;
use crate::http::pagination::Page;
use crate::http::requests::{Parts, Read, Transition};
use crate::write::{self, Access};

/// What an amendment changes; at least one of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentChanges {
    pub end_date: Option<NaiveDate>,
    pub fields: Option<Vec<Field>>,
    pub perimeter: Option<PerimeterInput>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    pub title: Option<String>,
}

impl AmendmentChanges {
    fn is_empty(&self) -> bool {
        self.end_date.is_none() && self.fields.is_none() && self.perimeter.is_none() && self.title.is_none()
    }
}

/// The amended part of a contract.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendedTerms {
    pub title: String,
    pub end_date: NaiveDate,
    pub fields: Vec<Field>,
    pub perimeter: crate::api::contracts::PerimeterView,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendmentView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub number: i64,
    pub signed_on: NaiveDate,
    pub effective_on: NaiveDate,
    pub rationale: String,
    pub changes: AmendmentChanges,
    pub before: AmendedTerms,
    pub after: AmendedTerms,
    pub created_at: String,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> ApiResult<T> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

write::resource!(
    AmendmentView, "amendment", |view| id: view.id,
    location: format!("/v1/contracts/{}/amendments/{}", view.contract_id, view.id),
);

fn amendment_view(row: AmendmentRow) -> ApiResult<AmendmentView> {
    Ok(AmendmentView {
        id: row.id,
        contract_id: row.contract_id,
        number: row.number,
        signed_on: row.signed_on,
        effective_on: row.effective_on,
        rationale: row.rationale,
        changes: parse(&row.changes)?,
        before: parse(&row.before)?,
        after: parse(&row.after)?,
        created_at: db::rfc3339(row.created_at),
    })
}

fn terms(view: &ContractView) -> AmendedTerms {
    AmendedTerms {
        title: view.title.clone(),
        end_date: view.end_date,
        fields: view.fields.clone(),
        perimeter: view.perimeter.clone(),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAmendment {
    pub signed_on: NaiveDate,
    pub effective_on: NaiveDate,
    #[validate(length(min = 1, max = 5000, message = "must have 1 to 5000 characters"))]
    pub rationale: String,
    #[validate(nested)]
    pub changes: AmendmentChanges,
}

impl RequestBody for CreateAmendment {
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "status", "created_at", "updated_at", "contract_id", "number", "before", "after"];
}

/// The amendments of a contract, by number.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<AmendmentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/amendments")]
pub async fn list_amendments((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| {
        repo::list(conn, contract)?.into_iter().map(amendment_view).collect()
    })
    .await
}

/// One amendment.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("amendment_id" = Uuid, Path)), responses((status = 200, body = AmendmentView), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/amendments/{amendment_id}")]
pub async fn get_amendment((caller, ids, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| {
        repo::find(conn, contract, id)?.map(amendment_view).transpose()
    })
    .await
}

/// Record an amendment to a signed contract and apply its changes to the contract, atomically.
/// `If-Match` carries the contract's ETag.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The contract's ETag last read")), request_body = CreateAmendment, responses((status = 201, body = AmendmentView, headers(("Location" = String))), GuardedChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/amendments")]
pub async fn create_amendment(
    (caller, id, if_match, request, pool): Transition<Uuid, CreateAmendment>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        let current = change.contract.row().clone();
        change.check(&if_match, current.version)?;
        if change.contract.row().status != RecordedStatus::Signed {
            return Err(ApiError::Conflict(format!(
                "amendments apply to signed contracts; this one is {}",
                current.status
            )));
        }
        let changes = &body.changes;
        if changes.is_empty() {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/changes",
                "EMPTY_CHANGES",
                "an amendment changes at least one of end_date, fields, perimeter, title",
            )]));
        }
        let before_view = view_one(change.conn, current.clone())?;
        let draft = amended_draft(&before_view, changes);
        check_draft(change.conn, &change.caller.scope(), &draft, Some(&current.id))
            .map_err(|error| prefix_pointers(error, "/changes"))?;
        let errors = check_amendment(&AmendedFacts {
            kind: draft.kind,
            new_fields: changes.fields.is_some().then_some(&draft.fields),
            new_perimeter_size: changes.perimeter.is_some().then(|| draft.perimeter.len()),
            start_date: current.start_date,
            end_date: draft.end_date,
            effective_on: body.effective_on,
        });
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let row = change.next(ContractRow {
            title: draft.title.clone(),
            end_date: draft.end_date,
            fields: draft.fields.iter().copied().collect(),
            ..current
        });
        let predecessor_ids: Vec<String> = before_view.predecessor_ids.iter().map(Uuid::to_string).collect();
        let after_view = draft_view(change.conn, row.clone(), &draft.perimeter, &predecessor_ids)?;
        let amendment = AmendmentRow {
            id: Uuid::new_v4(),
            contract_id,
            number: repo::next_number(change.conn, &change.contract)?,
            signed_on: body.signed_on,
            effective_on: body.effective_on,
            rationale: body.rationale.trim().to_owned(),
            changes: serde_json::to_string(changes).map_err(ApiError::internal)?,
            before: serde_json::to_string(&terms(&before_view)).map_err(ApiError::internal)?,
            after: serde_json::to_string(&terms(&after_view)).map_err(ApiError::internal)?,
            created_at: change.at,
        };
        let perimeter = changes.perimeter.is_some().then_some(&draft.perimeter);
        contracts_repo::write(change.conn, &mut change.contract, row, perimeter, None)?;
        repo::insert(change.conn, &change.contract, &amendment)?;
        let reason = format!("amendment {}: {}", amendment.number, amendment.rationale);
        change.amended(&before_view, &after_view, &amendment_view(amendment)?, &reason)
    })
    .await
}

/// The contract's terms with the amendment's changes applied. Its predecessors stay out of the
/// draft: an amendment does not change them, and they were checked when the contract was signed.
fn amended_draft(before: &ContractView, changes: &AmendmentChanges) -> ContractDraft {
    let stored = ContractDraft::of(before);
    ContractDraft {
        title: changes.title.as_ref().map_or(stored.title, |title| title.trim().to_owned()),
        end_date: changes.end_date.unwrap_or(stored.end_date),
        fields: changes.fields.as_ref().map_or(stored.fields, |fields| fields.iter().copied().collect()),
        perimeter: changes.perimeter.as_ref().map_or(stored.perimeter, |perimeter| Perimeter {
            epcis: perimeter.epcis.clone(),
            communes: perimeter.communes.clone(),
        }),
        predecessor_ids: Vec::new(),
        ..stored
    }
}

/// Moves the pointers of a draft's validation errors under `/changes`, where the amendment
/// body holds them.
fn prefix_pointers(error: ApiError, prefix: &str) -> ApiError {
    match error {
        ApiError::ValidationFailed(errors) => ApiError::ValidationFailed(
            errors
                .into_iter()
                .map(|mut error| {
                    error.pointer = error.pointer.map(|pointer| format!("{prefix}{pointer}"));
                    error
                })
                .collect(),
        ),
        other => other,
    }
}
