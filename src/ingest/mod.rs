//! Bulk ingestion of observations, in two phases. First a file (CSV or NDJSON, already on disk) is
//! read and checked on one thread while another stages the checked rows in a private SQLite file
//! ([`staging`]): this takes no lock of the service's database, whatever the file's size. Then,
//! if no row was refused, the staged rows are applied in one short write transaction. Any bad row
//! makes the whole file fail, before anything is written, and the answer lists the bad rows by line
//! and column.
//!
//! Memory stays flat whatever the file's size: rows travel in batches through a channel of two,
//! and a key given twice in one file is found by the staging table's key rather than by a set of
//! every key read so far.

mod csv_rows;
mod ndjson_rows;
mod rows;
pub mod staging;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

pub use rows::Rows;
use staging::{Staging, duplicate};

use crate::auth::Caller;
use crate::db::events::{self, NewEvent};
use crate::db::observations as repo;
use crate::db::observations::{Ingestion, Written};
use crate::db::{self, DbConnection};
use crate::domain::observations::{IndicatorRule, Places, RawRow, RowRules, Territory, ValidRow};
use crate::error::{ApiError, ApiResult, FieldError};

/// Rows per INSERT statement: large enough to amortise a statement, under SQLite's (32,766) and
/// PostgreSQL's (65,535) limits on bound parameters at 9 per row.
pub const ROWS_PER_STATEMENT: usize = 2000;
/// Complaints listed in a 422 before reading stops.
pub const MAX_LISTED_ERRORS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// The format of a `Content-Type` essence: `text/csv` or `application/x-ndjson`.
    pub fn from_media_type(essence: &str) -> Option<Self> {
        match essence {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/ndjson" => Some(Self::Ndjson),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

/// What a file did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestReport {
    /// Recorded on every row this file wrote (`ingest_id` of the observations).
    pub ingest_id: String,
    /// Data rows read.
    pub rows: u64,
    /// Keys that had no observation yet.
    pub inserted: u64,
    /// Keys whose observation this file replaced.
    pub updated: u64,
}

/// What a file's rows are checked against: the catalogue and the territory reference, read once.
pub struct Reference {
    indicators: HashMap<String, IndicatorRule>,
    places: Places,
}

impl Reference {
    pub fn load(conn: &mut DbConnection) -> diesel::QueryResult<Self> {
        Ok(Self { indicators: repo::indicator_rules(conn)?, places: repo::places(conn)? })
    }
}

/// A file whose every row passed, staged and waiting to be applied.
pub struct Checked {
    staging: Staging,
    /// Data rows read.
    pub rows: u64,
    /// Rows per (département, indicator), for the change feed.
    per_department: BTreeMap<(String, String), u64>,
}

impl Checked {
    /// The staging file, for [`db::run_write_beside`].
    pub fn staging_path(&self) -> std::path::PathBuf {
        self.staging.path().to_owned()
    }
}

/// Reads and checks the file `spool` and stages its rows, holding no lock of the service's
/// database. `read` counts the rows as they are read, for whoever follows the progress. A file
/// with a refused row is a 422 that lists the problems.
pub fn check(
    spool: File,
    format: Format,
    reference: &Reference,
    territory: &Territory,
    read: &AtomicU64,
) -> ApiResult<Checked> {
    let mut staging = Staging::create()?;
    let failed = AtomicBool::new(false);
    let (sender, receiver) = sync_channel::<Vec<ValidRow>>(2);
    let started = Instant::now();
    let (outcome, staged) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let rules = RowRules {
                indicators: &reference.indicators,
                places: &reference.places,
                territory,
                decimal_comma: false,
            };
            read_and_check(spool, format, rules, sender, &failed, read)
        });
        let staged = stage_batches(&mut staging, receiver, &failed);
        (reader.join(), staged)
    });
    let outcome = outcome.map_err(|_| ApiError::internal("the ingestion reader panicked"))??;
    let (staging_errors, staging_time) = staged?;
    log::info!(
        "checked {} rows in {:.3} s; the reader waited {:.3} s for the staging, which spent {:.3} s in INSERTs",
        outcome.rows,
        started.elapsed().as_secs_f64(),
        outcome.waited.as_secs_f64(),
        staging_time.as_secs_f64()
    );
    let mut errors = outcome.errors;
    errors.extend(staging_errors);
    if !errors.is_empty() {
        errors.sort_by_key(|error| error.line);
        if outcome.stopped || errors.len() > MAX_LISTED_ERRORS {
            errors.truncate(MAX_LISTED_ERRORS);
            let detail = format!("reading stopped after {MAX_LISTED_ERRORS} problems");
            errors.push(FieldError::condition("TOO_MANY_ERRORS", detail));
        }
        return Err(ApiError::ValidationFailed(errors));
    }
    Ok(Checked { staging, rows: outcome.rows, per_department: outcome.per_department })
}

