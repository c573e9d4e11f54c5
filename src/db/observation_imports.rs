//! Bulk files of observations taken as jobs, and what each became.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::observation_imports;
pub use crate::domain::observations::ImportStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = observation_imports)]
pub struct ImportRow {
    pub id: String,
    pub owner: String,
    pub media_type: String,
    pub bytes: i64,
    pub status: String,
    pub rows_read: i64,
    pub rows_written: i64,
    pub inserted: i64,
    pub updated: i64,
    pub errors: Option<String>,
    pub ingest_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl ImportRow {
    /// A job just taken.
    pub fn queued(id: String, owner: String, media_type: &str, bytes: u64, at: NaiveDateTime) -> Self {
        Self {
            id,
            owner,
            media_type: media_type.to_owned(),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            status: ImportStatus::Queued.as_str().to_owned(),
            rows_read: 0,
            rows_written: 0,
            inserted: 0,
            updated: 0,
            errors: None,
            ingest_id: None,
            created_at: at,
            started_at: None,
            finished_at: None,
            updated_at: at,
        }
    }
}

pub fn insert(conn: &mut DbConnection, row: &ImportRow) -> QueryResult<()> {
    diesel::insert_into(observation_imports::table).values(row).execute(conn).map(drop)
}

/// The import `id`, if `owner` sent it (`None`: whoever did, for admins).
pub fn find(conn: &mut DbConnection, id: &str, owner: Option<&str>) -> QueryResult<Option<ImportRow>> {
    let mut query = observation_imports::table.find(id).select(ImportRow::as_select()).into_boxed();
    if let Some(owner) = owner {
        query = query.filter(observation_imports::owner.eq(owner.to_owned()));
    }
    query.first(conn).optional()
}

/// The job begins: it is being checked.
pub fn start(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(observation_imports::table.find(id))
        .set((
            observation_imports::status.eq(ImportStatus::Checking.as_str()),
            observation_imports::started_at.eq(Some(at)),
            observation_imports::updated_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Moves the job to `status` with the rows read so far.
pub fn progress(
    conn: &mut DbConnection,
    id: &str,
    status: ImportStatus,
    rows_read: u64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(observation_imports::table.find(id))
        .set((
            observation_imports::status.eq(status.as_str()),
            observation_imports::rows_read.eq(i64::try_from(rows_read).unwrap_or(i64::MAX)),
            observation_imports::updated_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// What a finished job did.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub status: ImportStatus,
    pub rows_read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub ingest_id: Option<&'a str>,
    /// The problems that failed it, as JSON.
    pub errors: Option<String>,
}

pub fn finish(conn: &mut DbConnection, id: &str, outcome: &Outcome<'_>, at: NaiveDateTime) -> QueryResult<()> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    diesel::update(observation_imports::table.find(id))
        .set((
            observation_imports::status.eq(outcome.status.as_str()),
            observation_imports::rows_read.eq(count(outcome.rows_read)),
            observation_imports::rows_written.eq(count(outcome.inserted + outcome.updated)),
            observation_imports::inserted.eq(count(outcome.inserted)),
            observation_imports::updated.eq(count(outcome.updated)),
            observation_imports::ingest_id.eq(outcome.ingest_id),
            observation_imports::errors.eq(outcome.errors.as_deref()),
            observation_imports::finished_at.eq(Some(at)),
            observation_imports::updated_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Forgets the jobs created before `before`.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(observation_imports::table.filter(observation_imports::created_at.lt(before))).execute(conn)
}
