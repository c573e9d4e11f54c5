//! The evidence behind a year's actual entitlement (`/v1/funding-commitments/{id}/evidence`) and
//! the kinds each programme requires (`/v1/evidence-requirements`). The collectivity managing the
//! commitment's equipment records what it sent; only the CAF validates it. A year's actual
//! entitlement waits for every required kind to be received, its balance for every one to be
//! validated.

use actix_web::{HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::funding::find_commitment;
use super::problems::{
    ChildListProblems, CreateChildProblems, DeleteProblems, ListProblems, ReadProblems, ReplaceReferenceProblems,
    UpdateProblems,
};
use crate::auth::{Caller, Role};
use crate::db::documents;
use crate::db::evidence as repo;
pub use crate::db::evidence::EvidenceRow as EvidenceView;
use crate::db::funding::CommitmentRow;
use crate::db::{self, DbConnection, equipments, organisations};
use crate::domain::evidence::{self as rules, Stage, Writer};
use crate::domain::funding::{CommitmentStatus, EvidenceKind, Programme};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::Page;
use crate::http::query::NoParameters;
use crate::http::requests::{CreateUnder, List, Parts, Read, Remove, Update};
use crate::write::{self, Access, ContractChange};

write::resource!(
    EvidenceView, "evidence", |view| id: view.id,
    location: format!("/v1/funding-commitments/{}/evidence/{}", view.commitment_id, view.id),
    version: view.version,
);

const EVIDENCE_READ_ONLY: &[&str] = &["id", "version", "created_at", "updated_at", "commitment_id", "validated_by"];

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvidence {
    /// One of the commitment's years.
    #[schema(example = 2025)]
    pub year: i64,
    pub kind: EvidenceKind,
    pub received_on: NaiveDate,
    /// Set by the CAF only.
    pub validated_on: Option<NaiveDate>,
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

impl RequestBody for CreateEvidence {
    const READ_ONLY: &'static [&'static str] = EVIDENCE_READ_ONLY;
}

/// Changes to a piece of evidence. `validated_on` is the CAF's (the server records who validated
/// it in `validated_by`); `null` withdraws the validation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidencePatch {
    pub kind: Option<EvidenceKind>,
    pub received_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "nullable")]
    pub validated_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub note: Option<Option<String>>,
}

impl RequestBody for EvidencePatch {
    // A piece is of one year: another year's is recorded on its own.
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "created_at", "updated_at", "commitment_id", "validated_by", "year"];
}

/// Who the caller is to the commitment's evidence: the CAF, or the collectivity acting for the
/// manager of the commitment's equipment.
fn writer(conn: &mut DbConnection, caller: &Caller, commitment: &CommitmentRow) -> ApiResult<Writer> {
    let is_caf = caller.manages_contracts();
    let sirens = caller.sirens();
    let manages_equipment = match commitment.equipment_id {
        Some(equipment) if !sirens.is_empty() => equipments::find(conn, equipment)?
            .map(|equipment| organisations::find(conn, equipment.manager_id))
            .transpose()?
            .flatten()
            .and_then(|manager| manager.siren)
            .is_some_and(|siren| sirens.contains(&siren)),
        _ => false,
    };
    Ok(Writer { is_caf, manages_equipment })
}

/// 403 unless the caller may make this change (see [`rules::check_writer`]).
fn require_writer(
    change: &mut ContractChange<'_>,
    commitment: &CommitmentRow,
    touches_validation: bool,
    validated: bool,
) -> ApiResult<()> {
    let writer = writer(change.conn, change.caller, commitment)?;
    rules::check_writer(writer, touches_validation, validated).map_err(|refusal| ApiError::Forbidden(refusal.into()))
}

/// 409 once the commitment is closed: its years are settled for good.
fn require_not_closed(commitment: &CommitmentRow) -> ApiResult<()> {
    if commitment.status == CommitmentStatus::Closed {
        return Err(ApiError::Conflict("the commitment is closed".into()));
    }
    Ok(())
}

