//! Amendments (avenants): the only way to change a signed contract's period, perimeter, fields or
//! signatories (and a way to change its title). An amendment is drafted, signed by every
//! signatory of the contract as amended, and applied at the last signature, atomically; one
//! already signed on paper by the contract's signatories is recorded and applied at once. Applied
//! amendments are numbered 1, 2, … and kept with the terms before and after. What an amendment
//! does to the contract is in `amending.rs`.

use actix_web::{HttpResponse, delete, get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::amending::{
    self, AmendedParty, AmendmentChanges, AmendmentView, Applied, amendment_view, parse, signatory_ids,
};
use super::problems::{ChildListProblems, DeleteProblems, GuardedChildProblems, ReadProblems};
use crate::db::amendments::{self as repo, DraftRow};
use crate::db::contracts::ScopedContract;
use crate::db::{self, DbConnection, organisations, parties};
use crate::domain::amendments::{AmendmentStatus, Signature};
use crate::domain::contract::{PartyRole, RecordedStatus};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::RequestBody;
use crate::http::idempotency::{Answer, IdempotentJson, Retry};
use crate::http::pagination::Page;
use crate::http::requests::{Parts, Read, Remove, Transition};
use crate::write::{self, Access, ContractChange};

/// A draft as its routes answer it, with the signatures it still waits for among the
/// signatories of the contract as amended.
fn draft_view(row: DraftRow, parties: &[AmendedParty]) -> ApiResult<AmendmentView> {
    let changes: AmendmentChanges = parse(&row.changes)?;
    let awaiting_signatures = signatory_ids(parties, &changes)
        .into_iter()
        .filter(|id| !row.signatures.iter().any(|signature| signature.organisation_id == *id))
        .collect();
    Ok(AmendmentView {
        id: row.id,
        contract_id: row.contract_id,
        status: AmendmentStatus::Draft,
        number: None,
        signed_on: None,
        effective_on: row.effective_on,
        rationale: row.rationale,
        changes,
        signatures: row.signatures,
        awaiting_signatures,
        before: None,
        after: None,
        created_at: db::rfc3339(row.created_at),
    })
}

/// The parties of a contract now, as an amendment records them.
fn parties_now(conn: &mut DbConnection, contract: &ScopedContract) -> ApiResult<Vec<AmendedParty>> {
    Ok(parties::list(conn, contract)?.into_iter().map(AmendedParty::of).collect())
}

/// The amendment `id` of a contract, signed or draft.
fn find_any(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> ApiResult<Option<AmendmentView>> {
    if let Some(row) = repo::find(conn, contract, id)? {
        return amendment_view(row).map(Some);
    }
    match repo::find_draft(conn, contract, id)? {
        Some(draft) => draft_view(draft, &parties_now(conn, contract)?).map(Some),
        None => Ok(None),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAmendment {
    /// When every signatory of the contract already signed it on paper: it is recorded and
    /// applied at once. Without it, the amendment is a draft that each signatory signs. An
    /// amendment that adds a signatory is always a draft: the newcomer signs it with its
    /// délibération.
    pub signed_on: Option<NaiveDate>,
    pub effective_on: NaiveDate,
    #[validate(length(min = 1, max = 5000, message = "must have 1 to 5000 characters"))]
    #[schema(min_length = 1, max_length = 5000)]
    pub rationale: String,
    #[validate(nested)]
    pub changes: AmendmentChanges,
}

impl RequestBody for CreateAmendment {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "version",
        "status",
        "created_at",
        "updated_at",
        "contract_id",
        "number",
        "before",
        "after",
        "signatures",
        "awaiting_signatures",
    ];
}

/// One signatory's signature of a draft amendment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignAmendment {
    pub organisation_id: Uuid,
    pub signed_on: NaiveDate,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_title: Option<String>,
    /// The CAF's second signatory (its directeur).
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_title: Option<String>,
    /// The council's délibération: required of collectivities.
    pub deliberation_date: Option<NaiveDate>,
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
    #[schema(max_length = 100)]
    pub deliberation_ref: Option<String>,
}

impl RequestBody for SignAmendment {}

/// The amendments of a contract: the signed ones by number, then the drafts, oldest first.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<AmendmentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/amendments")]
pub async fn list_amendments((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| {
        let mut views: Vec<AmendmentView> =
            repo::list(conn, contract)?.into_iter().map(amendment_view).collect::<ApiResult<_>>()?;
        let parties = parties_now(conn, contract)?;
        for draft in repo::drafts(conn, contract)? {
            views.push(draft_view(draft, &parties)?);
        }
        Ok(views)
    })
    .await
}

/// One amendment.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("amendment_id" = Uuid, Path)), responses((status = 200, body = AmendmentView), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/amendments/{amendment_id}")]
pub async fn get_amendment((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| find_any(conn, contract, id)).await
}

/// 409 unless the contract is signed: amendments change signed contracts.
fn require_signed(change: &ContractChange<'_>) -> ApiResult<()> {
    let status = change.contract.row().status;
    if status != RecordedStatus::Signed {
        return Err(ApiError::Conflict(format!("amendments apply to signed contracts; this one is {status}")));
    }
    Ok(())
}

/// Draft an amendment to a signed contract, or record one its signatories already signed
/// (`signed_on`) and apply it at once.
///
/// `If-Match` carries the contract's ETag. Who may call it: admins and CAF agents of the contract's
/// département; an integration or a collectivity that reaches the contract gets 403, and another
/// contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The contract's ETag last read")), request_body = CreateAmendment, responses((status = 201, body = AmendmentView, headers(("Location" = String))), GuardedChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/amendments")]
pub async fn create_amendment(
    (caller, id, if_match, request, pool): Transition<Uuid, CreateAmendment>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.check(&if_match, change.contract.row().version)?;
        require_signed(change)?;
        let changes = &body.changes;
        if changes.is_empty() {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/changes",
                "EMPTY_CHANGES",
                "an amendment changes at least one of end_date, fields, perimeter, title, add_parties, remove_parties, annex",
            )]));
        }
        let judged = amending::judge(change, changes, body.effective_on)?;
        let rationale = body.rationale.trim();
        let Some(signed_on) = body.signed_on else {
            let draft = DraftRow {
                id: Uuid::new_v4(),
                contract_id,
                effective_on: body.effective_on,
                rationale: rationale.to_owned(),
                changes: serde_json::to_string(changes).map_err(ApiError::internal)?,
                signatures: Vec::new(),
                based_on: repo::next_number(change.conn, &change.contract)? - 1,
                created_at: change.at,
                updated_at: change.at,
            };
            repo::insert_draft(change.conn, &change.contract, &draft)?;
            return change.created(&draft_view(draft, &judged.parties)?);
        };
        if amending::signed_before_contract(&change.contract, signed_on) {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/signed_on",
                "SIGNED_BEFORE_CONTRACT",
                "an amendment is signed after the contract it amends",
            )]));
        }
        if changes.add_parties.iter().flatten().any(|joining| PartyRole::any_signs(&joining.roles)) {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/signed_on",
                "NEWCOMER_SIGNS",
                "an amendment that adds a signatory is drafted first (no signed_on) and signed by it with its délibération",
            )]));
        }
        // Signed on paper by the contract's signatories: each is recorded with the names it
        // signed the contract with.
        let signatories = signatory_ids(&judged.parties, changes);
        let signatures: Vec<Signature> = parties::list(change.conn, &change.contract)?
            .into_iter()
            .filter(|(_, organisation)| signatories.contains(&organisation.id))
            .map(|(party, organisation)| Signature {
                organisation_id: organisation.id,
                signed_on,
                signatory_name: party.signatory_name,
                signatory_title: party.signatory_title,
                second_signatory_name: party.second_signatory_name,
                second_signatory_title: party.second_signatory_title,
                deliberation_date: None,
                deliberation_ref: None,
            })
            .collect();
        let applied = Applied { changes, rationale, effective_on: body.effective_on, signed_on, signatures: &signatures };
        let view = amending::apply(change, Uuid::new_v4(), applied, judged)?;
        Answer::created(write::Resource::location(&view), None, &view)
    })
    .await
}

