//! The project of territory around a contract: its shared diagnostic (`…/diagnostic`, one per
//! contract, created or replaced whole by PUT), its committees (`…/meetings`) and its yearly
//! reviews and final evaluation (`…/evaluations`), and what each party commits to besides money
//! (`…/party-commitments`). Admins and CAF agents write them; whoever reaches the contract reads
//! them.

use actix_web::{HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::problems::{
    ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, ReplaceProblems, UpdateProblems,
};
use crate::db::contracts::ScopedContract;
use crate::db::documents;
use crate::db::project as repo;
pub use crate::db::project::{
    ActionAssessment, AxisAssessment, DiagnosticRow as DiagnosticView, EvaluationRow as EvaluationView, Finding,
    MeetingRow as MeetingView, PartyCommitmentRow as PartyCommitmentView,
};
use crate::db::{DbConnection, action_plan, indicators, parties};
use crate::domain::contract::Field;
use crate::domain::project::{
    self as rules, DiagnosticFacts, EvaluationFacts, EvaluationKind, MeetingFacts, MeetingKind, Period,
};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::preconditions::IfMatch;
use crate::http::requests::{CreateUnder, Parts, Read, Remove, Replace, Update};
use crate::write::{self, Access};

write::resource!(
    DiagnosticView, "diagnostic", |view| id: view.contract_id,
    location: format!("/v1/contracts/{}/diagnostic", view.contract_id),
    version: view.version,
);

write::resource!(
    MeetingView, "meeting", |view| id: view.id,
    location: format!("/v1/contracts/{}/meetings/{}", view.contract_id, view.id),
    version: view.version,
);

write::resource!(
    EvaluationView, "evaluation", |view| id: view.id,
    location: format!("/v1/contracts/{}/evaluations/{}", view.contract_id, view.id),
    version: view.version,
);

write::resource!(
    PartyCommitmentView, "party_commitment", |view| id: view.id,
    location: format!("/v1/contracts/{}/party-commitments/{}", view.contract_id, view.id),
    version: view.version,
);

const CHILD_READ_ONLY: &[&str] = &["id", "version", "created_at", "updated_at", "contract_id"];

/// The whole diagnostic, as PUT creates or replaces it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticBody {
    /// On or before the contract's end_date: a diagnostic usually precedes the contract.
    pub started_on: NaiveDate,
    /// On or after `started_on` and on or before the contract's end_date; absent while under way.
    pub completed_on: Option<NaiveDate>,
    /// The organisations that led it, each a party of the contract.
    #[validate(length(min = 1, max = 50, message = "name 1 to 50 organisations"))]
    #[schema(min_items = 1, max_items = 50)]
    pub led_by: Vec<Uuid>,
    /// The fields it covered, each once.
    #[validate(length(min = 1, max = 20, message = "name 1 to 20 fields"))]
    #[schema(min_items = 1, max_items = 20)]
    pub fields: Vec<Field>,
    /// What it found, each about one of `fields`.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 findings"), custom(function = "finding_texts"))]
    #[schema(max_items = 100)]
    pub findings: Vec<Finding>,
    /// The needs it identified, as short texts.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 needs"), custom(function = "short_texts"))]
    #[schema(max_items = 100)]
    pub needs: Vec<String>,
    /// Codes of catalogue indicators it relied on, each once.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 indicators"))]
    #[schema(max_items = 100)]
    pub indicators: Vec<String>,
    /// The observations it relied on.
    #[validate(length(max = 5000, message = "must have at most 5000 characters"))]
    #[schema(max_length = 5000)]
    pub observations: Option<String>,
}

impl RequestBody for DiagnosticBody {
    const READ_ONLY: &'static [&'static str] = &["version", "created_at", "updated_at", "contract_id"];
}

/// Each finding says something, in 1 to 2000 characters.
fn finding_texts(findings: &[Finding]) -> Result<(), validator::ValidationError> {
    if findings.iter().all(|finding| (1..=2000).contains(&finding.text.trim().chars().count())) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("length").with_message("each text must have 1 to 2000 characters".into()))
    }
}

