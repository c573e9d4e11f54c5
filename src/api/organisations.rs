//! Organisations: the CAF, collectivities and other partners of the contracts. Every role reads
//! the directory; admins write any entry, CAF agents those located in their départements.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::problems::{CreateProblems, DeleteProblems, ListProblems, ReadProblems, UpdateProblems};
use super::stored_id;
use super::with_etag;
use crate::auth::{Caller, Scope};
use crate::db::organisations::{self as repo, OrganisationFilter, OrganisationRow};
use crate::db::{self, DbConnection, DbPool, territories};
use crate::domain::identifiers::check_siren;
use crate::domain::organisation::OrganisationKind;
use crate::domain::territory::fold_for_search;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams, PageRequest, PageTokenKey};
use crate::http::preconditions::IfMatch;
use crate::http::query::ApiQuery;
use crate::write::{self, DirectoryChange};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub kind: OrganisationKind,
    #[schema(example = "CC Faucigny - Glières")]
    pub name: String,
    /// 9 digits; absent only for kind `other`.
    #[schema(example = "200000172")]
    pub siren: Option<String>,
    pub department: Option<String>,
    /// INSEE code of the commune (for a commune, its own).
    pub insee_code: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

write::resource!(
    OrganisationView, "organisation", |view| id: view.id,
    location: format!("/v1/organisations/{}", view.id),
    version: view.version,
    department: view.department.as_deref(),
);

impl TryFrom<OrganisationRow> for OrganisationView {
    type Error = ApiError;

    fn try_from(row: OrganisationRow) -> ApiResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            kind: row.kind,
            name: row.name,
            siren: row.siren,
            department: row.department,
            insee_code: row.insee_code,
            version: row.version,
            created_at: db::rfc3339(row.created_at),
            updated_at: db::rfc3339(row.updated_at),
        })
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    pub kind: OrganisationKind,
    /// Defaults to the reference name for a commune or an EPCI.
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    pub name: Option<String>,
    pub siren: Option<String>,
    /// Defaults from the reference for a commune, an EPCI within one département, or an `insee_code`.
    pub department: Option<String>,
    /// Defaults from the reference for a commune.
    pub insee_code: Option<String>,
}

impl RequestBody for CreateOrganisation {}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    pub kind: Option<OrganisationKind>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub siren: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub department: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub insee_code: Option<Option<String>>,
}

impl RequestBody for OrganisationPatch {}

/// An organisation as it would be stored, before the reference fills the gaps and checks it.
struct Draft {
    kind: OrganisationKind,
    name: Option<String>,
    siren: Option<String>,
    department: Option<String>,
    insee_code: Option<String>,
}

struct Resolved {
    name: String,
    siren: Option<String>,
    department: Option<String>,
    insee_code: Option<String>,
}

