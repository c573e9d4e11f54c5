//! The indicator catalogue: what a CTG's diagnostic and follow-up measure. Every role reads it;
//! admins write it.

use actix_web::{HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::problems::{CreateProblems, DeleteProblems, ListProblems, ReadProblems, UpdateProblems};
use crate::auth::{Caller, Role};
pub use crate::db::indicators::IndicatorRow as IndicatorView;
use crate::db::indicators::{self as repo, IndicatorFilter};
use crate::domain::contract::Field;
use crate::domain::indicators::{GeoLevel, Periodicity, Unit, is_indicator_code};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams};
use crate::http::query::ApiQuery;
use crate::http::requests::{Create, List, Read, Remove, Update};
use crate::write::{self, DirectoryChange};

write::resource!(
    IndicatorView, "indicator", |view| id: view.code,
    location: format!("/v1/indicators/{}", view.code),
    version: view.version,
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIndicator {
    pub code: String,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub label: String,
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    pub unit: Unit,
    pub ascending: bool,
    pub field: Option<Field>,
    #[validate(length(min = 1, max = 200, message = "must have 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub source: String,
    pub geo_level: GeoLevel,
    pub periodicity: Periodicity,
}

impl RequestBody for CreateIndicator {}

/// Changes to an indicator. Its code, unit, level and periodicity stay: observations are read in
/// them.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorPatch {
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub description: Option<Option<String>>,
    pub ascending: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub field: Option<Option<Field>>,
    #[validate(length(min = 1, max = 200, message = "must have 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub source: Option<String>,
}

impl RequestBody for IndicatorPatch {
    const READ_ONLY: &'static [&'static str] =
        &["version", "created_at", "updated_at", "code", "unit", "geo_level", "periodicity"];
}

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins change the indicator catalogue".into()))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IndicatorListQuery {
    pub field: Option<Field>,
    pub geo_level: Option<GeoLevel>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// The indicator catalogue, by code.
///
/// Who may call it: every role.
#[utoipa::path(tag = "indicators", params(IndicatorListQuery), responses((status = 200, body = Page<IndicatorView>), ListProblems), security(("bearer" = [])))]
#[get("/indicators")]
pub async fn list_indicators((caller, query, pool, tokens): List<IndicatorListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let filter = IndicatorFilter { field: query.field, geo_level: query.geo_level };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("indicators|{filter:?}|{}", caller.fingerprint());
    let cursor_of = |row: &IndicatorView| row.code.clone();
    write::read_page(&pool, tokens, params, binding, cursor_of, move |conn, after, limit| {
        Ok(repo::list(conn, &filter, after, limit)?)
    })
    .await
}

/// One indicator.
///
/// Who may call it: every role.
#[utoipa::path(tag = "indicators", params(("code" = String, Path)), responses((status = 200, body = IndicatorView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/indicators/{code}")]
pub async fn get_indicator((_caller, code, _no_parameters, pool): Read<String>) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    write::read_entry(&pool, move |conn| repo::find(conn, &code)).await
}

/// Add an indicator to the catalogue (admins).
///
/// Who may call it: admins; the other roles get 403.
#[utoipa::path(tag = "indicators", request_body = CreateIndicator, responses((status = 201, body = IndicatorView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/indicators")]
pub async fn create_indicator((caller, request, pool): Create<CreateIndicator>) -> ApiResult<HttpResponse> {
    require_admin(&caller)?;
    let IdempotentJson { body, retry } = request;
    if !is_indicator_code(&body.code) {
        let detail = "a lowercase slug of 2 to 64 letters, digits and '_', starting with a letter";
        return Err(ApiError::validation(vec![FieldError::at_pointer("/code", "INVALID_CODE", detail)]));
    }
    write::change_directory(&pool, caller, retry, move |change| {
        if repo::find(change.conn, &body.code)?.is_some() {
            return Err(ApiError::Conflict(format!("indicator {} already exists", body.code)));
        }
        let row = IndicatorView {
            code: body.code,
            label: body.label.trim().to_owned(),
            description: body.description,
            unit: body.unit,
            ascending: body.ascending,
            field: body.field,
            source: body.source.trim().to_owned(),
            geo_level: body.geo_level,
            periodicity: body.periodicity,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert(change.conn, &row)?;
        change.created(&row)
    })
    .await
}

/// Change an indicator's description (admins).
///
/// Who may call it: admins; the other roles get 403.
#[utoipa::path(tag = "indicators", params(("code" = String, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = IndicatorPatch, responses((status = 200, body = IndicatorView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/indicators/{code}")]
pub async fn update_indicator(
    (caller, code, if_match, patch, pool): Update<String, IndicatorPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    require_admin(&caller)?;
    let code = code.into_inner();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&code, &if_match, |conn| repo::find(conn, &code))?;
        let read_version = current.version;
        let row = change.next(IndicatorView {
            label: patch.label.map_or_else(|| current.label.clone(), |label| label.trim().to_owned()),
            description: patch.description.unwrap_or_else(|| current.description.clone()),
            ascending: patch.ascending.unwrap_or(current.ascending),
            field: patch.field.unwrap_or(current.field),
            source: patch.source.map_or_else(|| current.source.clone(), |source| source.trim().to_owned()),
            ..current
        });
        DirectoryChange::written(repo::update(change.conn, &row, read_version)?)?;
        change.updated(&row)
    })
    .await
}

/// Remove an indicator from the catalogue (admins).
///
/// Who may call it: admins; the other roles get 403.
#[utoipa::path(tag = "indicators", params(("code" = String, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/indicators/{code}")]
pub async fn delete_indicator((caller, code, if_match, pool): Remove<String>) -> ApiResult<HttpResponse> {
    require_admin(&caller)?;
    let code = code.into_inner();
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.current(&code, &if_match, |conn| repo::find(conn, &code))?;
        DirectoryChange::written(repo::delete(change.conn, &current.code, current.version)?)?;
        change.deleted(&current)
    })
    .await
}