/// Each text of a list is 1 to 500 characters.
fn short_texts(texts: &[String]) -> Result<(), validator::ValidationError> {
    if texts.iter().all(|text| (1..=500).contains(&text.trim().chars().count())) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("length").with_message("each must have 1 to 500 characters".into()))
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    pub kind: MeetingKind,
    /// Within the contract's period.
    pub held_on: NaiveDate,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    /// The organisations present, each a party of the contract.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 organisations"))]
    #[schema(max_items = 100)]
    pub present: Vec<Uuid>,
    /// What it decided, in order.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 decisions"), custom(function = "short_texts"))]
    #[schema(max_items = 100)]
    pub decisions: Vec<String>,
    #[validate(length(max = 10000, message = "must have at most 10000 characters"))]
    #[schema(max_length = 10_000)]
    pub notes: Option<String>,
}

impl RequestBody for CreateMeeting {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    pub kind: Option<MeetingKind>,
    pub held_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[validate(length(max = 100, message = "at most 100 organisations"))]
    #[schema(max_items = 100)]
    pub present: Option<Vec<Uuid>>,
    #[validate(length(max = 100, message = "at most 100 decisions"), custom(function = "short_texts"))]
    #[schema(max_items = 100)]
    pub decisions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 10000, message = "must have at most 10000 characters"))]
    #[schema(max_length = 10_000)]
    pub notes: Option<Option<String>>,
}

