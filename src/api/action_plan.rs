//! The action plan of a contract: axes (priorities) and actions (fiches actions). Admins and CAF
//! agents write it; the collectivity piloting an action records its progress.

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::problems::{ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, UpdateProblems};
use crate::auth::Caller;
use crate::db::action_plan as repo;
pub use crate::db::action_plan::{ActionRow as ActionView, AxisRow as AxisView};
use crate::db::contracts::ScopedContract;
use crate::db::{DbConnection, documents, organisations, parties};
use crate::domain::contract::{self as rules, ActionFacts, ActionStatus, Field};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::ApiQuery;
use crate::http::requests::{CreateUnder, ListUnder, Parts, Read, Remove, Update};
use crate::write::{self, Access};

const CHILD_READ_ONLY: &[&str] = &["id", "version", "created_at", "updated_at", "contract_id"];

write::resource!(
    AxisView, "axis", |view| id: view.id,
    location: format!("/v1/contracts/{}/axes/{}", view.contract_id, view.id),
    version: view.version,
);

write::resource!(
    ActionView, "action", |view| id: view.id,
    location: format!("/v1/contracts/{}/actions/{}", view.contract_id, view.id),
    version: view.version,
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAxis {
    #[validate(length(min = 1, max = 20, message = "must have 1 to 20 characters"))]
    #[schema(min_length = 1, max_length = 20)]
    pub code: String,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    pub field: Option<Field>,
    /// Order in the plan; defaults to after the last axis.
    #[validate(range(min = 0, max = 10_000, message = "must be between 0 and 10000"))]
    #[schema(minimum = 0, maximum = 10_000)]
    pub position: Option<i64>,
}

impl RequestBody for CreateAxis {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AxisPatch {
    #[validate(length(min = 1, max = 20, message = "must have 1 to 20 characters"))]
    #[schema(min_length = 1, max_length = 20)]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub field: Option<Option<Field>>,
    #[validate(range(min = 0, max = 10_000, message = "must be between 0 and 10000"))]
    #[schema(minimum = 0, maximum = 10_000)]
    pub position: Option<i64>,
}

impl RequestBody for AxisPatch {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAction {
    pub axis_id: Option<Uuid>,
    #[validate(length(min = 1, max = 20, message = "must have 1 to 20 characters"))]
    #[schema(min_length = 1, max_length = 20)]
    pub code: String,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[validate(length(max = 5000, message = "must have at most 5000 characters"))]
    #[schema(max_length = 5000)]
    pub objective: Option<String>,
    pub field: Option<Field>,
    pub pilot_organisation_id: Option<Uuid>,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    /// Defaults to `planned`.
    pub status: Option<ActionStatus>,
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub estimated_budget_cents: Option<i64>,
}

impl RequestBody for CreateAction {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

/// Changes to an action. The collectivity piloting it may change `status`, `actual_start` and
/// `actual_end` only.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub axis_id: Option<Option<Uuid>>,
    #[validate(length(min = 1, max = 20, message = "must have 1 to 20 characters"))]
    #[schema(min_length = 1, max_length = 20)]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 5000, message = "must have at most 5000 characters"))]
    #[schema(max_length = 5000)]
    pub objective: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub field: Option<Option<Field>>,
    #[serde(default, deserialize_with = "nullable")]
    pub pilot_organisation_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub planned_start: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub planned_end: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub actual_start: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub actual_end: Option<Option<NaiveDate>>,
    pub status: Option<ActionStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub estimated_budget_cents: Option<Option<i64>>,
}

impl RequestBody for ActionPatch {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

impl ActionPatch {
    /// Whether the patch touches only the progress a pilot may report.
    fn is_progress_only(&self) -> bool {
        self.axis_id.is_none()
            && self.code.is_none()
            && self.title.is_none()
            && self.objective.is_none()
            && self.field.is_none()
            && self.pilot_organisation_id.is_none()
            && self.planned_start.is_none()
            && self.planned_end.is_none()
            && self.estimated_budget_cents.is_none()
    }
}

/// Reads whether the action's axis and pilot belong to its contract, then judges the action (see
/// [`rules::check_action`]). The pilot it had keeps it, even once that party left the contract by
/// amendment: the action's record stays true.
fn check_action(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &ActionView,
    pilot_before: Option<Uuid>,
) -> ApiResult<()> {
    let axis_known = match row.axis_id {
        Some(axis_id) => repo::find_axis(conn, contract, axis_id)?.is_some(),
        None => true,
    };
    let pilot_is_party = match row.pilot_organisation_id {
        Some(pilot) => pilot_before == Some(pilot) || parties::is_party(conn, contract, pilot)?,
        None => true,
    };
    let facts = ActionFacts {
        axis_known,
        pilot_is_party,
        planned: (row.planned_start, row.planned_end),
        actual: (row.actual_start, row.actual_end),
    };
    rules::check_action(&facts).map_err(ApiError::validation)
}

/// 409 while an evaluation of the contract assesses the axis or action `id`: the assessment
/// would point at nothing.
fn refuse_if_assessed(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid, what: &str) -> ApiResult<()> {
    let assessed = crate::db::project::evaluations(conn, contract)?.iter().any(|evaluation| {
        evaluation.axes.iter().any(|axis| axis.axis_id == id)
            || evaluation.actions.iter().any(|action| action.action_id == id)
    });
    if assessed {
        return Err(ApiError::Conflict(format!("an evaluation of the contract assesses this {what}")));
    }
    Ok(())
}

/// A write of an axis or an action, answered 409 when its code is taken in the contract.
fn code_in_use(error: diesel::result::Error, what: &str, code: &str) -> ApiError {
    ApiError::from_write(error, || format!("{what} {code} already exists in this contract"))
}

/// The axes of a contract, in plan order.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<AxisView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/axes")]
pub async fn list_axes((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| Ok(repo::axes(conn, contract)?)).await
}

/// One axis.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("axis_id" = Uuid, Path)), responses((status = 200, body = AxisView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/axes/{axis_id}")]
pub async fn get_axis((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| Ok(repo::find_axis(conn, contract, id)?)).await
}

/// Add an axis to the action plan.
///
/// Codes are unique within the contract. Who may call it: admins and CAF agents of the contract's
/// département; an integration or a collectivity that reaches the contract gets 403, and another
/// contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateAxis, responses((status = 201, body = AxisView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/axes")]
pub async fn create_axis((caller, id, request, pool): CreateUnder<Uuid, CreateAxis>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let position = match body.position {
            Some(position) => position,
            None => repo::axes(change.conn, &change.contract)?.iter().map(|axis| axis.position).max().unwrap_or(0) + 1,
        };
        let row = AxisView {
            id: Uuid::new_v4(),
            contract_id,
            code: body.code,
            title: body.title.trim().to_owned(),
            field: body.field,
            position,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert_axis(change.conn, &change.contract, &row)
            .map_err(|error| code_in_use(error, "axis", &row.code))?;
        change.created(&row)
    })
    .await
}

/// Change an axis.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("axis_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = AxisPatch, responses((status = 200, body = AxisView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/axes/{axis_id}")]
pub async fn update_axis(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), AxisPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_axis(conn, contract, id))?;
        let row = change.next(AxisView {
            code: patch.code.unwrap_or_else(|| current.code.clone()),
            title: patch.title.map_or_else(|| current.title.clone(), |title| title.trim().to_owned()),
            field: patch.field.unwrap_or(current.field),
            position: patch.position.unwrap_or(current.position),
            ..current.clone()
        });
        repo::update_axis(change.conn, &change.contract, &row)
            .map_err(|error| code_in_use(error, "axis", &row.code))?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove an axis that no action belongs to any more.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("axis_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/axes/{axis_id}")]
pub async fn delete_axis((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_axis(conn, contract, id))?;
        let actions = repo::actions_of_axis(change.conn, id)?;
        if actions > 0 {
            return Err(ApiError::Conflict(format!("{actions} action(s) still belong to this axis")));
        }
        refuse_if_assessed(change.conn, &change.contract, id, "axis")?;
        repo::delete_axis(change.conn, &change.contract, id)?;
        change.deleted(&current)
    })
    .await
}