/// The count of observation rows applied by committed imports, for [`crate::http::metrics`].
pub const ROWS_INGESTED: &str = "ctg_bulk_rows_ingested_total";

/// Writes the rows of `checked` as `ingestion`, in the transaction `conn` is in: on SQLite with the
/// staging file attached ([`db::run_write_beside`]), in one statement; on PostgreSQL through `COPY`
/// and one statement. Its rows count in [`ROWS_INGESTED`] once that transaction commits.
pub fn apply(
    conn: &mut DbConnection,
    caller: &Caller,
    checked: &mut Checked,
    ingestion: Ingestion<'_>,
) -> ApiResult<IngestReport> {
    // One file applied at a time, so that inserted/updated counts are this file's own. SQLite's
    // writer already has the database to itself.
    db::serialize_writers(conn, "observations:bulk")?;
    let started = Instant::now();
    let written = if matches!(conn, DbConnection::Sqlite(_)) {
        repo::upsert_staged(conn, ingestion)?
    } else {
        copy_from_staging(conn, &mut checked.staging, ingestion)?
    };
    record_events(conn, caller, ingestion, &checked.per_department)?;
    log::info!(
        "ingestion {}: applied {} rows in {:.3} s",
        ingestion.id,
        checked.staging.rows(),
        started.elapsed().as_secs_f64()
    );
    let rows = checked.rows;
    db::count_on_commit(ROWS_INGESTED, rows);
    Ok(IngestReport { ingest_id: ingestion.id.to_owned(), rows, inserted: written.inserted, updated: written.updated })
}

/// Copies the staged rows into PostgreSQL ([`repo::copy_and_upsert`]), the next batch read from
/// the staging file on another thread while the database takes this one. A failed read closes the
/// channel early and is returned: the transaction then rolls back whatever was copied.
fn copy_from_staging(conn: &mut DbConnection, staging: &mut Staging, ingestion: Ingestion<'_>) -> ApiResult<Written> {
    let (sender, receiver) = sync_channel::<Vec<ValidRow>>(2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> ApiResult<()> {
            let mut last: Option<ValidRow> = None;
            loop {
                let batch = staging.batch_after(last.as_ref(), ROWS_PER_STATEMENT)?;
                last = batch.last().cloned();
                // An empty batch is the end; a closed channel, a writer that stopped on an error.
                if batch.is_empty() || sender.send(batch).is_err() {
                    return Ok(());
                }
            }
        });
        let written = repo::copy_and_upsert(conn, receiver.iter(), ingestion).map_err(ApiError::from);
        // The receiver goes first, so that a reader blocked on a full channel sees it closed.
        drop(receiver);
        let read = reader.join().map_err(|_| ApiError::internal("the staging reader panicked"))?;
        read.and(written)
    })
}