impl RequestBody for MeetingPatch {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

fn period(contract: &ScopedContract) -> Period {
    let row = contract.row();
    Period { start: row.start_date, end: row.end_date }
}

/// Whether each organisation of `ids` may be named: a party of `contract`, or one the record
/// already named. A party that left by amendment stays in the record of what it took part in.
fn are_parties(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    ids: &[Uuid],
    already_named: &[Uuid],
) -> ApiResult<Vec<bool>> {
    ids.iter().map(|id| Ok(already_named.contains(id) || parties::is_party(conn, contract, *id)?)).collect()
}

/// Reads what the diagnostic names, then judges it (see [`rules::check_diagnostic`]).
fn check_diagnostic(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &DiagnosticView,
    already_named: &[Uuid],
) -> ApiResult<()> {
    let leaders_are_parties = are_parties(conn, contract, &row.led_by, already_named)?;
    let indicators_known = row
        .indicators
        .iter()
        .map(|code| indicators::find(conn, code).map(|found| found.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let finding_fields: Vec<Field> = row.findings.iter().map(|finding| finding.field).collect();
    let facts = DiagnosticFacts {
        started_on: row.started_on,
        completed_on: row.completed_on,
        period: period(contract),
        leaders_are_parties: &leaders_are_parties,
        led_by: &row.led_by,
        fields: &row.fields,
        finding_fields: &finding_fields,
        indicators_known: &indicators_known,
        indicators: &row.indicators,
    };
    rules::check_diagnostic(&facts).map_err(ApiError::validation)
}

/// Reads whether those present are parties, then judges the meeting (see [`rules::check_meeting`]).
fn check_meeting(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &MeetingView,
    already_named: &[Uuid],
) -> ApiResult<()> {
    let present_are_parties = are_parties(conn, contract, &row.present, already_named)?;
    let facts = MeetingFacts {
        held_on: row.held_on,
        period: period(contract),
        present_are_parties: &present_are_parties,
        present: &row.present,
    };
    rules::check_meeting(&facts).map_err(ApiError::validation)
}

fn trimmed(texts: Vec<String>) -> Vec<String> {
    texts.into_iter().map(|text| text.trim().to_owned()).collect()
}

/// The shared diagnostic of a contract; 404 until one is recorded.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = DiagnosticView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/diagnostic")]
pub async fn get_diagnostic((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    write::read_part(&pool, caller, id.into_inner(), |conn, contract| Ok(repo::find_diagnostic(conn, contract)?)).await
}

/// Record the shared diagnostic of a contract, or replace it whole.
///
/// Without a diagnostic yet it is created without `If-Match` (201); once there is one, it is
/// replaced with the `If-Match` of its last read (200). Its fields are the contract's field codes,
/// whether or not the contract kept them all. Who may call it: admins and CAF agents of the
/// contract's département; an integration or a collectivity that reaches the contract gets 403, and
/// another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The ETag last read; required once the contract has a diagnostic, refused before")), request_body = DiagnosticBody, responses((status = 200, body = DiagnosticView, headers(("ETag" = String))), (status = 201, body = DiagnosticView, headers(("ETag" = String), ("Location" = String))), ReplaceProblems), security(("bearer" = [])))]
#[put("/contracts/{id}/diagnostic")]
pub async fn put_diagnostic(
    (caller, id, if_match, body, pool): Replace<Uuid, DiagnosticBody>,
) -> ApiResult<HttpResponse> {
    let ApiJson(body) = body;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = repo::find_diagnostic(change.conn, &change.contract)?;
        match (&current, &if_match) {
            (Some(current), _) => change.check(&if_match, current.version)?,
            (None, IfMatch::Missing) => {}
            // Unreadable is 400 whatever the resource; `check` says so the usual way.
            (None, IfMatch::Malformed) => if_match.check(0)?,
            // RFC 9110 §13.1.1: If-Match on a resource that does not exist is false.
            (None, IfMatch::Any | IfMatch::Tags(_)) => return Err(ApiError::PreconditionFailed),
        }
        change.require_open()?;
        let row = DiagnosticView {
            contract_id,
            started_on: body.started_on,
            completed_on: body.completed_on,
            led_by: body.led_by,
            fields: body.fields,
            findings: body
                .findings
                .into_iter()
                .map(|finding| Finding { text: finding.text.trim().to_owned(), ..finding })
                .collect(),
            needs: trimmed(body.needs),
            indicators: body.indicators,
            observations: body.observations,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        let already_named = current.as_ref().map(|current| current.led_by.clone()).unwrap_or_default();
        check_diagnostic(change.conn, &change.contract, &row, &already_named)?;
        let mut row = row;
        // One set of fields has one form, as the column keeps it.
        row.fields.sort_unstable();
        match current {
            None => {
                repo::put_diagnostic(change.conn, &change.contract, &row, false)?;
                change.created(&row)
            }
            Some(current) => {
                let row =
                    change.next(DiagnosticView { version: current.version, created_at: current.created_at, ..row });
                repo::put_diagnostic(change.conn, &change.contract, &row, true)?;
                change.updated(&current, &row, None)
            }
        }
    })
    .await
}

/// Remove the diagnostic of a contract.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/diagnostic")]
pub async fn delete_diagnostic((caller, id, if_match, pool): Remove<Uuid>) -> ApiResult<HttpResponse> {
    write::change_contract(&pool, caller, Retry::none(), id.into_inner(), Access::Manage, move |change| {
        let current = change.current(&if_match, repo::find_diagnostic)?;
        repo::delete_diagnostic(change.conn, &change.contract)?;
        change.deleted(&current)
    })
    .await
}

/// The committees of a contract, by date.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = crate::http::pagination::Page<MeetingView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/meetings")]
pub async fn list_meetings((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| Ok(repo::meetings(conn, contract)?)).await
}

/// One committee.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("meeting_id" = Uuid, Path)), responses((status = 200, body = MeetingView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/meetings/{meeting_id}")]
pub async fn get_meeting((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| Ok(repo::find_meeting(conn, contract, id)?))
        .await
}

/// Record a COPIL, COTECH or thematic committee held within the contract's period, with the parties
/// present and what it decided.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateMeeting, responses((status = 201, body = MeetingView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/meetings")]
pub async fn create_meeting((caller, id, request, pool): CreateUnder<Uuid, CreateMeeting>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let row = MeetingView {
            id: Uuid::new_v4(),
            contract_id,
            kind: body.kind,
            held_on: body.held_on,
            title: body.title.trim().to_owned(),
            present: body.present,
            decisions: trimmed(body.decisions),
            notes: body.notes,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        check_meeting(change.conn, &change.contract, &row, &[])?;
        repo::insert_meeting(change.conn, &change.contract, &row)?;
        change.created(&row)
    })
    .await
}

/// Change a committee; a list sent replaces the one recorded.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("meeting_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = MeetingPatch, responses((status = 200, body = MeetingView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/meetings/{meeting_id}")]
pub async fn update_meeting(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), MeetingPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_meeting(conn, contract, id))?;
        let row = change.next(MeetingView {
            kind: patch.kind.unwrap_or(current.kind),
            held_on: patch.held_on.unwrap_or(current.held_on),
            title: patch.title.map_or_else(|| current.title.clone(), |title| title.trim().to_owned()),
            present: patch.present.unwrap_or_else(|| current.present.clone()),
            decisions: patch.decisions.map_or_else(|| current.decisions.clone(), trimmed),
            notes: patch.notes.unwrap_or_else(|| current.notes.clone()),
            ..current.clone()
        });
        check_meeting(change.conn, &change.contract, &row, &current.present)?;
        repo::update_meeting(change.conn, &change.contract, &row)?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove a committee recorded by mistake.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("meeting_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/meetings/{meeting_id}")]