/// Checks a draft against the reference and fills its defaults, listing every problem at once.
fn resolve(conn: &mut DbConnection, mut draft: Draft) -> ApiResult<Resolved> {
    let mut errors = Vec::new();
    draft.name = draft.name.map(|name| name.trim().to_owned()).filter(|name| !name.is_empty());
    match &draft.siren {
        None if draft.kind.requires_siren() => {
            errors.push(FieldError::at_pointer("/siren", "REQUIRED", "every kind but other needs a SIREN"));
        }
        None => {}
        Some(siren) => match check_siren(siren) {
            Err(error) => errors.push(FieldError::at_pointer(
                "/siren",
                &error.code("SIREN"),
                "must be 9 digits with a valid Luhn check digit",
            )),
            Ok(()) => fill_from_reference(conn, &mut draft, &mut errors)?,
        },
    }
    check_place(conn, &mut draft, &mut errors)?;
    let name = draft.name.unwrap_or_default();
    if name.is_empty() && errors.iter().all(|e| e.pointer.as_deref() != Some("/siren")) {
        errors.push(FieldError::at_pointer("/name", "REQUIRED", "a name is required"));
    }
    if errors.is_empty() {
        Ok(Resolved { name, siren: draft.siren, department: draft.department, insee_code: draft.insee_code })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// A commune's or an EPCI's SIREN must be in the reference, which gives its name, INSEE code and
/// département.
fn fill_from_reference(conn: &mut DbConnection, draft: &mut Draft, errors: &mut Vec<FieldError>) -> ApiResult<()> {
    let Some(siren) = draft.siren.clone() else { return Ok(()) };
    match draft.kind {
        OrganisationKind::Commune => match territories::find_commune_by_siren(conn, &siren)? {
            None => errors.push(FieldError::at_pointer(
                "/siren",
                "SIREN_NOT_IN_REFERENCE",
                "no current commune has this SIREN",
            )),
            Some(commune) => {
                draft.name.get_or_insert(commune.name);
                if draft.insee_code.as_ref().is_some_and(|code| *code != commune.insee) {
                    let detail = format!("the commune with this SIREN is {}", commune.insee);
                    errors.push(FieldError::at_pointer("/insee_code", "INSEE_CODE_MISMATCH", detail));
                }
                draft.insee_code = Some(commune.insee);
            }
        },
        OrganisationKind::Epci => match territories::find_epci(conn, &siren)? {
            None => errors.push(FieldError::at_pointer("/siren", "SIREN_NOT_IN_REFERENCE", "no EPCI has this SIREN")),
            Some(epci) => {
                draft.name.get_or_insert(epci.name);
                let departments = territories::epci_departments(conn, &siren)?;
                match (&draft.department, departments.as_slice()) {
                    (None, [only]) => draft.department = Some(only.clone()),
                    (None, _) => {
                        let detail = format!("this EPCI spans {}: name one", departments.join(", "));
                        errors.push(FieldError::at_pointer("/department", "REQUIRED", detail));
                    }
                    (Some(given), _) if !departments.contains(given) => {
                        let detail = format!("this EPCI lies in {}", departments.join(", "));
                        errors.push(FieldError::at_pointer("/department", "OUTSIDE_EPCI", detail));
                    }
                    (Some(_), _) => {}
                }
            }
        },
        _ => {}
    }
    Ok(())
}

/// The INSEE code and the département exist and agree; the département defaults from the commune.
fn check_place(conn: &mut DbConnection, draft: &mut Draft, errors: &mut Vec<FieldError>) -> ApiResult<()> {
    if let Some(code) = &draft.insee_code {
        match territories::find_commune(conn, code)? {
            None => {
                errors.push(FieldError::at_pointer("/insee_code", "UNKNOWN_COMMUNE", "no commune has this INSEE code"));
            }
            Some(commune) => match &draft.department {
                None => draft.department = Some(commune.department),
                Some(given) if *given != commune.department => {
                    let detail = format!("commune {code} lies in {}", commune.department);
                    errors.push(FieldError::at_pointer("/department", "DEPARTMENT_MISMATCH", detail));
                }
                Some(_) => {}
            },
        }
    }
    match &draft.department {
        Some(code) if territories::find_department(conn, code)?.is_none() => {
            errors.push(FieldError::at_pointer("/department", "UNKNOWN_DEPARTMENT", "no département has this code"));
        }
        None if draft.kind == OrganisationKind::Caf => {
            errors.push(FieldError::at_pointer("/department", "REQUIRED", "a CAF serves one département"));
        }
        _ => {}
    }
    Ok(())
}

/// Admins write every entry; CAF agents only entries located in their départements.
fn require_writable(caller: &Caller, department: Option<&str>) -> ApiResult<()> {
    caller.require_contract_manager()?;
    match (caller.scope(), department) {
        (Scope::Everything, _) => Ok(()),
        (scope, Some(department)) if scope.covers_department(department) => Ok(()),
        _ => Err(ApiError::Forbidden("this organisation lies outside your départements".into())),
    }
}

/// Turns the UNIQUE violations of a write into the conflicts they mean.
fn conflict_on_unique(error: diesel::result::Error, resolved_siren: Option<&str>, kind: OrganisationKind) -> ApiError {
    if !db::is_unique_violation(&error) {
        return error.into();
    }
    if kind == OrganisationKind::Caf {
        ApiError::Conflict(format!(
            "an organisation with SIREN {} or the CAF of this département already exists",
            resolved_siren.unwrap_or("-")
        ))
    } else {
        ApiError::Conflict(format!("an organisation with SIREN {} already exists", resolved_siren.unwrap_or("-")))
    }
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
#[utoipa::path(tag = "organisations", params(OrganisationListQuery), responses((status = 200, body = Page<OrganisationView>), ListProblems), security(("bearer" = [])))]
#[get("/organisations")]
pub async fn list_organisations(
    caller: Caller,
    ApiQuery(query): ApiQuery<OrganisationListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
) -> ApiResult<HttpResponse> {
    let filter = OrganisationFilter {
        kind: query.kind.map(|kind| kind.as_str().to_owned()),
        department: query.department,
        siren: query.siren,
        q: query.q.as_deref().map(fold_for_search).filter(|q| !q.is_empty()),
    };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("organisations|{filter:?}|{}", caller.fingerprint());
    let page = PageRequest::new(&tokens, &params, binding)?;
    let page = db::run(&pool, move |conn| {
        let rows = repo::list(conn, &filter, page.after.as_deref(), page.fetch_limit())?;
        page.try_finish(&tokens, rows, |row| row.id.clone(), OrganisationView::try_from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One organisation.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path)), responses((status = 200, body = OrganisationView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    _caller: Caller,
    id: web::Path<Uuid>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let row = db::run(&pool, move |conn| repo::find(conn, &id)?.ok_or(ApiError::NotFound)).await?;
    Ok(with_etag(row.version, &OrganisationView::try_from(row)?))
}

/// Record an organisation. For a commune or an EPCI, the SIREN must be in the territory
/// reference, and the name, département and INSEE code default from it. One CAF per département.
#[utoipa::path(tag = "organisations", request_body = CreateOrganisation, responses((status = 201, body = OrganisationView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/organisations")]
pub async fn create_organisation(
    caller: Caller,
    request: IdempotentJson<CreateOrganisation>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, retry, move |change| {
        let kind = body.kind;
        let draft = Draft {
            kind,
            name: body.name,
            siren: body.siren,
            department: body.department,
            insee_code: body.insee_code,
        };
        let resolved = resolve(change.conn, draft)?;
        require_writable(change.caller, resolved.department.as_deref())?;
        let row = OrganisationRow {
            id: db::new_id(),
            kind,
            search_name: fold_for_search(&resolved.name),
            name: resolved.name,
            siren: resolved.siren,
            department: resolved.department,
            insee_code: resolved.insee_code,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert(change.conn, &row).map_err(|error| conflict_on_unique(error, row.siren.as_deref(), kind))?;
        change.created(&OrganisationView::try_from(row)?)
    })
    .await
}

/// Change an organisation. The result is checked as a whole, as on creation.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = OrganisationPatch, responses((status = 200, body = OrganisationView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<OrganisationPatch>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    caller.require_contract_manager()?;
    let id = id.into_inner().to_string();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        change.lock("organisation", &id)?;
        let current = repo::find(change.conn, &id)?.ok_or(ApiError::NotFound)?;
        require_writable(change.caller, current.department.as_deref())?;
        change.check(&if_match, current.version)?;
        let kind = patch.kind.unwrap_or(current.kind);
        let draft = Draft {
            kind,
            name: patch.name.or_else(|| Some(current.name.clone())),
            siren: patch.siren.unwrap_or_else(|| current.siren.clone()),
            department: patch.department.unwrap_or_else(|| current.department.clone()),
            insee_code: patch.insee_code.unwrap_or_else(|| current.insee_code.clone()),
        };
        let resolved = resolve(change.conn, draft)?;
        require_writable(change.caller, resolved.department.as_deref())?;
        // Collectivities reach contracts through their parties' SIRENs: an organisation that is a
        // party keeps its identity, or someone else would gain or lose those contracts.
        let identity_changes = resolved.siren != current.siren || kind != current.kind;
        if identity_changes && repo::usage(change.conn, &id)?.0 > 0 {
            return Err(ApiError::Conflict(
                "this organisation is a party to contracts: its SIREN and kind stay".into(),
            ));
        }
        let read_version = current.version;
        let row = change.next(OrganisationRow {
            kind,
            search_name: fold_for_search(&resolved.name),
            name: resolved.name,
            siren: resolved.siren,
            department: resolved.department,
            insee_code: resolved.insee_code,
            ..current
        });
        let written = repo::update(change.conn, &row, read_version)
            .map_err(|error| conflict_on_unique(error, row.siren.as_deref(), kind))?;
        DirectoryChange::written(written)?;
        change.updated(&OrganisationView::try_from(row)?)
    })
    .await
}

/// Delete an organisation that no contract, equipment or action uses any more.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/organisations/{id}")]
pub async fn delete_organisation(
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    caller.require_contract_manager()?;
    let id = id.into_inner().to_string();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        change.lock("organisation", &id)?;
        let current = repo::find(change.conn, &id)?.ok_or(ApiError::NotFound)?;
        require_writable(change.caller, current.department.as_deref())?;
        change.check(&if_match, current.version)?;
        let (parties, equipments, actions, commitments) = repo::usage(change.conn, &id)?;
        if parties + equipments + actions + commitments > 0 {
            return Err(ApiError::Conflict(format!(
                "still used: party to {parties} contract(s), manager of {equipments} equipment(s), pilot of {actions} action(s), payee of {commitments} commitment(s)"
            )));
        }
        DirectoryChange::written(repo::delete(change.conn, &id, current.version)?)?;
        change.deleted(&OrganisationView::try_from(current)?)
    })
    .await
}
