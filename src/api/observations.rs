//! Observations of the catalogue's indicators: read per indicator (JSON pages, or the whole
//! selection as CSV), written in bulk from CSV or NDJSON files. Callers read and write inside their
//! territory only: admins everywhere, CAF agents and integrations in their départements,
//! collectivities their own commune or EPCI.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::observation_imports::{self, ImportView, Job};
use super::problems::{BulkProblems, ObservationListProblems};
use crate::auth::{Caller, Role, Scope};
use crate::db::indicators as catalogue;
use crate::db::observation_imports::{self as imports, ImportRow};
pub use crate::db::observations::ObservationRow as ObservationView;
use crate::db::observations::{self as repo, Ingestion, ObservationFilter};
use crate::db::{self, DbPool};
use crate::domain::indicators::GeoLevel;
use crate::domain::observations::{ObservationOrigin, Territory, period_range};
use crate::error::{ApiError, ApiResult};
use crate::http::csv::{self, wants_csv};
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::pagination::{Page, PageParams, PageTokenKey};
use crate::http::query::ApiQuery;
use crate::http::spool;
use crate::http::uploads::Uploads;
use crate::ingest::{self, Format, IngestReport, Reference};
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
/// 256 MiB (4 MiB for a collectivity), all or nothing: one bad row and nothing is written, and the
/// problem lists the bad rows by `line` and `column` with a `code` each. CSV needs a header line
/// naming the columns `indicator`, `geo_level`, `geo_code`, `period`, `value`, `source` and
/// optionally `suppressed` and `millesime`; fields are separated by `,` or `;` (then `57,3` is read
/// as 57.3). Keys are (indicator, geo_level, geo_code, period, origin); one key twice in a file is
/// an error. The origin is the sender's: `official` for admins, CAF agents and integrations,
/// `collectivity` for collectivities, which write their own commune or EPCI with source
/// `collectivite`. A file of up to 8 MiB is answered once written (200, with its report); a larger
/// one, or any sent with `Prefer: respond-async`, becomes a job: 202 with `Location:
/// /v1/observation-imports/{id}`, where its progress and outcome are read. The file is checked
/// and staged without holding the database; only its final apply, one transaction, makes other
/// writers wait. Concurrent uploads are capped per caller (429) and in all (503), and a body that
/// stops coming is 408. Who may call it: every role, inside its territory; a row outside it
/// refuses the whole file with 422.
#[utoipa::path(
    tag = "indicators",
    params(
        ("Prefer" = Option<String>, Header, description = "`respond-async` makes any file a job (RFC 7240)", pattern = r"^[ -~]{1,255}$"),
    ),
    request_body(content((String = "text/csv"), (String = "application/x-ndjson")), description = "The observations, one per line (`application/ndjson` is accepted too)"),
    responses(
        (status = 200, body = IngestReport, description = "The file is written"),
        (status = 202, body = ImportView, description = "The file is taken as a job; follow it at `Location`", headers(("Location" = String, description = "/v1/observation-imports/{id}"), ("Preference-Applied" = String, description = "`respond-async` when the request preferred it")),
            links(("GetObservationImport" = (operation_id = "get_observation_import", description = "Follows the job", parameters(("id" = "$response.body#/id")))))),
        BulkProblems
    ),
    security(("bearer" = []))
)]
#[post("/observations/bulk")]
#[allow(clippy::too_many_arguments)]
pub async fn bulk_observations(
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
    pool: web::Data<DbPool>,
    uploads: web::Data<Uploads>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let territory = territory(&caller);
    let limit = upload_limit(&caller);
    // Everything that can refuse the file is judged before a byte of it is read; the unread body
    // then goes with the connection.
    let admitted = async {
        let format = media_format(&req)?;
        spool::refuse_announced_oversize(&req, limit)?;
        refuse_nowhere_to_write(&pool, &territory).await?;
        Ok::<_, ApiError>((format, uploads.admit(&caller.fingerprint())?))
    };
    let (format, permit) = match admitted.await {
        Ok(admitted) => admitted,
        Err(error) => return Ok(spool::refused_unread(&error)),
    };
    let spooled = spool::spool(payload, limit, key.0.is_some(), &permit).await?;
    let path = format!("{} {format:?}", req.path());
    let hash = idempotency::request_hash_of_bytes("POST", &path, spooled.sha256.as_deref().unwrap_or_default());
    let preferred = prefers_async(&req);
    if preferred || spooled.bytes > SYNC_LIMIT_BYTES {
        let job = Job { id: Uuid::new_v4().to_string(), caller, territory, format, spooled, permit };
        let mut answer = take_as_job(pool, key, hash, job).await?;
        if preferred && answer.status() == actix_web::http::StatusCode::ACCEPTED {
            // RFC 7240: say which preference the answer followed.
            answer.headers_mut().insert(
                header::HeaderName::from_static("preference-applied"),
                header::HeaderValue::from_static("respond-async"),
            );
        }
        return Ok(answer);
    }
    if let Some(replayed) = idempotency::answered(&pool, &caller, key.0.as_deref(), &hash).await? {
        return Ok(replayed);
    }
    let reference = db::run(&pool, |conn| Ok(Reference::load(conn)?)).await?;
    let mut checked = {
        let territory = territory.clone();
        let file = spooled.file;
        web::block(move || ingest::check(file, format, &reference, &territory, &AtomicU64::new(0)))
            .await
            .map_err(ApiError::internal)??
    };
    let beside = Some(checked.staging_path());
    let owner = caller.clone();
    let ingest_id = db::new_id();
    let answer = idempotency::run_once_beside(&pool, &owner, key.0, hash, beside, move |conn| {
        let ingestion =
            Ingestion { id: &ingest_id, at: db::now(), origin: ObservationOrigin::of_writer_in(&territory) };
        let report = ingest::apply(conn, &caller, &mut checked, ingestion)?;
        Answer::current(None, &report)
    })
    .await;
    drop(permit);
    answer
}

