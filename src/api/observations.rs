//! Observations of the catalogue's indicators: read per indicator (JSON pages, or the whole
//! selection as CSV), written in bulk from CSV or NDJSON files. Callers read and write inside their
//! territory only: admins everywhere, CAF agents and integrations in their départements,
//! collectivities their own commune or EPCI.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::{BulkProblems, ObservationListProblems};
use crate::auth::{Caller, Scope};
use crate::db::indicators as catalogue;
pub use crate::db::observations::ObservationRow as ObservationView;
use crate::db::observations::{self as repo, ObservationFilter};
use crate::db::{self, DbPool};
use crate::domain::indicators::GeoLevel;
use crate::domain::observations::{ObservationOrigin, Territory, period_range};
use crate::error::{ApiError, ApiResult};
use crate::http::csv::{self, wants_csv};
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::pagination::{Page, PageParams, PageTokenKey};
use crate::http::query::ApiQuery;
use crate::http::spool;
use crate::ingest::{self, Format, IngestReport};
use crate::write;

/// Bulk files may be this large; they are streamed to disk, never held in memory.
pub const BULK_LIMIT_BYTES: usize = 256 * 1024 * 1024;
/// Rows read per query while streaming a CSV answer.
const CSV_ROWS_PER_QUERY: i64 = 5000;