/// The actions of a contract, by code.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = Page<ActionView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/actions")]
pub async fn list_actions((caller, id, query, pool, tokens): ListUnder<Uuid, PageQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let contract_id = id.into_inner();
    let binding = format!("actions|{contract_id}|{}", caller.fingerprint());
    let by_code = |row: &ActionView| row.code.clone();
    write::read_page(&pool, tokens, query.params(), binding, by_code, move |conn, after, limit| {
        let contract = write::scoped(conn, &caller, contract_id)?;
        Ok(repo::actions(conn, &contract, after, limit)?)
    })
    .await
}

/// One action.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("action_id" = Uuid, Path)), responses((status = 200, body = ActionView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/actions/{action_id}")]
pub async fn get_action((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| Ok(repo::find_action(conn, contract, id)?)).await
}

/// Add an action.
///
/// Its axis belongs to the contract and its pilot is a party of it. Who may call it: admins and CAF
/// agents of the contract's département; an integration or a collectivity that reaches the contract
/// gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateAction, responses((status = 201, body = ActionView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/actions")]
pub async fn create_action((caller, id, request, pool): CreateUnder<Uuid, CreateAction>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let row = ActionView {
            id: Uuid::new_v4(),
            contract_id,
            axis_id: body.axis_id,
            code: body.code,
            title: body.title.trim().to_owned(),
            objective: body.objective,
            field: body.field,
            pilot_organisation_id: body.pilot_organisation_id,
            planned_start: body.planned_start,
            planned_end: body.planned_end,
            actual_start: body.actual_start,
            actual_end: body.actual_end,
            status: body.status.unwrap_or(ActionStatus::Planned),
            estimated_budget_cents: body.estimated_budget_cents,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        check_action(change.conn, &change.contract, &row, None)?;
        repo::insert_action(change.conn, &change.contract, &row)
            .map_err(|error| code_in_use(error, "action", &row.code))?;
        change.created(&row)
    })
    .await
}