pub async fn delete_meeting((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_meeting(conn, contract, id))?;
        documents::refuse_if_linked(change.conn, &change.contract, documents::Link::Meeting(id))?;
        repo::delete_meeting(change.conn, &change.contract, id)?;
        change.deleted(&current)
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvaluation {
    pub kind: EvaluationKind,
    /// The year of the contract a yearly review reviews; absent for the final evaluation.
    #[schema(example = 2025)]
    pub year: Option<i64>,
    /// On or after the contract's start_date.
    pub held_on: NaiveDate,
    /// Assessments of the contract's axes, each axis once.
    #[serde(default)]
    #[validate(length(max = 200, message = "at most 200 axes"), custom(function = "axis_comments"))]
    #[schema(max_items = 200)]
    pub axes: Vec<AxisAssessment>,
    /// Assessments of the contract's actions, each action once.
    #[serde(default)]
    #[validate(length(max = 500, message = "at most 500 actions"), custom(function = "action_comments"))]
    #[schema(max_items = 500)]
    pub actions: Vec<ActionAssessment>,
    #[validate(length(max = 10000, message = "must have at most 10000 characters"))]
    #[schema(max_length = 10_000)]
    pub summary: Option<String>,
}

impl RequestBody for CreateEvaluation {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

/// Changes to an evaluation; a list sent replaces the one recorded. Its kind stays: a yearly
/// review and the final evaluation are recorded each on its own.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub year: Option<Option<i64>>,
    pub held_on: Option<NaiveDate>,
    #[validate(length(max = 200, message = "at most 200 axes"), custom(function = "axis_comments"))]
    #[schema(max_items = 200)]
    pub axes: Option<Vec<AxisAssessment>>,
    #[validate(length(max = 500, message = "at most 500 actions"), custom(function = "action_comments"))]
    #[schema(max_items = 500)]
    pub actions: Option<Vec<ActionAssessment>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 10000, message = "must have at most 10000 characters"))]
    #[schema(max_length = 10_000)]
    pub summary: Option<Option<String>>,
}

impl RequestBody for EvaluationPatch {
    const READ_ONLY: &'static [&'static str] = &["id", "version", "created_at", "updated_at", "contract_id", "kind"];
}

/// A comment says something in at most 2000 characters, or is left out.
fn comments_fit<'a>(comments: impl IntoIterator<Item = &'a Option<String>>) -> Result<(), validator::ValidationError> {
    if comments.into_iter().flatten().all(|comment| comment.chars().count() <= 2000) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("length")
            .with_message("each comment must have at most 2000 characters".into()))
    }
}

fn axis_comments(axes: &[AxisAssessment]) -> Result<(), validator::ValidationError> {
    comments_fit(axes.iter().map(|axis| &axis.comment))
}

