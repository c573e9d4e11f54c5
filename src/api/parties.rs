//! The parties of a contract. Admins and CAF agents manage them; a collectivity records its own
//! party's délibération and signature, and nothing else.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::contracts::{find_in_scope, find_managed, lock_contract, require_open};
use super::organisations::OrganisationView;
use super::problems::{ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, UpdateProblems};
use super::with_etag;
use crate::auth::Caller;
use crate::db::contracts::ContractRow;
use crate::db::history::{Action, Change, snapshot};
use crate::db::organisations::OrganisationRow;
use crate::db::parties::{self as repo, PartyRow};
use crate::db::{self, DbConnection, DbPool, funding, organisations};
use crate::domain::codes::{join_codes, split_codes};
use crate::domain::contract::{PartyRole, RecordedStatus};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, ApiJsonWithValue, RequestBody, nullable};
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::pagination::Page;
use crate::http::preconditions::IfMatch;
use crate::http::query::{ApiQuery, NoParameters};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartyView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub organisation_id: Uuid,
    /// The organisation, for display.
    pub organisation: OrganisationView,
    pub roles: Vec<PartyRole>,
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    /// Date of the council's délibération authorising the signature.
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn party_view(row: PartyRow, organisation: OrganisationRow) -> PartyView {
    PartyView {
        id: row.id.parse().unwrap_or_default(),
        contract_id: row.contract_id.parse().unwrap_or_default(),
        organisation_id: row.organisation_id.parse().unwrap_or_default(),
        organisation: OrganisationView::from(organisation),
        roles: split_codes(&row.roles, PartyRole::parse),
        signatory_name: row.signatory_name,
        signatory_title: row.signatory_title,
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
    pub roles: Vec<PartyRole>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    pub signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    pub signatory_title: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
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
    pub roles: Option<Vec<PartyRole>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    pub signatory_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    pub signatory_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub deliberation_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 100, message = "must have at most 100 characters"))]
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
            || self.deliberation_date.is_some()
            || self.deliberation_ref.is_some()
            || self.signed_on.is_some()
    }
}

fn signs(roles: &str) -> bool {
    split_codes(roles, PartyRole::parse).into_iter().any(PartyRole::signs)
}

fn is_editable(contract: &ContractRow) -> bool {
    RecordedStatus::parse(&contract.status).is_some_and(RecordedStatus::is_editable)
}

/// The party of a contract in scope, or 404.
fn find_party(
    conn: &mut DbConnection,
    caller: &Caller,
    contract_id: &str,
    id: &str,
) -> ApiResult<(ContractRow, PartyRow, OrganisationRow)> {
    let contract = find_in_scope(conn, caller, contract_id)?;
    let (party, organisation) = repo::find(conn, contract_id, id)?.ok_or(ApiError::NotFound)?;
    Ok((contract, party, organisation))
}

/// The parties of a contract, by organisation name.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<PartyView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/parties")]
pub async fn list_parties(
    caller: Caller,
    id: web::Path<Uuid>,
    _no_parameters: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let items = db::run(&pool, move |conn| {
        find_in_scope(conn, &caller, &id)?;
        Ok(repo::list(conn, &id)?
            .into_iter()
            .map(|(party, organisation)| party_view(party, organisation))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

/// One party of a contract.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path)), responses((status = 200, body = PartyView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/parties/{party_id}")]
pub async fn get_party(
    caller: Caller,
    ids: web::Path<(Uuid, Uuid)>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    let view = db::run(&pool, move |conn| {
        let (_, party, organisation) = find_party(conn, &caller, &contract_id.to_string(), &id.to_string())?;
        Ok(party_view(party, organisation))
    })
    .await?;
    Ok(with_etag(view.version, &view))
}

/// Add a party. The CAF party must be the CAF of the contract's département.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateParty, responses((status = 201, body = PartyView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/parties")]
pub async fn create_party(
    caller: Caller,
    id: web::Path<Uuid>,
    json: ApiJsonWithValue<CreateParty>,
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
        let organisation_id = body.organisation_id.to_string();
        let Some(organisation) = organisations::find(conn, &organisation_id)? else {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/organisation_id",
                "UNKNOWN_ORGANISATION",
                "no organisation has this id",
            )]));
        };
        if organisation.kind == "caf" && organisation.department.as_deref() != Some(contract.department.as_str()) {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/organisation_id",
                "CAF_OF_ANOTHER_DEPARTMENT",
                format!("the CAF party is the CAF of département {}", contract.department),
            )]));
        }
        let roles = join_codes(&body.roles, PartyRole::as_str);
        if !is_editable(&contract) && signs(&roles) {
            return Err(ApiError::Conflict("the contract is signed: no signatory can be added".into()));
        }
        if repo::is_party(conn, &contract_id, &organisation_id)? {
            return Err(ApiError::Conflict("this organisation is already a party of the contract".into()));
        }
        let now = db::now();
        let row = PartyRow {
            id: db::new_id(),
            contract_id: contract_id.clone(),
            organisation_id,
            roles,
            signatory_name: body.signatory_name,
            signatory_title: body.signatory_title,
            deliberation_date: body.deliberation_date,
            deliberation_ref: body.deliberation_ref,
            signed_on: body.signed_on,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let view = party_view(row.clone(), organisation);
        let change = Change {
            caller: &caller,
            action: Action::Created,
            resource: "party",
            resource_id: row.id.clone(),
            reason: None,
            before: None,
            after: snapshot(&view),
        };
        repo::insert(conn, &row, &change)?;
        Answer::created(format!("/v1/contracts/{}/parties/{}", view.contract_id, view.id), Some(view.version), &view)
    })
    .await
}