/// Whether the caller is the collectivity piloting `row`.
pub(crate) fn pilots(conn: &mut DbConnection, caller: &Caller, row: &ActionView) -> ApiResult<bool> {
    let Some(pilot) = row.pilot_organisation_id else {
        return Ok(false);
    };
    let sirens = caller.sirens();
    Ok(organisations::find(conn, pilot)?
        .and_then(|organisation| organisation.siren)
        .is_some_and(|siren| sirens.contains(&siren)))
}

/// Change an action.
///
/// The collectivity piloting it may report its progress (`status`, `actual_start`, `actual_end`)
/// and nothing else. Who may call it: admins and CAF agents of the contract's département, and a
/// collectivity party to it for its own part only; an integration gets 403, and another contract
/// answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("action_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = ActionPatch, responses((status = 200, body = ActionView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/actions/{action_id}")]
pub async fn update_action(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), ActionPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Reach, move |change| {
        let current = repo::find_action(change.conn, &change.contract, id)?.ok_or(ApiError::NotFound)?;
        let pilot_reporting_progress = patch.is_progress_only() && pilots(change.conn, change.caller, &current)?;
        if !(change.caller.manages_contracts() || pilot_reporting_progress) {
            return Err(ApiError::Forbidden(
                "only the pilot collectivity reports this action's progress (status, actual_start, actual_end)".into(),
            ));
        }
        change.ready(&if_match, current.version)?;
        let row = change.next(ActionView {
            axis_id: patch.axis_id.unwrap_or(current.axis_id),
            code: patch.code.unwrap_or_else(|| current.code.clone()),
            title: patch.title.map_or_else(|| current.title.clone(), |title| title.trim().to_owned()),
            objective: patch.objective.unwrap_or_else(|| current.objective.clone()),
            field: patch.field.unwrap_or(current.field),
            pilot_organisation_id: patch.pilot_organisation_id.unwrap_or(current.pilot_organisation_id),
            planned_start: patch.planned_start.unwrap_or(current.planned_start),
            planned_end: patch.planned_end.unwrap_or(current.planned_end),
            actual_start: patch.actual_start.unwrap_or(current.actual_start),
            actual_end: patch.actual_end.unwrap_or(current.actual_end),
            status: patch.status.unwrap_or(current.status),
            estimated_budget_cents: patch.estimated_budget_cents.unwrap_or(current.estimated_budget_cents),
            ..current.clone()
        });
        check_action(change.conn, &change.contract, &row, current.pilot_organisation_id)?;
        repo::update_action(change.conn, &change.contract, &row)
            .map_err(|error| code_in_use(error, "action", &row.code))?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove an action.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("action_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/actions/{action_id}")]
pub async fn delete_action((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_action(conn, contract, id))?;
        refuse_if_assessed(change.conn, &change.contract, id, "action")?;
        documents::refuse_if_linked(change.conn, &change.contract, documents::Link::Action(id))?;
        repo::delete_action(change.conn, &change.contract, id)?;
        change.deleted(&current)
    })
    .await
}
