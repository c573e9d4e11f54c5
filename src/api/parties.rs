//! The parties of a contract. Admins and CAF agents manage them; a collectivity records its own
//! party's délibération and signature, and nothing else.

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::organisations::OrganisationView;
use super::problems::{ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, UpdateProblems};
use crate::db::contracts::ScopedContract;
use crate::db::documents;
use crate::db::organisations::OrganisationRow;
use crate::db::parties::{self as repo, PartyRow};
use crate::db::{self, DbConnection, funding, organisations};
use crate::domain::contract::PartyRole;
use crate::domain::parties::{PartyChange, check_caf_department, signature_allows};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::Page;
use crate::http::requests::{CreateUnder, Parts, Read, Remove, Update};
use crate::write::{self, Access, ContractChange};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub organisation_id: Uuid,
    /// The organisation, for display.
    pub organisation: OrganisationView,
    pub roles: Vec<PartyRole>,
    /// Who signs (for a CAF: its président).
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    /// The second name a CAF signs with: its directeur.
    pub second_signatory_name: Option<String>,
    pub second_signatory_title: Option<String>,
    /// Date of the council's délibération authorising the signature.
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

write::resource!(
    PartyView, "party", |view| id: view.id,
    location: format!("/v1/contracts/{}/parties/{}", view.contract_id, view.id),
    version: view.version,
);

/// A party as its routes answer it: the row, with its organisation.
pub(crate) fn party_view(row: PartyRow, organisation: OrganisationRow) -> PartyView {
    PartyView {
        id: row.id,
        contract_id: row.contract_id,
        organisation_id: row.organisation_id,
        organisation,
        roles: row.roles,
        signatory_name: row.signatory_name,
        signatory_title: row.signatory_title,
        second_signatory_name: row.second_signatory_name,
        second_signatory_title: row.second_signatory_title,
        deliberation_date: row.deliberation_date,
        deliberation_ref: row.deliberation_ref,
        signed_on: row.signed_on,
        version: row.version,
        created_at: db::rfc3339(row.created_at),
        updated_at: db::rfc3339(row.updated_at),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParty {
    pub organisation_id: Uuid,
    #[validate(length(min = 1, message = "name at least one role"))]
    #[schema(min_items = 1)]
    pub roles: Vec<PartyRole>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_title: Option<String>,
    /// The CAF's second signatory (its directeur); a CAF signs with two names.
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_title: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
    #[schema(max_length = 100)]
    pub deliberation_ref: Option<String>,
    pub signed_on: Option<NaiveDate>,
}

impl RequestBody for CreateParty {
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "status", "created_at", "updated_at", "contract_id", "organisation"];
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyPatch {
    #[validate(length(min = 1, message = "name at least one role"))]
    #[schema(min_items = 1)]
    pub roles: Option<Vec<PartyRole>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub deliberation_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
    #[schema(max_length = 100)]
    pub deliberation_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub signed_on: Option<Option<NaiveDate>>,
}

impl RequestBody for PartyPatch {
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "status", "created_at", "updated_at", "contract_id", "organisation", "organisation_id"];
}

impl PartyPatch {
    fn touches_signature(&self) -> bool {
        self.signatory_name.is_some()
            || self.signatory_title.is_some()
            || self.second_signatory_name.is_some()
            || self.second_signatory_title.is_some()
            || self.deliberation_date.is_some()
            || self.deliberation_ref.is_some()
            || self.signed_on.is_some()
    }
}

/// 409 unless the contract, signed or not yet, allows `change` to its parties.
fn require_signature_allows(contract: &ScopedContract, change: PartyChange<'_>) -> ApiResult<()> {
    signature_allows(contract.row().status, change).map_err(|refusal| ApiError::Conflict(refusal.into()))
}

/// The party `id` of a contract in scope, or 404.
fn find_party(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> ApiResult<(PartyRow, OrganisationRow)> {
    repo::find(conn, contract, id)?.ok_or(ApiError::NotFound)
}

/// 409 when the party is paid under the contract: it keeps its payee role and its place.
fn refuse_if_paid(change: &mut ContractChange<'_>, party: &PartyRow, detail: &str) -> ApiResult<()> {
    let contract_ids = std::slice::from_ref(&change.contract.row().id);
    if funding::list(change.conn, contract_ids)?.iter().any(|c| c.payee_id == party.organisation_id) {
        return Err(ApiError::Conflict(detail.into()));
    }
    Ok(())
}

/// The parties of a contract, by organisation name.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<PartyView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/parties")]
pub async fn list_parties((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| {
        repo::list(conn, contract)?
            .into_iter()
            .map(|(party, organisation)| Ok(party_view(party, organisation)))
            .collect()
    })
    .await
}

/// One party of a contract.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path)), responses((status = 200, body = PartyView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/parties/{party_id}")]
pub async fn get_party((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| {
        let (party, organisation) = find_party(conn, contract, id)?;
        Ok(Some(party_view(party, organisation)))
    })
    .await
}

/// Add a party.
///
/// The CAF party must be the CAF of the contract's département. Who may call it: admins and CAF
/// agents of the contract's département; an integration or a collectivity that reaches the contract
/// gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateParty, responses((status = 201, body = PartyView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/parties")]
pub async fn create_party((caller, id, request, pool): CreateUnder<Uuid, CreateParty>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let organisation = organisations::find(change.conn, body.organisation_id)?.ok_or_else(|| {
            ApiError::validation(vec![FieldError::at_pointer(
                "/organisation_id",
                "UNKNOWN_ORGANISATION",
                "no organisation has this id",
            )])
        })?;
        let department = &change.contract.row().department;
        check_caf_department(organisation.kind, organisation.department.as_deref(), department)
            .map_err(ApiError::validation)?;
        let roles = PartyRole::set_of(&body.roles);
        require_signature_allows(&change.contract, PartyChange::Added(&roles))?;
        if repo::is_party(change.conn, &change.contract, body.organisation_id)? {
            return Err(ApiError::Conflict("this organisation is already a party of the contract".into()));
        }
        let row = PartyRow {
            id: Uuid::new_v4(),
            contract_id,
            organisation_id: body.organisation_id,
            roles,
            signatory_name: body.signatory_name,
            signatory_title: body.signatory_title,
            second_signatory_name: body.second_signatory_name,
            second_signatory_title: body.second_signatory_title,
            deliberation_date: body.deliberation_date,
            deliberation_ref: body.deliberation_ref,
            signed_on: body.signed_on,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert(change.conn, &change.contract, &row)?;
        change.created(&party_view(row, organisation))
    })
    .await
}

/// Change a party.
///
/// A collectivity may change only its own party's signatory, délibération and signature data. Once
/// the contract is signed, signatures and signatory roles are fixed. Who may call it: admins and
/// CAF agents of the contract's département, and a collectivity party to it for its own part only;
/// an integration gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = PartyPatch, responses((status = 200, body = PartyView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/parties/{party_id}")]
pub async fn update_party(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), PartyPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Reach, move |change| {
        let (current, organisation) = find_party(change.conn, &change.contract, id)?;
        if !change.caller.manages_contracts() {
            let own = organisation.siren.as_ref().is_some_and(|siren| change.caller.sirens().contains(siren));
            if !own || patch.roles.is_some() {
                return Err(ApiError::Forbidden(
                    "a collectivity changes only its own party's délibération and signature".into(),
                ));
            }
        }
        change.ready(&if_match, current.version)?;
        let roles = patch.roles.as_deref().map_or_else(|| current.roles.clone(), PartyRole::set_of);
        let changed =
            PartyChange::Changed { before: &current.roles, after: &roles, signature: patch.touches_signature() };
        require_signature_allows(&change.contract, changed)?;
        if !roles.contains(&PartyRole::Payee) {
            refuse_if_paid(
                change,
                &current,
                "this party receives funding under the contract: it keeps the payee role",
            )?;
        }
        let row = change.next(PartyRow {
            roles,
            signatory_name: patch.signatory_name.unwrap_or_else(|| current.signatory_name.clone()),
            signatory_title: patch.signatory_title.unwrap_or_else(|| current.signatory_title.clone()),
            second_signatory_name: patch.second_signatory_name.unwrap_or_else(|| current.second_signatory_name.clone()),
            second_signatory_title: patch
                .second_signatory_title
                .unwrap_or_else(|| current.second_signatory_title.clone()),
            deliberation_date: patch.deliberation_date.unwrap_or(current.deliberation_date),
            deliberation_ref: patch.deliberation_ref.unwrap_or_else(|| current.deliberation_ref.clone()),
            signed_on: patch.signed_on.unwrap_or(current.signed_on),
            ..current.clone()
        });
        repo::update(change.conn, &change.contract, &row)?;
        change.updated(&party_view(current, organisation.clone()), &party_view(row, organisation), None)
    })
    .await
}