/// Files up to this size are answered when written (200 with the report); larger ones, and any
/// sent with `Prefer: respond-async`, become jobs (202).
pub const SYNC_LIMIT_BYTES: u64 = 8 * 1024 * 1024;
/// A collectivity writes figures about its own few places: far less than a national file.
pub const COLLECTIVITY_LIMIT_BYTES: usize = 4 * 1024 * 1024;

fn upload_limit(caller: &Caller) -> usize {
    match caller.role {
        Role::Collectivity { .. } => COLLECTIVITY_LIMIT_BYTES,
        Role::Admin | Role::CafAgent { .. } | Role::Integration { .. } => BULK_LIMIT_BYTES,
    }
}

/// Whether the client asked for a job whatever the file's size (RFC 7240).
fn prefers_async(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|preference| preference.trim().eq_ignore_ascii_case("respond-async")))
}

/// A caller whose token names no place of the reference may write nowhere: 403 before its file is read.
async fn refuse_nowhere_to_write(pool: &DbPool, territory: &Territory) -> ApiResult<()> {
    let somewhere = match territory {
        Territory::Everywhere => true,
        Territory::Departments(departments) => !departments.is_empty(),
        Territory::OwnPlaces(sirens) => {
            let sirens = sirens.clone();
            db::run_one_statement(pool, move |conn| Ok(repo::names_a_place(conn, &sirens)?)).await?
        }
    };
    if somewhere {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "your token names no place of the reference (département, commune or EPCI) to write observations about"
                .into(),
        ))
    }
}

/// Records the import and answers 202 with its address; the job starts once that is committed,
/// and only for the request that recorded it (a retry with the same key is answered the same 202).
async fn take_as_job(pool: web::Data<DbPool>, key: IdempotencyKey, hash: String, job: Job) -> ApiResult<HttpResponse> {
    let caller = job.caller.clone();
    let row =
        ImportRow::queued(job.id.clone(), caller.fingerprint(), job.format.media_type(), job.spooled.bytes, db::now());
    let taken = Arc::new(AtomicBool::new(false));
    let answer = {
        let taken = taken.clone();
        idempotency::run_once(&pool, &caller, key.0, hash, move |conn| {
            imports::insert(conn, &row)?;
            taken.store(true, Ordering::SeqCst);
            Answer::accepted(observation_imports::location(&row.id), &observation_imports::queued(row)?)
        })
        .await?
    };
    if taken.load(Ordering::SeqCst) {
        actix_web::rt::spawn(observation_imports::run(pool, job));
    }
    Ok(answer)
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
