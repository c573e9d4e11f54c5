//! Bulk files of observations taken as jobs: `POST /v1/observations/bulk` answers 202 with the
//! import's address, the file is checked and staged in the background (no lock held), then applied
//! in one short transaction, and `GET /v1/observation-imports/{id}` tells its sender where it
//! stands.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use chrono::{NaiveDateTime, TimeDelta};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use super::problems::ReadProblems;
use crate::auth::{Caller, Role};
use crate::db::observation_imports::{self as repo, ImportRow, ImportStatus, Outcome};
use crate::db::observations::Ingestion;
use crate::db::{self, DbPool};
use crate::domain::observations::{ObservationOrigin, Territory};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::requests::Read;
use crate::http::spool::Spooled;
use crate::http::uploads::UploadPermit;
use crate::ingest::{self, Format, Reference};

/// How often a job being checked records the rows it has read.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// A job not moved for this long was on an instance that stopped: nothing of it was written (the
/// apply is one transaction), and it is shown as failed.
const INTERRUPTED_AFTER: TimeDelta = TimeDelta::minutes(5);

/// A bulk file taken as a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    pub status: ImportStatus,
    /// `text/csv` or `application/x-ndjson`.
    pub media_type: String,
    pub bytes: i64,
    /// Data rows read so far.
    pub rows_read: i64,
    /// Rows written: `inserted` plus `updated`, once applied.
    pub rows_written: i64,
    pub inserted: i64,
    pub updated: i64,
    /// The `ingest_id` its rows carry once applied (`/v1/indicators/{code}/observations?ingest_id=…`).
    pub ingest_id: Option<String>,
    /// Why it failed, as a 422 would list it: each problem with its line and column.
    #[schema(value_type = Vec<FieldError>)]
    pub errors: Box<RawValue>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// From its start to its end, or to now while it runs.
    pub elapsed_ms: i64,
}

fn view(row: ImportRow, now: NaiveDateTime) -> ApiResult<ImportView> {
    let mut status = ImportStatus::try_from(row.status.as_str()).map_err(ApiError::internal)?;
    let mut errors = row.errors.unwrap_or_else(|| "[]".to_owned());
    let running = matches!(status, ImportStatus::Queued | ImportStatus::Checking | ImportStatus::Applying);
    let mut finished_at = row.finished_at;
    if running && now - row.updated_at > INTERRUPTED_AFTER {
        status = ImportStatus::Failed;
        finished_at = Some(row.updated_at);
        let interrupted = FieldError::condition(
            "INTERRUPTED",
            "the instance taking this file stopped before it was applied; nothing was written: send it again",
        );
        errors = serde_json::to_string(&[interrupted]).map_err(ApiError::internal)?;
    }
    let elapsed = row.started_at.map_or(TimeDelta::zero(), |started| finished_at.unwrap_or(now) - started);
    Ok(ImportView {
        id: row.id,
        status,
        media_type: row.media_type,
        bytes: row.bytes,
        rows_read: row.rows_read,
        rows_written: row.rows_written,
        inserted: row.inserted,
        updated: row.updated,
        ingest_id: row.ingest_id,
        errors: RawValue::from_string(errors).map_err(ApiError::internal)?,
        created_at: db::rfc3339(row.created_at),
        started_at: row.started_at.map(db::rfc3339),
        finished_at: finished_at.map(db::rfc3339),
        elapsed_ms: elapsed.num_milliseconds(),
    })
}

/// An import just taken, as the 202 answers it.
pub fn queued(row: ImportRow) -> ApiResult<ImportView> {
    let at = row.created_at;
    view(row, at)
}

pub fn location(id: &str) -> String {
    format!("/v1/observation-imports/{id}")
}

/// A bulk file taken as a job, and where it stands.
///
/// Its status (`queued`, `checking`, `applying`, `succeeded`, `failed`), the rows read and written,
/// the time it has taken and, when it failed, every problem by line and column; a failed file
/// wrote nothing. Imports are kept as long as idempotency keys. Who may call it: the caller who
/// sent the file, and admins.
#[utoipa::path(
    tag = "indicators",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/observation-imports/{id}")]