/// Change a party. A collectivity may change only its own party's signatory, délibération and
/// signature data. Once the contract is signed, signatures and signatory roles are fixed.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = PartyPatch, responses((status = 200, body = PartyView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/parties/{party_id}")]
pub async fn update_party(
    caller: Caller,
    ids: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<PartyPatch>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    let view = db::run_write(&pool, move |conn| {
        lock_contract(conn, &contract_id.to_string())?;
        let (contract, current, organisation) = find_party(conn, &caller, &contract_id.to_string(), &id.to_string())?;
        if !caller.manages_contracts() {
            let own = organisation.siren.as_ref().is_some_and(|siren| caller.sirens().contains(siren));
            if !own || patch.roles.is_some() {
                return Err(ApiError::Forbidden(
                    "a collectivity changes only its own party's délibération and signature".into(),
                ));
            }
        }
        if_match.check(current.version)?;
        require_open(&contract)?;
        let roles =
            patch.roles.as_ref().map_or_else(|| current.roles.clone(), |roles| join_codes(roles, PartyRole::as_str));
        if !is_editable(&contract) && (patch.touches_signature() || signs(&roles) != signs(&current.roles)) {
            return Err(ApiError::Conflict("the contract is signed: signatures and signatory roles are fixed".into()));
        }
        let keeps_payee = split_codes(&roles, PartyRole::parse).contains(&PartyRole::Payee);
        if !keeps_payee
            && funding::list(conn, std::slice::from_ref(&contract.id))?
                .iter()
                .any(|c| c.payee_id == current.organisation_id)
        {
            return Err(ApiError::Conflict(
                "this party receives funding under the contract: it keeps the payee role".into(),
            ));
        }
        let before = party_view(current.clone(), organisation.clone());
        let row = PartyRow {
            roles,
            signatory_name: patch.signatory_name.unwrap_or_else(|| current.signatory_name.clone()),
            signatory_title: patch.signatory_title.unwrap_or_else(|| current.signatory_title.clone()),
            deliberation_date: patch.deliberation_date.unwrap_or(current.deliberation_date),
            deliberation_ref: patch.deliberation_ref.unwrap_or_else(|| current.deliberation_ref.clone()),
            signed_on: patch.signed_on.unwrap_or(current.signed_on),
            version: current.version + 1,
            updated_at: db::now(),
            ..current
        };
        let after = party_view(row.clone(), organisation);
        let change = Change {
            caller: &caller,
            action: Action::Updated,
            resource: "party",
            resource_id: row.id.clone(),
            reason: None,
            before: snapshot(&before),
            after: snapshot(&after),
        };
        if !repo::update(conn, &row, if_match.0, &change)? {
            return Err(ApiError::PreconditionFailed);
        }
        Ok(after)
    })
    .await?;
    Ok(with_etag(view.version, &view))
}

/// Remove a party. A signatory of a signed contract stays.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("party_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/parties/{party_id}")]
pub async fn delete_party(
    caller: Caller,
    ids: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    db::run_write(&pool, move |conn| {
        lock_contract(conn, &contract_id.to_string())?;
        let (contract, current, organisation) = find_party(conn, &caller, &contract_id.to_string(), &id.to_string())?;
        caller.require_contract_manager()?;
        if_match.check(current.version)?;
        require_open(&contract)?;
        if !is_editable(&contract) && signs(&current.roles) {
            return Err(ApiError::Conflict("the contract is signed: its signatories stay".into()));
        }
        if funding::list(conn, std::slice::from_ref(&contract.id))?
            .iter()
            .any(|commitment| commitment.payee_id == current.organisation_id)
        {
            return Err(ApiError::Conflict("this party receives funding under the contract".into()));
        }
        let before = party_view(current.clone(), organisation);
        let change = Change {
            caller: &caller,
            action: Action::Deleted,
            resource: "party",
            resource_id: current.id.clone(),
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