/// Where the caller reads and writes observations, from its token only.
fn territory(caller: &Caller) -> Territory {
    match caller.scope() {
        Scope::Everything => Territory::Everywhere,
        Scope::Departments(departments) => Territory::Departments(departments.into_iter().collect()),
        Scope::PartyTo(sirens) => Territory::OwnPlaces(sirens.into_iter().collect()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObservationListQuery {
    /// One place: INSEE code, EPCI SIREN or département code, at the indicator's level.
    pub geo_code: Option<String>,
    /// First period included: `2022` includes its quarters.
    #[param(pattern = r"^[0-9]{4}(-Q[1-4])?$", example = "2022")]
    pub period_from: Option<String>,
    /// Last period included: `2024` includes its quarters.
    #[param(pattern = r"^[0-9]{4}(-Q[1-4])?$", example = "2024-Q2")]
    pub period_to: Option<String>,
    /// Only what this bulk ingestion wrote (and no later one replaced): the `ingest_id` of its
    /// report and of its `observations.upserted` events.
    pub ingest_id: Option<String>,
    /// Whose figures: `official` (the default) or the collectivities' own, which stand beside them.
    pub origin: Option<ObservationOrigin>,
    /// JSON only: CSV answers hold the whole selection.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// The filter the query asks for; an unreadable or reversed period range is answered 400.
fn filter(query: &ObservationListQuery) -> ApiResult<ObservationFilter> {
    let (from, after) = period_range(query.period_from.as_deref(), query.period_to.as_deref())
        .map_err(|problem| ApiError::InvalidParameter(Box::new(problem)))?;
    Ok(ObservationFilter {
        origin: query.origin.unwrap_or_default(),
        geo_code: query.geo_code.clone(),
        ingest_id: query.ingest_id.clone(),
        period_from: from.map(|from| from.to_string()),
        period_before: after.map(|after| after.to_string()),
    })
}

const CSV_COLUMNS: [&str; 11] = [
    "indicator",
    "geo_level",
    "geo_code",
    "period",
    "value",
    "suppressed",
    "source",
    "millesime",
    "ingest_id",
    "updated_at",
    "origin",
];

fn csv_row(row: ObservationView) -> Vec<String> {
    vec![
        row.indicator,
        row.geo_level.as_str().to_owned(),
        row.geo_code,
        row.period,
        row.value.unwrap_or_default(),
        row.suppressed.to_string(),
        row.source,
        row.millesime.unwrap_or_default(),
        row.ingest_id,
        db::rfc3339(row.updated_at),
        row.origin.as_str().to_owned(),
    ]
}

/// An indicator's observations in the caller's territory, by place then period.
///
/// With `Accept: text/csv`, every matching observation as CSV (UTF-8 with BOM, `;`), streamed; its
/// columns are those of the bulk format plus `ingest_id`, `updated_at` and `origin`, so it can be
/// sent back. The official figures unless `origin` asks for the collectivities' own.
/// Who may call it: every role.
#[utoipa::path(
    tag = "indicators",
    params(("code" = String, Path, description = "Indicator code"), ObservationListQuery),
    responses((status = 200, description = "A page of observations, or CSV", content((Page<ObservationView> = "application/json"), (String = "text/csv"))), ObservationListProblems),
    security(("bearer" = []))
)]
#[get("/indicators/{code}/observations")]
pub async fn list_observations(
    caller: Caller,
    code: web::Path<String>,
    ApiQuery(query): ApiQuery<ObservationListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let filter = filter(&query)?;
    let territory = territory(&caller);
    let level = {
        let code = code.clone();
        db::run_one_statement(&pool, move |conn| Ok(catalogue::find(conn, &code)?.ok_or(ApiError::NotFound)?.geo_level))
            .await?
    };
    if wants_csv(&req) {
        csv::refuse_paging(query.page_size, query.page_token.as_deref())?;
        return csv_answer(pool.into_inner(), code, level, territory, filter).await;
    }
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("observations|{code}|{filter:?}|{}", caller.fingerprint());
    // The cursor is the (place, period) of the last item, joined with `|`.
    let cursor_of = |row: &ObservationView| format!("{}|{}", row.geo_code, row.period);
    write::read_page(&pool, tokens, params, binding, cursor_of, move |conn, after, limit| {
        let after = after.and_then(|after| after.split_once('|'));
        Ok(repo::list(conn, &code, level, &territory, &filter, after, limit)?)
    })
    .await
}

/// The whole selection as CSV, streamed in chunks.
async fn csv_answer(
    pool: std::sync::Arc<DbPool>,
    code: String,
    level: GeoLevel,
    territory: Territory,
    filter: ObservationFilter,
) -> ApiResult<HttpResponse> {
    let filename = format!("observations-{code}.csv");
    csv::streamed(pool, &CSV_COLUMNS, &filename, move |conn, cursor: Option<(String, String)>| {
        let after = cursor.as_ref().map(|(code, period)| (code.as_str(), period.as_str()));
        let rows = repo::list(conn, &code, level, &territory, &filter, after, CSV_ROWS_PER_QUERY)?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == CSV_ROWS_PER_QUERY;
        let next = rows.last().filter(|_| full).map(|row| (row.geo_code.clone(), row.period.clone()));
        Ok((rows.into_iter().map(csv_row).collect(), next))
    })
    .await
}

/// Upsert observations from a CSV or NDJSON file, all or nothing.
///
/// Upserts observations from a CSV (`text/csv`) or NDJSON (`application/x-ndjson`) file of up to
/// 256 MiB, all or nothing: one bad row and nothing is written, and the 422 lists the bad rows by
/// `line` and `column` with a `code` each. CSV needs a header line naming the columns `indicator`,
/// `geo_level`, `geo_code`, `period`, `value`, `source` and optionally `suppressed` and
/// `millesime`; fields are separated by `,` or `;` (then `57,3` is read as 57.3). Keys are
/// (indicator, geo_level, geo_code, period); one key twice in a file is an error. Each row must be
/// inside the caller's territory; collectivities write their own commune or EPCI with source
/// `collectivite`. Who may call it: every role, inside its territory; a row outside it refuses the
/// whole file with 422.
#[utoipa::path(
    tag = "indicators",
    request_body(content((String = "text/csv"), (String = "application/x-ndjson")), description = "The observations, one per line (`application/ndjson` is accepted too)"),
    responses((status = 200, body = IngestReport), BulkProblems),
    security(("bearer" = []))
)]
#[post("/observations/bulk")]
pub async fn bulk_observations(
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
    pool: web::Data<DbPool>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let format = media_format(&req)?;
    refuse_announced_oversize(&req)?;
    let spooled = spool::spool(payload, BULK_LIMIT_BYTES, key.0.is_some()).await?;
    let path = format!("{} {format:?}", req.path());
    let hash = idempotency::request_hash_of_bytes("POST", &path, spooled.sha256.as_deref().unwrap_or_default());
    let territory = territory(&caller);
    let file = spooled.file;
    let owner = caller.clone();
    idempotency::run_once(&pool, &owner, key.0, hash, move |conn| {
        let report = ingest::ingest(conn, &caller, file, format, &territory, &db::new_id())?;
        Answer::current(None, &report)
    })
    .await
}

/// A body announced larger than the limit is refused before a byte of it is read.
fn refuse_announced_oversize(req: &HttpRequest) -> ApiResult<()> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > BULK_LIMIT_BYTES as u64 => {
            Err(ApiError::PayloadTooLarge { limit_bytes: BULK_LIMIT_BYTES })
        }
        _ => Ok(()),
    }
}

fn media_format(req: &HttpRequest) -> ApiResult<Format> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    essence
        .as_deref()
        .and_then(Format::from_media_type)
        .ok_or_else(|| ApiError::UnsupportedMediaType("send text/csv or application/x-ndjson".into()))
}
