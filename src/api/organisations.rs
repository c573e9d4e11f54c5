//! Organisations: the CAF, collectivities and other partners of the contracts. Every role reads
//! the directory; admins write any entry, CAF agents those located in their départements.

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::problems::{CreateProblems, DeleteProblems, ListProblems, ReadProblems, UpdateProblems};
use crate::auth::Caller;
pub use crate::db::organisations::OrganisationRow as OrganisationView;
use crate::db::organisations::{self as repo, OrganisationFilter};
use crate::db::{self, DbConnection, DbPool, territories};
use crate::domain::identifiers::check_siren;
use crate::domain::organisation::OrganisationKind;
use crate::domain::territory::fold_for_search;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{Answer, IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams};
use crate::http::preconditions::IfMatch;
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

/// An organisation the reference accepted, with its defaults filled.
struct Resolved {
    kind: OrganisationKind,
    name: String,
    siren: Option<String>,
    department: Option<String>,
    insee_code: Option<String>,
}

impl Resolved {
    /// The entry `id` as resolved, at `version`; it was first written at `created_at`.
    fn into_row(self, id: Uuid, version: i64, created_at: NaiveDateTime) -> OrganisationView {
        OrganisationView {
            id,
            kind: self.kind,
            search_name: fold_for_search(&self.name),
            name: self.name,
            siren: self.siren,
            department: self.department,
            insee_code: self.insee_code,
            version,
            created_at,
            updated_at: created_at,
        }
    }
}

/// Checks a draft against the reference and fills its defaults, listing every problem at once. A
/// draft is what a creation asks for; for a change, the current entry with the patch applied.
fn resolve(conn: &mut DbConnection, mut draft: CreateOrganisation) -> ApiResult<Resolved> {
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
        let CreateOrganisation { kind, siren, department, insee_code, .. } = draft;
        Ok(Resolved { kind, name, siren, department, insee_code })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// A commune's or an EPCI's SIREN must be in the reference, which gives its name, INSEE code and
/// département.
fn fill_from_reference(
    conn: &mut DbConnection,
    draft: &mut CreateOrganisation,
    errors: &mut Vec<FieldError>,
) -> ApiResult<()> {
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
fn check_place(conn: &mut DbConnection, draft: &mut CreateOrganisation, errors: &mut Vec<FieldError>) -> ApiResult<()> {
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

/// Runs `work` on the organisation `id` as one directory change, under the entry's lock, once
/// the caller may write it and `If-Match` holds.
async fn change_entry<F>(caller: Caller, pool: &DbPool, id: Uuid, if_match: IfMatch, work: F) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DirectoryChange<'_>, OrganisationView) -> ApiResult<Answer> + Send + 'static,
{
    caller.require_contract_manager()?;
    write::change_directory(pool, caller, Retry::none(), move |change| {
        change.lock("organisation", &id.to_string())?;
        let current = repo::find(change.conn, id)?.ok_or(ApiError::NotFound)?;
        change.require_writable(current.department.as_deref(), "organisation")?;
        change.check(&if_match, current.version)?;
        work(change, current)
    })
    .await
}

/// Turns the UNIQUE violations of writing `row` into the conflicts they mean.
fn conflict_on_unique(error: diesel::result::Error, row: &OrganisationView) -> ApiError {
    if !db::is_unique_violation(&error) {
        return error.into();
    }
    let siren = row.siren.as_deref().unwrap_or("-");
    if row.kind == OrganisationKind::Caf {
        ApiError::Conflict(format!("an organisation with SIREN {siren} or the CAF of this département already exists"))
    } else {
        ApiError::Conflict(format!("an organisation with SIREN {siren} already exists"))
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
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path)), responses((status = 200, body = OrganisationView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/organisations/{id}")]
pub async fn get_organisation((_caller, id, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    write::read_entry(&pool, move |conn| repo::find(conn, id)).await
}

/// Record an organisation. For a commune or an EPCI, the SIREN must be in the territory
/// reference, and the name, département and INSEE code default from it. One CAF per département.
#[utoipa::path(tag = "organisations", request_body = CreateOrganisation, responses((status = 201, body = OrganisationView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/organisations")]
pub async fn create_organisation((caller, request, pool): Create<CreateOrganisation>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, retry, move |change| {
        let resolved = resolve(change.conn, body)?;
        change.require_writable(resolved.department.as_deref(), "organisation")?;
        let row = resolved.into_row(Uuid::new_v4(), 1, change.at);
        repo::insert(change.conn, &row).map_err(|error| conflict_on_unique(error, &row))?;
        change.created(&row)
    })
    .await
}

/// Change an organisation. The result is checked as a whole, as on creation.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = OrganisationPatch, responses((status = 200, body = OrganisationView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    (caller, id, if_match, patch, pool): Update<Uuid, OrganisationPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let id = id.into_inner();
    change_entry(caller, &pool, id, if_match, move |change, current| {
        let draft = CreateOrganisation {
            kind: patch.kind.unwrap_or(current.kind),
            name: patch.name.or_else(|| Some(current.name.clone())),
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
        let row = change.next(resolved.into_row(id, current.version, current.created_at));
        let written =
            repo::update(change.conn, &row, current.version).map_err(|error| conflict_on_unique(error, &row))?;
        DirectoryChange::written(written)?;
        change.updated(&row)
    })
    .await
}

/// Delete an organisation that no contract, equipment or action uses any more.
#[utoipa::path(tag = "organisations", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/organisations/{id}")]
pub async fn delete_organisation((caller, id, if_match, pool): Remove<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    change_entry(caller, &pool, id, if_match, move |change, current| {
        let usage = repo::usage(change.conn, id)?;
        if !usage.is_unused() {
            let repo::Usage { parties, equipments, actions, commitments } = usage;
            return Err(ApiError::Conflict(format!(
                "still used: party to {parties} contract(s), manager of {equipments} equipment(s), pilot of {actions} action(s), payee of {commitments} commitment(s)"
            )));
        }
        DirectoryChange::written(repo::delete(change.conn, id, current.version)?)?;
        change.deleted(&current)
    })
    .await
}