/// The evidence of a commitment, by year, kind and date received.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = Page<EvidenceView>), ChildListProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}/evidence")]
pub async fn list_evidence((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let items = db::run(&pool, move |conn| {
        find_commitment(conn, &caller, id)?;
        Ok(repo::list(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

/// One piece of evidence.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("evidence_id" = Uuid, Path)), responses((status = 200, body = EvidenceView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}/evidence/{evidence_id}")]
pub async fn get_evidence((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (id, evidence_id) = ids.into_inner();
    write::read_commitment(&pool, caller, id, move |conn, commitment| Ok(repo::find(conn, commitment.id, evidence_id)?))
        .await
}

/// Record a piece of evidence received for one of the commitment's years.
///
/// The CAF records any; the collectivity managing the commitment's equipment records what it sent,
/// without `validated_on`, which only the CAF sets. Who may call it: admins and CAF agents of the
/// contract's département, and a collectivity party to it for its own part only; an integration
/// gets 403, and another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), request_body = CreateEvidence, responses((status = 201, body = EvidenceView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/funding-commitments/{id}/evidence")]
pub async fn create_evidence(
    (caller, id, request, pool): CreateUnder<Uuid, CreateEvidence>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    write::change_commitment(&pool, caller, retry, id.into_inner(), Access::Reach, move |change, commitment| {
        require_writer(change, &commitment, body.validated_on.is_some(), false)?;
        change.require_open()?;
        require_not_closed(&commitment)?;
        let mut errors = Vec::new();
        if !db::funding::years_of(change.conn, commitment.id)?.contains_key(&body.year) {
            errors.push(FieldError::at_pointer("/year", "YEAR_NOT_COMMITTED", "not one of the commitment's years"));
        }
        errors.extend(rules::check_dates(body.received_on, body.validated_on).err().unwrap_or_default());
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let row = EvidenceView {
            id: Uuid::new_v4(),
            commitment_id: commitment.id,
            year: body.year,
            kind: body.kind,
            received_on: body.received_on,
            validated_on: body.validated_on,
            validated_by: body.validated_on.map(|_| change.caller.subject.clone()),
            note: body.note,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert(change.conn, &change.contract, &commitment, &row)?;
        change.created(&row)
    })
    .await
}

/// Change a piece of evidence.
///
/// The CAF changes any, and alone sets or withdraws `validated_on` (`validated_by` becomes the
/// caller's `sub`); the collectivity managing the equipment corrects what it recorded until it is
/// validated. Who may call it: admins and CAF agents of the contract's département, and a
/// collectivity party to it for its own part only; an integration gets 403, and another contract
/// answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("evidence_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = EvidencePatch, responses((status = 200, body = EvidenceView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/funding-commitments/{id}/evidence/{evidence_id}")]
pub async fn update_evidence(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), EvidencePatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (id, evidence_id) = ids.into_inner();
    write::change_commitment(&pool, caller, Retry::none(), id, Access::Reach, move |change, commitment| {
        let current = repo::find(change.conn, commitment.id, evidence_id)?.ok_or(ApiError::NotFound)?;
        require_writer(change, &commitment, patch.validated_on.is_some(), current.validated_on.is_some())?;
        change.ready(&if_match, current.version)?;
        require_not_closed(&commitment)?;
        let (validated_on, validated_by) = match patch.validated_on {
            None => (current.validated_on, current.validated_by.clone()),
            Some(None) => (None, None),
            Some(Some(on)) => (Some(on), Some(change.caller.subject.clone())),
        };
        let row = change.next(EvidenceView {
            kind: patch.kind.unwrap_or(current.kind),
            received_on: patch.received_on.unwrap_or(current.received_on),
            note: patch.note.unwrap_or_else(|| current.note.clone()),
            validated_on,
            validated_by,
            ..current.clone()
        });
        rules::check_dates(row.received_on, row.validated_on).map_err(ApiError::validation)?;
        repo::update(change.conn, &change.contract, &commitment, &row)?;
        change.updated(&current, &row, None)
    })
    .await
}

/// Remove a piece of evidence recorded by mistake, while it is not validated.
///
/// Who may call it: admins and CAF agents of the contract's département, and a collectivity party
/// to it for its own part only; an integration gets 403, and another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("evidence_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/funding-commitments/{id}/evidence/{evidence_id}")]
pub async fn delete_evidence((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (id, evidence_id) = ids.into_inner();
    write::change_commitment(&pool, caller, Retry::none(), id, Access::Reach, move |change, commitment| {
        let current = repo::find(change.conn, commitment.id, evidence_id)?.ok_or(ApiError::NotFound)?;
        require_writer(change, &commitment, false, current.validated_on.is_some())?;
        change.ready(&if_match, current.version)?;
        require_not_closed(&commitment)?;
        if current.validated_on.is_some() {
            return Err(ApiError::Conflict("validated evidence is kept: withdraw the validation first".into()));
        }
        documents::refuse_if_linked(change.conn, &change.contract, documents::Link::Evidence(current.id))?;
        repo::delete(change.conn, &change.contract, &commitment, &current)?;
        change.deleted(&current)
    })
    .await
}

/// The kinds of evidence a programme requires before the actual entitlement of a year is
/// recorded (received) and its balance paid (validated).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvidenceRequirementView {
    pub programme: Programme,
    pub kinds: Vec<EvidenceKind>,
}

write::resource!(
    EvidenceRequirementView, "evidence_requirement", |view| id: view.programme,
    location: format!("/v1/evidence-requirements/{}", view.programme),
);

/// The kinds of evidence each programme requires, for every programme (one requiring none has an
/// empty list).
///
/// Data, kept by admins. Who may call it: every role.
#[utoipa::path(tag = "funding", responses((status = 200, body = Page<EvidenceRequirementView>), ListProblems), security(("bearer" = [])))]
#[get("/evidence-requirements")]
pub async fn list_evidence_requirements(
    (_caller, _no_parameters, pool, _tokens): List<NoParameters>,
) -> ApiResult<HttpResponse> {
    let items = db::run(&pool, move |conn| {
        let mut required = repo::requirements(conn)?;
        Ok(Programme::ALL
            .iter()
            .map(|&programme| EvidenceRequirementView {
                programme,
                kinds: required.remove(&programme).unwrap_or_default(),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequirementsBody {
    /// Every kind the programme requires, each once; empty when it requires none.
    #[validate(length(max = 4, message = "at most one of each kind"))]
    #[schema(max_items = 4)]
    pub kinds: Vec<EvidenceKind>,
}

impl RequestBody for EvidenceRequirementsBody {
    const READ_ONLY: &'static [&'static str] = &["programme"];
}

/// Replace the kinds of evidence a programme requires (admins).
///
/// It applies from then on: an actual entitlement already recorded or a balance already paid stays.
/// Who may call it: admins; the other roles get 403.
#[utoipa::path(tag = "funding", params(("programme" = Programme, Path)), request_body = EvidenceRequirementsBody, responses((status = 200, body = EvidenceRequirementView), ReplaceReferenceProblems), security(("bearer" = [])))]
#[put("/evidence-requirements/{programme}")]
pub async fn put_evidence_requirements(
    (caller, programme, request, pool): CreateUnder<String, EvidenceRequirementsBody>,
) -> ApiResult<HttpResponse> {
    if caller.role != Role::Admin {
        return Err(ApiError::Forbidden("only admins change the evidence each programme requires".into()));
    }
    let programme = Programme::parse(&programme.into_inner()).ok_or(ApiError::NotFound)?;
    let IdempotentJson { body, retry } = request;
    let mut kinds: Vec<EvidenceKind> = Vec::new();
    let mut errors = Vec::new();
    for (index, kind) in body.kinds.into_iter().enumerate() {
        if kinds.contains(&kind) {
            errors.push(FieldError::at_pointer(format!("/kinds/{index}"), "DUPLICATE", "this kind appears earlier"));
        }
        kinds.push(kind);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    write::change_directory(&pool, caller, retry, move |change| {
        // Two admins replacing the same programme's list take turns instead of colliding.
        db::serialize_writers(change.conn, &format!("evidence_requirements:{programme}"))?;
        repo::replace_requirements(change.conn, programme, &kinds)?;
        let view = EvidenceRequirementView { programme, kinds: repo::required_for(change.conn, programme)? };
        change.updated(&view)
    })
    .await
}

/// The evidence of `year` of `commitment` still missing at `stage`: the kinds its programme
/// requires that no piece received (or validated) is of.
pub(crate) fn missing_evidence(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    year: i64,
    stage: Stage,
) -> ApiResult<Vec<EvidenceKind>> {
    let required = repo::required_for(conn, commitment.programme)?;
    let present = repo::kinds(conn, &[commitment.id])?.remove(&(commitment.id, year)).unwrap_or_default();
    let present = present.into_iter().filter(|&(_, validated)| stage == Stage::Received || validated);
    Ok(rules::missing(&required, present.map(|(kind, _)| kind)))
}

/// 409 listing each kind of `year`'s evidence still missing at `stage`, for `what` waits on it.
pub(crate) fn require_evidence(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    year: i64,
    stage: Stage,
    what: &str,
) -> ApiResult<()> {
    let missing = missing_evidence(conn, commitment, year, stage)?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::ConflictUnmet {
        detail: rules::unmet_detail(what, year, &missing, stage),
        unmet: rules::unmet(year, &missing, stage),
    })
}