fn action_comments(actions: &[ActionAssessment]) -> Result<(), validator::ValidationError> {
    comments_fit(actions.iter().map(|action| &action.comment))
}

/// Reads whether the axes and actions assessed are the contract's, then judges the evaluation
/// (see [`rules::check_evaluation`]); 409 when the contract already has its final evaluation, or
/// a review of that year.
fn check_evaluation(conn: &mut DbConnection, contract: &ScopedContract, row: &EvaluationView) -> ApiResult<()> {
    let axes = row
        .axes
        .iter()
        .map(|axis| Ok((axis.axis_id, action_plan::find_axis(conn, contract, axis.axis_id)?.is_some())))
        .collect::<ApiResult<Vec<_>>>()?;
    let actions = row
        .actions
        .iter()
        .map(|action| Ok((action.action_id, action_plan::find_action(conn, contract, action.action_id)?.is_some())))
        .collect::<ApiResult<Vec<_>>>()?;
    let facts = EvaluationFacts {
        kind: row.kind,
        year: row.year,
        held_on: row.held_on,
        period: period(contract),
        axes: &axes,
        actions: &actions,
    };
    rules::check_evaluation(&facts).map_err(ApiError::validation)?;
    let others: Vec<_> = repo::evaluations(conn, contract)?
        .into_iter()
        .filter(|other| other.id != row.id)
        .map(|other| (other.kind, other.year))
        .collect();
    if !rules::evaluation_is_free(row.kind, row.year, &others) {
        return Err(ApiError::Conflict(match (row.kind, row.year) {
            (EvaluationKind::YearlyReview, Some(year)) => format!("the contract already has its review of {year}"),
            _ => "the contract already has its final evaluation".into(),
        }));
    }
    Ok(())
}

/// The yearly reviews and final evaluation of a contract, by date.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = crate::http::pagination::Page<EvaluationView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/evaluations")]
pub async fn list_evaluations((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| Ok(repo::evaluations(conn, contract)?)).await
}

/// One evaluation.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("evaluation_id" = Uuid, Path)), responses((status = 200, body = EvaluationView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/evaluations/{evaluation_id}")]
pub async fn get_evaluation((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| Ok(repo::find_evaluation(conn, contract, id)?))
        .await
}

/// Record a yearly review or the final evaluation of a contract.
///
/// Record a yearly review of one of the contract's years, or its final evaluation (one per
/// contract, 409 for a second; likewise one review a year), assessing its axes and actions. Who may
/// call it: admins and CAF agents of the contract's département; an integration or a collectivity
/// that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateEvaluation, responses((status = 201, body = EvaluationView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/evaluations")]
pub async fn create_evaluation(
    (caller, id, request, pool): CreateUnder<Uuid, CreateEvaluation>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let row = EvaluationView {
            id: Uuid::new_v4(),
            contract_id,
            kind: body.kind,
            year: body.year,
            held_on: body.held_on,
            axes: body.axes,
            actions: body.actions,
            summary: body.summary,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        check_evaluation(change.conn, &change.contract, &row)?;
        repo::insert_evaluation(change.conn, &change.contract, &row)?;
        change.created(&row)
    })
    .await
}

/// Change an evaluation; a list sent replaces the one recorded.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("evaluation_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = EvaluationPatch, responses((status = 200, body = EvaluationView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/evaluations/{evaluation_id}")]
pub async fn update_evaluation(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), EvaluationPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_evaluation(conn, contract, id))?;
        let row = change.next(EvaluationView {
            year: patch.year.unwrap_or(current.year),
            held_on: patch.held_on.unwrap_or(current.held_on),
            axes: patch.axes.unwrap_or_else(|| current.axes.clone()),
            actions: patch.actions.unwrap_or_else(|| current.actions.clone()),
            summary: patch.summary.unwrap_or_else(|| current.summary.clone()),
            ..current.clone()
        });
        check_evaluation(change.conn, &change.contract, &row)?;
        repo::update_evaluation(change.conn, &change.contract, &row)?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove an evaluation recorded by mistake.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("evaluation_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/evaluations/{evaluation_id}")]