/// Remove a party.
///
/// A signatory of a signed contract stays. Who may call it: admins and CAF agents of the contract's
/// département; an integration or a collectivity that reaches the contract gets 403, and another
/// contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/parties/{party_id}")]
pub async fn delete_party((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let (current, organisation) = find_party(change.conn, &change.contract, id)?;
        change.ready(&if_match, current.version)?;
        require_signature_allows(&change.contract, PartyChange::Removed(&current.roles))?;
        refuse_if_paid(change, &current, "this party receives funding under the contract")?;
        let commitments = crate::db::project::commitments_of_party(change.conn, &change.contract, id)?;
        if commitments > 0 {
            return Err(ApiError::Conflict(format!(
                "this party has {commitments} commitment(s) under /party-commitments: remove them first"
            )));
        }
        // A party removed directly was added by mistake: where meetings or the diagnostic name
        // it, they are corrected first. One that leaves a signed contract does so by amendment,
        // and the record of what it took part in keeps naming it.
        let named_in_meetings = crate::db::project::meetings(change.conn, &change.contract)?
            .iter()
            .filter(|meeting| meeting.present.contains(&organisation.id))
            .count();
        let leads_diagnostic = crate::db::project::find_diagnostic(change.conn, &change.contract)?
            .is_some_and(|diagnostic| diagnostic.led_by.contains(&organisation.id));
        if named_in_meetings > 0 || leads_diagnostic {
            return Err(ApiError::Conflict(format!(
                "this party is named in {named_in_meetings} meeting(s){}: change them first",
                if leads_diagnostic { " and among those who led the diagnostic" } else { "" }
            )));
        }
        documents::refuse_if_linked(change.conn, &change.contract, documents::Link::Party(id))?;
        repo::delete(change.conn, &change.contract, id)?;
        change.deleted(&party_view(current, organisation))
    })
    .await
}