/// One `observations.upserted` event per département the file touched, in that département's
/// scope: which indicators and how many rows. The rows themselves are read with
/// `GET /v1/indicators/{code}/observations?ingest_id=…`, so a million rows make a handful of
/// events, not a million.
fn record_events(
    conn: &mut DbConnection,
    caller: &Caller,
    ingestion: Ingestion<'_>,
    per_department: &BTreeMap<(String, String), u64>,
) -> ApiResult<()> {
    let ingest_id = ingestion.id;
    let mut by_department: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for ((department, indicator), rows) in per_department {
        by_department.entry(department).or_default().insert(indicator, *rows);
    }
    let at = db::now();
    let upserted: Vec<NewEvent<'_>> = by_department
        .into_iter()
        .map(|(department, indicators)| {
            let body = serde_json::json!({
                "ingest_id": ingest_id,
                "department": department,
                "origin": ingestion.origin,
                "rows": indicators.values().sum::<u64>(),
                "indicators": indicators,
            });
            NewEvent {
                caller,
                at,
                resource: "observations",
                action: "upserted",
                resource_id: ingest_id,
                contract_id: None,
                department: Some(department),
                body: Some(body.to_string()),
            }
        })
        .collect();
    events::record_all(conn, &upserted)?;
    Ok(())
}

/// Reads the whole file on this thread, checks each row and hands full batches to the staging;
/// returns what was read, once the channel to the staging is closed. A line over [`MAX_LINE_BYTES`] ends reading with a complaint about it.
fn read_and_check<'a>(
    spool: File,
    format: Format,
    rules: RowRules<'a>,
    sender: SyncSender<Vec<ValidRow>>,
    failed: &'a AtomicBool,
    read: &'a AtomicU64,
) -> ApiResult<ReadOutcome> {
    let mut batcher = Batcher {
        read,
        rules,
        batch: Vec::with_capacity(ROWS_PER_STATEMENT),
        sender,
        failed,
        errors: Vec::new(),
        rows: 0,
        waited: Duration::ZERO,
        per_department: HashMap::new(),
        stopped: false,
    };
    let input = BufReader::with_capacity(1 << 16, LineLimit { inner: spool, since_newline: 0, line: 1 });
    let outcome = match format {
        Format::Csv => csv_rows::read(input, &mut batcher),
        Format::Ndjson => ndjson_rows::read(input, &mut batcher),
    };
    if let Err(error) = outcome {
        let Some(LineTooLong(line)) = error.get_ref().and_then(|inner| inner.downcast_ref::<LineTooLong>()) else {
            return Err(ApiError::internal(error));
        };
        let detail = format!("a line holds at most {MAX_LINE_BYTES} bytes; reading stopped here");
        batcher.last_error(FieldError::at_line(*line, None, "LINE_TOO_LONG", detail));
    }
    batcher.flush();
    // The batcher, and with it the channel's sender, goes here: the staging loop then ends.
    Ok(ReadOutcome {
        rows: batcher.rows,
        errors: batcher.errors,
        waited: batcher.waited,
        per_department: batcher
            .per_department
            .into_iter()
            .map(|((department, indicator), rows)| ((department.to_owned(), indicator.to_owned()), rows))
            .collect(),
        stopped: batcher.stopped,
    })
}

/// What reading the file found.
struct ReadOutcome {
    rows: u64,
    errors: Vec<FieldError>,
    waited: Duration,
    per_department: BTreeMap<(String, String), u64>,
    stopped: bool,
}

/// Longest line a file may hold: far beyond any real row, short enough that one line can never
/// fill memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The line that grew past [`MAX_LINE_BYTES`].
#[derive(Debug)]
struct LineTooLong(u64);

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} is longer than {MAX_LINE_BYTES} bytes", self.0)
    }
}

impl std::error::Error for LineTooLong {}

/// Passes the file through, failing with [`LineTooLong`] as soon as a line grows past the limit,
/// before the readers above it buffer the whole line.
struct LineLimit<R> {
    inner: R,
    since_newline: usize,
    /// The line being read, from 1.
    line: u64,
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        for &byte in &buffer[..read] {
            if byte == b'\n' {
                self.since_newline = 0;
                self.line += 1;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, LineTooLong(self.line)));
                }
            }
        }
        Ok(read)
    }
}