pub async fn delete_evaluation((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_evaluation(conn, contract, id))?;
        documents::refuse_if_linked(change.conn, &change.contract, documents::Link::Evaluation(id))?;
        repo::delete_evaluation(change.conn, &change.contract, id)?;
        change.deleted(&current)
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartyCommitment {
    /// A party of the contract (the id under `/parties`).
    pub party_id: Uuid,
    /// One of the contract's fields, when the commitment is about one.
    pub field: Option<Field>,
    #[validate(length(min = 1, max = 2000, message = "must have 1 to 2000 characters"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// Whether this is the CAF's engineering support; defaults to false.
    #[serde(default)]
    pub engineering_support: bool,
}

impl RequestBody for CreatePartyCommitment {
    const READ_ONLY: &'static [&'static str] = CHILD_READ_ONLY;
}

/// Changes to a party's commitment. It stays the commitment of the party that made it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyCommitmentPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub field: Option<Option<Field>>,
    #[validate(length(min = 1, max = 2000, message = "must have 1 to 2000 characters"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub text: Option<String>,
    pub engineering_support: Option<bool>,
}

impl RequestBody for PartyCommitmentPatch {
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "created_at", "updated_at", "contract_id", "party_id"];
}

/// Reads whether the party is the contract's, then judges the commitment (see
/// [`rules::check_party_commitment`]).
fn check_party_commitment(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &PartyCommitmentView,
) -> ApiResult<()> {
    let party_known = parties::find(conn, contract, row.party_id)?.is_some();
    rules::check_party_commitment(party_known, row.field, &contract.row().fields).map_err(ApiError::validation)
}

/// What the parties of a contract commit to besides money, by party.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = crate::http::pagination::Page<PartyCommitmentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/party-commitments")]
pub async fn list_party_commitments((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| Ok(repo::party_commitments(conn, contract)?))
        .await
}

/// One commitment of a party.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("commitment_id" = Uuid, Path)), responses((status = 200, body = PartyCommitmentView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/party-commitments/{commitment_id}")]
pub async fn get_party_commitment((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| {
        Ok(repo::find_party_commitment(conn, contract, id)?)
    })
    .await
}

/// Record what a party commits to besides money: staff, premises, communication, or the CAF's
/// engineering support (`engineering_support`).
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreatePartyCommitment, responses((status = 201, body = PartyCommitmentView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/party-commitments")]
pub async fn create_party_commitment(
    (caller, id, request, pool): CreateUnder<Uuid, CreatePartyCommitment>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let row = PartyCommitmentView {
            id: Uuid::new_v4(),
            contract_id,
            party_id: body.party_id,
            field: body.field,
            text: body.text.trim().to_owned(),
            engineering_support: body.engineering_support,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        check_party_commitment(change.conn, &change.contract, &row)?;
        repo::insert_party_commitment(change.conn, &change.contract, &row)?;
        change.created(&row)
    })
    .await
}

/// Change a party's commitment.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("commitment_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = PartyCommitmentPatch, responses((status = 200, body = PartyCommitmentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/party-commitments/{commitment_id}")]
pub async fn update_party_commitment(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), PartyCommitmentPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_party_commitment(conn, contract, id))?;
        let row = change.next(PartyCommitmentView {
            field: patch.field.unwrap_or(current.field),
            text: patch.text.map_or_else(|| current.text.clone(), |text| text.trim().to_owned()),
            engineering_support: patch.engineering_support.unwrap_or(current.engineering_support),
            ..current.clone()
        });
        check_party_commitment(change.conn, &change.contract, &row)?;
        repo::update_party_commitment(change.conn, &change.contract, &row)?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove a party's commitment.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("commitment_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/party-commitments/{commitment_id}")]
pub async fn delete_party_commitment((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let current = change.current(&if_match, |conn, contract| repo::find_party_commitment(conn, contract, id))?;
        repo::delete_party_commitment(change.conn, &change.contract, id)?;
        change.deleted(&current)
    })
    .await
}
