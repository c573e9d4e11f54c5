//! Organisations: the CAF, collectivities and other partners of the contracts. Every role reads
//! the directory; admins write any entry, CAF agents those located in their départements.

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::problems::{CreateProblems, DeleteProblems, ListProblems, ReadProblems, UpdateProblems};
pub use crate::db::organisations::OrganisationRow as OrganisationView;
use crate::db::organisations::{self as repo, OrganisationFilter};
use crate::db::{DbConnection, territories};
use crate::domain::directory::{self, Listed, OrganisationDraft, OrganisationFacts};
use crate::domain::organisation::OrganisationKind;
use crate::domain::territory::fold_for_search;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams};
use crate::http::query::ApiQuery;
use crate::http::requests::{Create, List, Read, Remove, Update};
use crate::write::{self, DirectoryChange};

write::resource!(
    OrganisationView, "organisation", |view| id: view.id,
    location: format!("/v1/organisations/{}", view.id),
    version: view.version,
    department: view.department.as_deref(),
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    pub kind: OrganisationKind,
    /// Defaults to the reference name for a commune or an EPCI.
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    pub siren: Option<String>,
    /// Defaults from the reference for a commune, an EPCI within one département, or an `insee_code`.
    pub department: Option<String>,
    /// Defaults from the reference for a commune.
    pub insee_code: Option<String>,
}

impl RequestBody for CreateOrganisation {}