/// Record one signatory's signature of a draft amendment.
///
/// At the last signature the amendment applies: the contract takes its terms and parties, and the
/// amendment its number. A collectivity records its own signature. `If-Match` carries the
/// contract's ETag. Who may call it: admins and CAF agents of the contract's département, and a
/// collectivity party to it for its own part only; an integration gets 403, and another contract
/// answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("amendment_id" = Uuid, Path), ("If-Match" = String, Header, description = "The contract's ETag last read")), request_body = SignAmendment, responses((status = 200, body = AmendmentView), GuardedChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/amendments/{amendment_id}/signatures")]
pub async fn sign_amendment(
    (caller, ids, if_match, request, pool): Transition<(Uuid, Uuid), SignAmendment>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Reach, move |change| {
        let Some(mut draft) = repo::find_draft(change.conn, &change.contract, id)? else {
            return Err(match repo::find(change.conn, &change.contract, id)? {
                Some(_) => ApiError::Conflict("this amendment is signed already".into()),
                None => ApiError::NotFound,
            });
        };
        let organisation = organisations::find(change.conn, body.organisation_id)?;
        if !change.caller.manages_contracts() {
            let own = organisation
                .as_ref()
                .and_then(|organisation| organisation.siren.as_ref())
                .is_some_and(|siren| change.caller.sirens().contains(siren));
            if !own {
                return Err(ApiError::Forbidden("a collectivity records only its own signature".into()));
            }
        }
        change.check(&if_match, change.contract.row().version)?;
        change.require_open()?;
        require_signed(change)?;
        let organisation = organisation.ok_or_else(|| {
            ApiError::validation(vec![FieldError::at_pointer(
                "/organisation_id",
                "UNKNOWN_ORGANISATION",
                "no organisation has this id",
            )])
        })?;
        if draft.signatures.iter().any(|signature| signature.organisation_id == organisation.id) {
            return Err(ApiError::Conflict(format!("{} has signed this amendment already", organisation.name)));
        }
        let changes: AmendmentChanges = parse(&draft.changes)?;
        let parties = parties_now(change.conn, &change.contract)?;
        let signature = Signature {
            organisation_id: organisation.id,
            signed_on: body.signed_on,
            signatory_name: body.signatory_name.map(|name| name.trim().to_owned()),
            signatory_title: body.signatory_title,
            second_signatory_name: body.second_signatory_name.map(|name| name.trim().to_owned()),
            second_signatory_title: body.second_signatory_title,
            deliberation_date: body.deliberation_date,
            deliberation_ref: body.deliberation_ref.map(|reference| reference.trim().to_owned()),
        };
        amending::check_signature(&change.contract, &organisation, &signature, &signatory_ids(&parties, &changes))
            .map_err(ApiError::validation)?;
        let before = draft_view(draft.clone(), &parties)?;
        draft.signatures.push(signature);
        draft.updated_at = change.at;
        let signed = draft_view(draft.clone(), &parties)?;
        if !signed.awaiting_signatures.is_empty() {
            repo::update_draft(change.conn, &change.contract, &draft)?;
            return change.updated(&before, &signed, None);
        }
        // The last signature: the amendment applies to the contract as it stands now. What it
        // breaks is no fault of the signature: 409, each rule pointed at the amendment's text.
        let no_longer_applies = |unmet| ApiError::ConflictUnmet {
            detail: "the amendment no longer applies to the contract as it stands: delete it and draft it again".into(),
            unmet,
        };
        let mut undone = Vec::new();
        for since in repo::signed_after(change.conn, &change.contract, draft.based_on)? {
            let terms = amending::overlapping_terms(&changes, &parse(&since.changes)?);
            if !terms.is_empty() {
                let detail =
                    format!("amendment {} changed {} since this one was drafted", since.number, terms.join(", "));
                undone.push(FieldError::condition("AMENDED_SINCE", detail));
            }
        }
        if !undone.is_empty() {
            return Err(no_longer_applies(undone));
        }
        let judged = amending::judge(change, &changes, draft.effective_on).map_err(|error| match error {
            ApiError::ValidationFailed(unmet) => no_longer_applies(unmet),
            other => other,
        })?;
        let signed_on = draft.signatures.iter().map(|signature| signature.signed_on).max().unwrap_or(body.signed_on);
        let applied = Applied {
            changes: &changes,
            rationale: &draft.rationale,
            effective_on: draft.effective_on,
            signed_on,
            signatures: &draft.signatures,
        };
        let view = amending::apply(change, id, applied, judged).map_err(|error| match error {
            ApiError::ValidationFailed(unmet) => no_longer_applies(unmet),
            other => other,
        })?;
        change.transitioned(&before, &view, None)
    })
    .await
}

/// Abandon a draft amendment.
///
/// A signed one stays. `If-Match` carries the contract's ETag. Who may call it: admins and CAF
/// agents of the contract's département; an integration or a collectivity that reaches the contract
/// gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("amendment_id" = Uuid, Path), ("If-Match" = String, Header, description = "The contract's ETag last read")), responses((status = 204, description = "Abandoned"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/amendments/{amendment_id}")]
pub async fn delete_amendment((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let Some(draft) = repo::find_draft(change.conn, &change.contract, id)? else {
            return Err(match repo::find(change.conn, &change.contract, id)? {
                Some(_) => ApiError::Conflict("a signed amendment stays".into()),
                None => ApiError::NotFound,
            });
        };
        change.check(&if_match, change.contract.row().version)?;
        let view = draft_view(draft, &parties_now(change.conn, &change.contract)?)?;
        repo::delete_draft(change.conn, &change.contract, id)?;
        change.deleted(&view)
    })
    .await
}