pub async fn get_observation_import((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let owner = (!matches!(caller.role, Role::Admin)).then(|| caller.fingerprint());
    let row = db::run_one_statement(&pool, move |conn| Ok(repo::find(conn, &id, owner.as_deref())?))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(view(row, db::now())?))
}

/// Everything a job needs, handed over from the request that was answered 202.
pub struct Job {
    pub id: String,
    pub caller: Caller,
    pub territory: Territory,
    pub format: Format,
    pub spooled: Spooled,
    /// Held until the job ends: its place among uploads, and its bytes on disk.
    pub permit: UploadPermit,
}

/// Runs `job` to its end, recording each step on its import.
pub async fn run(pool: web::Data<DbPool>, job: Job) {
    let id = job.id.clone();
    if let Err(error) = run_steps(&pool, job).await {
        let errors = match &error {
            ApiError::ValidationFailed(errors) => errors.clone(),
            other => vec![FieldError::condition(other.code(), other.problem().detail)],
        };
        let errors = serde_json::to_string(&errors).unwrap_or_else(|_| "[]".to_owned());
        let outcome = move |rows_read| Outcome {
            status: ImportStatus::Failed,
            rows_read,
            inserted: 0,
            updated: 0,
            ingest_id: None,
            errors: Some(errors),
        };
        let finished = db::run_write(&pool, move |conn| {
            let rows_read = repo::find(conn, &id, None)?.map_or(0, |row| u64::try_from(row.rows_read).unwrap_or(0));
            Ok(repo::finish(conn, &id, &outcome(rows_read), db::now())?)
        })
        .await;
        if let Err(error) = finished {
            log::error!("could not record that an import failed: {error}");
        }
    }
}

async fn run_steps(pool: &DbPool, job: Job) -> ApiResult<()> {
    let Job { id, caller, territory, format, spooled, permit: _permit } = job;
    // Progress is for whoever follows the job: a write of it that fails is logged, not fatal.
    let record = |status: ImportStatus, rows: u64| {
        let id = id.clone();
        async move {
            let recorded = db::run_write(pool, move |conn| Ok(repo::progress(conn, &id, status, rows, db::now())?));
            if let Err(error) = recorded.await {
                log::warn!("could not record an import's progress: {error}");
            }
        }
    };
    {
        let id = id.clone();
        db::run_write(pool, move |conn| Ok(repo::start(conn, &id, db::now())?)).await?;
    }
    let reference = db::run(pool, |conn| Ok(Reference::load(conn)?)).await?;
    let read = Arc::new(AtomicU64::new(0));
    let mut checking = {
        let (read, territory) = (read.clone(), territory.clone());
        tokio::task::spawn_blocking(move || ingest::check(spooled.file, format, &reference, &territory, &read))
    };
    let mut checked = loop {
        tokio::select! {
            done = &mut checking => break done.map_err(ApiError::internal)??,
            () = tokio::time::sleep(PROGRESS_EVERY) => {
                record(ImportStatus::Checking, read.load(Ordering::Relaxed)).await;
            }
        }
    };
    record(ImportStatus::Applying, checked.rows).await;
    let staging = checked.staging_path();
    db::run_write_beside(pool, Some(staging), move |conn| {
        let at = db::now();
        let ingestion = Ingestion { id: &id, at, origin: ObservationOrigin::of_writer_in(&territory) };
        let report = ingest::apply(conn, &caller, &mut checked, ingestion)?;
        let outcome = Outcome {
            status: ImportStatus::Succeeded,
            rows_read: report.rows,
            inserted: report.inserted,
            updated: report.updated,
            ingest_id: Some(&report.ingest_id),
            errors: None,
        };
        Ok(repo::finish(conn, &id, &outcome, at)?)
    })
    .await
}