impl From<CreateOrganisation> for OrganisationDraft {
    fn from(body: CreateOrganisation) -> Self {
        let CreateOrganisation { kind, name, siren, department, insee_code } = body;
        Self { kind, name: name.unwrap_or_default(), siren, department, insee_code }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    pub kind: Option<OrganisationKind>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub siren: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub department: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub insee_code: Option<Option<String>>,
}

impl RequestBody for OrganisationPatch {}

/// The entry `id` as `resolved`, at `version`; it was first written at `created_at`.
fn into_row(resolved: OrganisationDraft, id: Uuid, version: i64, created_at: NaiveDateTime) -> OrganisationView {
    let OrganisationDraft { kind, name, siren, department, insee_code } = resolved;
    OrganisationView {
        id,
        kind,
        search_name: fold_for_search(&name),
        name,
        siren,
        department,
        insee_code,
        version,
        created_at,
        updated_at: created_at,
    }
}

/// Loads what the territory reference says of `draft` and judges it (422 listing every problem).
fn resolve(conn: &mut DbConnection, draft: OrganisationDraft) -> ApiResult<OrganisationDraft> {
    let listed = match draft.siren_to_list() {
        Some(siren) => listing(conn, siren)?,
        None => None,
    };
    let commune_department = match &draft.insee_code {
        Some(code) => territories::find_commune(conn, code)?.map(|commune| commune.department),
        None => None,
    };
    let department_known = match &draft.department {
        Some(code) => territories::find_department(conn, code)?.is_some(),
        None => true,
    };
    let facts = OrganisationFacts { listed, commune_department, department_known };
    directory::resolve_organisation(draft, facts).map_err(write::rejected)
}

/// The reference's entry for a SIREN: a commune's or an EPCI's, whatever kind the draft says.
fn listing(conn: &mut DbConnection, siren: &str) -> ApiResult<Option<Listed>> {
    if let Some(commune) = territories::find_commune_by_siren(conn, siren)? {
        return Ok(Some(Listed::Commune { name: commune.name, insee: commune.insee, department: commune.department }));
    }
    Ok(match territories::find_epci(conn, siren)? {
        Some(epci) => Some(Listed::Epci { name: epci.name, departments: territories::epci_departments(conn, siren)? }),
        None => None,
    })
}

/// Turns the UNIQUE violations of writing `row` into the conflicts they mean.
fn conflict_on_unique(error: diesel::result::Error, row: &OrganisationView) -> ApiError {
    ApiError::from_write(error, || {
        let siren = row.siren.as_deref().unwrap_or("-");
        if row.kind == OrganisationKind::Caf {
            format!("an organisation with SIREN {siren} or the CAF of this département already exists")
        } else {
            format!("an organisation with SIREN {siren} already exists")
        }
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationListQuery {
    pub kind: Option<OrganisationKind>,
    pub department: Option<String>,
    pub siren: Option<String>,
    /// Part of the name; case, accents and punctuation ignored.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// List the organisations (the partners directory), by id.
///
/// Who may call it: every role.
#[utoipa::path(tag = "organisations", params(OrganisationListQuery), responses((status = 200, body = Page<OrganisationView>), ListProblems), security(("bearer" = [])))]
#[get("/organisations")]
pub async fn list_organisations((caller, query, pool, tokens): List<OrganisationListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let filter = OrganisationFilter {
        kind: query.kind,
        department: query.department,
        siren: query.siren,
        q: query.q.as_deref().map(fold_for_search).filter(|q| !q.is_empty()),
    };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("organisations|{filter:?}|{}", caller.fingerprint());
    let cursor_of = |row: &OrganisationView| row.id.to_string();
    write::read_page(&pool, tokens, params, binding, cursor_of, move |conn, after, limit| {
        Ok(repo::list(conn, &filter, after, limit)?)
    })
    .await
}

/// One organisation.
///
/// Who may call it: every role.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path)), responses((status = 200, body = OrganisationView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/organisations/{id}")]
pub async fn get_organisation((_caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    write::read_entry(&pool, move |conn| repo::find(conn, id)).await
}

/// Record an organisation.
///
/// For a commune or an EPCI, the SIREN must be in the territory reference, and the name,
/// département and INSEE code default from it. One CAF per département. Who may call it: admins,
/// and CAF agents for an entry that lies in their départements; the other roles get 403.
#[utoipa::path(tag = "organisations", request_body = CreateOrganisation, responses((status = 201, body = OrganisationView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/organisations")]
pub async fn create_organisation((caller, request, pool): Create<CreateOrganisation>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, retry, move |change| {
        let resolved = resolve(change.conn, body.into())?;
        change.require_writable(resolved.department.as_deref(), "organisation")?;
        let row = into_row(resolved, Uuid::new_v4(), 1, change.at);
        repo::insert(change.conn, &row).map_err(|error| conflict_on_unique(error, &row))?;
        change.created(&row)
    })
    .await
}

/// Change an organisation.
///
/// The result is checked as a whole, as on creation. Who may call it: admins, and CAF agents for an
/// entry that lies in their départements; the other roles get 403.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = OrganisationPatch, responses((status = 200, body = OrganisationView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    (caller, id, if_match, patch, pool): Update<Uuid, OrganisationPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let id = id.into_inner();
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&id.to_string(), &if_match, |conn| repo::find(conn, id))?;
        let draft = OrganisationDraft {
            kind: patch.kind.unwrap_or(current.kind),
            name: patch.name.unwrap_or_else(|| current.name.clone()),
            siren: patch.siren.unwrap_or_else(|| current.siren.clone()),
            department: patch.department.unwrap_or_else(|| current.department.clone()),
            insee_code: patch.insee_code.unwrap_or_else(|| current.insee_code.clone()),
        };
        let resolved = resolve(change.conn, draft)?;
        change.require_writable(resolved.department.as_deref(), "organisation")?;
        // Collectivities reach contracts through their parties' SIRENs: an organisation that is a
        // party keeps its identity, or someone else would gain or lose those contracts.
        let identity_changes = resolved.siren != current.siren || resolved.kind != current.kind;
        if identity_changes && repo::usage(change.conn, id)?.parties > 0 {
            return Err(ApiError::Conflict(
                "this organisation is a party to contracts: its SIREN and kind stay".into(),
            ));
        }
        let row = change.next(into_row(resolved, id, current.version, current.created_at));
        let written =
            repo::update(change.conn, &row, current.version).map_err(|error| conflict_on_unique(error, &row))?;
        DirectoryChange::written(written)?;
        change.updated(&row)
    })
    .await
}

/// Delete an organisation that no contract, equipment or action uses any more.
///
/// Who may call it: admins, and CAF agents for an entry that lies in their départements; the other
/// roles get 403.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/organisations/{id}")]
pub async fn delete_organisation((caller, id, if_match, pool): Remove<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&id.to_string(), &if_match, |conn| repo::find(conn, id))?;
        // Counted in what the caller reaches only: how much another département uses it is
        // not the caller's to learn.
        let (usage, elsewhere) = repo::usage_seen_from(change.conn, id, &change.caller.scope())?;
        if !usage.is_unused() || elsewhere {
            let repo::Usage { parties, equipments, actions, commitments } = usage;
            return Err(ApiError::Conflict(format!(
                "still used: party to {parties} contract(s), manager of {equipments} equipment(s), pilot of {actions} action(s), payee of {commitments} commitment(s) in your scope{}",
                if elsewhere { ", and by contracts outside it" } else { "" }
            )));
        }
        DirectoryChange::written(repo::delete(change.conn, id, current.version)?)?;
        change.deleted(&current)
    })
    .await
}