/// Checks each row and sends full batches to the staging. Once a problem is found nothing more is
/// sent (nothing will be applied), but reading goes on to list further problems.
struct Batcher<'a> {
    /// Rows read so far, for whoever follows the progress.
    read: &'a AtomicU64,
    rules: RowRules<'a>,
    batch: Vec<ValidRow>,
    sender: SyncSender<Vec<ValidRow>>,
    failed: &'a AtomicBool,
    errors: Vec<FieldError>,
    rows: u64,
    /// Time spent blocked on a full channel: the staging is the bottleneck when this is large.
    waited: Duration,
    /// Valid rows per (département, indicator), for the change feed; borrowed from the reference
    /// and the catalogue so that counting allocates nothing per row.
    per_department: HashMap<(&'a str, &'a str), u64>,
    /// Whether reading stopped before the end of the file, at the limit of listed problems.
    stopped: bool,
}

impl Batcher<'_> {
    fn keep_going(&mut self) -> ControlFlow<()> {
        if self.errors.len() >= MAX_LISTED_ERRORS {
            self.stopped = true;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(ROWS_PER_STATEMENT));
        self.errors.extend(repeated_keys(&batch));
        if !self.errors.is_empty() {
            self.failed.store(true, Ordering::Relaxed);
        }
        if batch.is_empty() || self.failed.load(Ordering::Relaxed) {
            return;
        }
        let sending = Instant::now();
        let sent = self.sender.send(batch);
        self.waited += sending.elapsed();
        if sent.is_err() {
            // The staging stopped on an error, which the ingestion reports.
            self.failed.store(true, Ordering::Relaxed);
        }
    }
}

impl Rows for Batcher<'_> {
    fn row(&mut self, raw: RawRow<'_>, decimal_comma: bool) -> ControlFlow<()> {
        self.rows += 1;
        self.read.store(self.rows, Ordering::Relaxed);
        self.rules.decimal_comma = decimal_comma;
        match self.rules.check(&raw) {
            Ok(valid) => {
                let (places, indicators) = (self.rules.places, self.rules.indicators);
                if let Some((indicator, _)) = indicators.get_key_value(&valid.indicator) {
                    for department in places.departments_of(valid.geo_level, &valid.geo_code) {
                        *self.per_department.entry((department.as_str(), indicator.as_str())).or_default() += 1;
                    }
                }
                self.batch.push(valid);
                if self.batch.len() == ROWS_PER_STATEMENT {
                    self.flush();
                }
            }
            Err(errors) => {
                self.errors.extend(errors);
                self.failed.store(true, Ordering::Relaxed);
            }
        }
        self.keep_going()
    }

    fn error(&mut self, error: FieldError) -> ControlFlow<()> {
        self.errors.push(error);
        self.failed.store(true, Ordering::Relaxed);
        self.keep_going()
    }
}

/// Keys given twice inside one batch; the database finds those repeated across batches.
fn repeated_keys(batch: &[ValidRow]) -> Vec<FieldError> {
    let mut first_lines = HashMap::with_capacity(batch.len());
    batch
        .iter()
        .filter_map(|row| {
            let earlier = *first_lines.entry(row.key()).or_insert(row.line);
            (earlier != row.line).then(|| duplicate(row.line, earlier))
        })
        .collect()
}

/// Stages each batch; a row whose key an earlier line gave is reported with that line.
fn stage_batches(
    staging: &mut Staging,
    receiver: Receiver<Vec<ValidRow>>,
    failed: &AtomicBool,
) -> ApiResult<(Vec<FieldError>, Duration)> {
    let mut errors = Vec::new();
    let mut staging_time = Duration::ZERO;
    for batch in receiver {
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        let started = Instant::now();
        let repeated = staging.stage(&batch, ROWS_PER_STATEMENT)?;
        staging_time += started.elapsed();
        if !repeated.is_empty() {
            errors.extend(repeated);
            failed.store(true, Ordering::Relaxed);
        }
    }
    Ok((errors, staging_time))
}
