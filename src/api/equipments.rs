//! Equipments: facilities run by a manager organisation, located in a commune. Every role reads
//! them; admins write any, CAF agents those located in their départements.

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::problems::{CreateProblems, DeleteProblems, ListProblems, ReadProblems, UpdateProblems};
pub use crate::db::equipments::EquipmentRow as EquipmentView;
use crate::db::equipments::{self as repo, EquipmentFilter};
use crate::db::{DbConnection, funding, organisations, territories};
use crate::domain::directory::{self, EquipmentFacts};
use crate::domain::organisation::EquipmentType;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams};
use crate::http::query::ApiQuery;
use crate::http::requests::{Create, List, Read, Remove, Update};
use crate::write::{self, DirectoryChange};

write::resource!(
    EquipmentView, "equipment", |view| id: view.id,
    location: format!("/v1/equipments/{}", view.id),
    version: view.version,
    department: Some(&view.department),
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEquipment {
    #[serde(rename = "type")]
    pub equipment_type: EquipmentType,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: String,
    pub siret: Option<String>,
    pub manager_id: Uuid,
    pub commune: String,
    #[validate(range(min = 0, max = 100_000, message = "must be between 0 and 100000"))]
    #[schema(minimum = 0, maximum = 100_000)]
    pub capacity_places: Option<i64>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

impl RequestBody for CreateEquipment {
    const READ_ONLY: &'static [&'static str] = &["id", "version", "status", "created_at", "updated_at", "department"];
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EquipmentPatch {
    #[serde(rename = "type")]
    pub equipment_type: Option<EquipmentType>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub siret: Option<Option<String>>,
    pub manager_id: Option<Uuid>,
    pub commune: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 100_000, message = "must be between 0 and 100000"))]
    #[schema(minimum = 0, maximum = 100_000)]
    pub capacity_places: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub opened_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub closed_on: Option<Option<NaiveDate>>,
}

impl RequestBody for EquipmentPatch {
    const READ_ONLY: &'static [&'static str] = CreateEquipment::READ_ONLY;
}

/// Loads the equipment's manager and commune and judges it (422 listing every problem); returns
/// its département, the commune's.
fn locate(conn: &mut DbConnection, row: &EquipmentView) -> ApiResult<String> {
    let manager = organisations::find(conn, row.manager_id)?;
    let facts = EquipmentFacts {
        manager_found: manager.is_some(),
        manager_siren: manager.and_then(|manager| manager.siren),
        commune_department: territories::find_commune(conn, &row.commune)?.map(|commune| commune.department),
    };
    directory::locate_equipment(row.siret.as_deref(), row.opened_on, row.closed_on, facts).map_err(write::rejected)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EquipmentListQuery {
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub equipment_type: Option<EquipmentType>,
    pub department: Option<String>,
    /// INSEE code.
    pub commune: Option<String>,
    pub manager_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// List the equipments, by id.
///
/// Who may call it: every role.
#[utoipa::path(tag = "equipments", params(EquipmentListQuery), responses((status = 200, body = Page<EquipmentView>), ListProblems), security(("bearer" = [])))]
#[get("/equipments")]
pub async fn list_equipments((caller, query, pool, tokens): List<EquipmentListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let filter = EquipmentFilter {
        equipment_type: query.equipment_type,
        department: query.department,
        commune: query.commune,
        manager_id: query.manager_id,
    };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("equipments|{filter:?}|{}", caller.fingerprint());
    write::read_page(
        &pool,
        tokens,
        params,
        binding,
        |row: &EquipmentView| row.id.to_string(),
        move |conn, after, limit| Ok(repo::list(conn, &filter, after, limit)?),
    )
    .await
}

/// One equipment.
///
/// Who may call it: every role.
#[utoipa::path(tag = "equipments", params(("id" = Uuid, Path)), responses((status = 200, body = EquipmentView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/equipments/{id}")]
pub async fn get_equipment((_caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    write::read_entry(&pool, move |conn| repo::find(conn, id)).await
}

/// Record an equipment.
///
/// Its département is the commune's; a SIRET must belong to the manager. Who may call it: admins,
/// and CAF agents for an entry that lies in their départements; the other roles get 403.
#[utoipa::path(tag = "equipments", request_body = CreateEquipment, responses((status = 201, body = EquipmentView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/equipments")]
pub async fn create_equipment((caller, request, pool): Create<CreateEquipment>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    caller.require_contract_manager()?;
    write::change_directory(&pool, caller, retry, move |change| {
        let mut row = EquipmentView {
            id: Uuid::new_v4(),
            equipment_type: body.equipment_type,
            name: body.name.trim().to_owned(),
            siret: body.siret,
            manager_id: body.manager_id,
            commune: body.commune,
            department: String::new(),
            capacity_places: body.capacity_places,
            opened_on: body.opened_on,
            closed_on: body.closed_on,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        row.department = locate(change.conn, &row)?;
        change.require_writable(Some(&row.department), "equipment")?;
        repo::insert(change.conn, &row)?;
        change.created(&row)
    })
    .await
}

/// Change an equipment; the result is checked as a whole, as on creation.
///
/// Who may call it: admins, and CAF agents for an entry that lies in their départements; the other
/// roles get 403.
#[utoipa::path(tag = "equipments", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = EquipmentPatch, responses((status = 200, body = EquipmentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/equipments/{id}")]
pub async fn update_equipment(
    (caller, id, if_match, patch, pool): Update<Uuid, EquipmentPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    caller.require_contract_manager()?;
    let id = id.into_inner();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&id.to_string(), &if_match, |conn| repo::find(conn, id))?;
        let read_version = current.version;
        let mut row = change.next(EquipmentView {
            equipment_type: patch.equipment_type.unwrap_or(current.equipment_type),
            name: patch.name.map_or(current.name.clone(), |name| name.trim().to_owned()),
            siret: patch.siret.unwrap_or_else(|| current.siret.clone()),
            manager_id: patch.manager_id.unwrap_or(current.manager_id),
            commune: patch.commune.unwrap_or_else(|| current.commune.clone()),
            capacity_places: patch.capacity_places.unwrap_or(current.capacity_places),
            opened_on: patch.opened_on.unwrap_or(current.opened_on),
            closed_on: patch.closed_on.unwrap_or(current.closed_on),
            ..current
        });
        row.department = locate(change.conn, &row)?;
        change.require_writable(Some(&row.department), "equipment")?;
        DirectoryChange::written(repo::update(change.conn, &row, read_version)?)?;
        change.updated(&row)
    })
    .await
}

/// Delete an equipment.
///
/// Who may call it: admins, and CAF agents for an entry that lies in their départements; the other
/// roles get 403.
#[utoipa::path(tag = "equipments", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/equipments/{id}")]
pub async fn delete_equipment((caller, id, if_match, pool): Remove<Uuid>) -> ApiResult<HttpResponse> {
    caller.require_contract_manager()?;
    let id = id.into_inner();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&id.to_string(), &if_match, |conn| repo::find(conn, id))?;
        let commitments = funding::commitments_using(change.conn, None, Some(id))?;
        if commitments > 0 {
            return Err(ApiError::Conflict(format!("{commitments} funding commitment(s) still name this equipment")));
        }
        DirectoryChange::written(repo::delete(change.conn, id, current.version)?)?;
        change.deleted(&current)
    })
    .await
}
