//! Persistence: one connection type over SQLite and PostgreSQL, its pool, migrations and the
//! repositories. The diesel schema is private to this module, so only repository functions can
//! reach the tables. Contracts are read only through functions that take the caller's scope;
//! sub-resources are reached through a [`contracts::ScopedContract`], which only those scoped
//! lookups make (the write pipeline, `crate::write`, holds one for every change), and the access
//! matrix test checks every route.

pub mod action_plan;
pub mod amendments;
pub mod bonus_rates;
mod connection;
pub mod contract_indicators;
pub mod contracts;
mod copy;
pub mod department_summary;
pub mod documents;
pub mod equipments;
pub mod events;
pub mod evidence;
pub mod funding;
pub mod history;
pub mod idempotency;
pub mod indicators;
pub mod migrations;
pub mod observation_imports;
pub mod observations;
pub mod organisations;
pub mod parties;
pub mod project;
mod schema;
pub mod stored;
pub mod territories;

pub use connection::{Backend, DatabaseUrl, DbConnection, DbPool, PoolSettings, PoolUsage, build_pool, connect};

use crate::error::ApiError;

/// Runs `work` with a pooled connection on actix's blocking thread pool, so that the synchronous
/// database work of one request never stalls the async workers, in one read transaction, so that
/// the several queries of one answer see the same state. A pool that cannot hand out a connection
/// in time answers 503.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    with_connection(pool, move |conn| read_transaction(conn, work)).await
}

/// [`run`] without the read transaction, for answers read by one statement, which SQLite and
/// PostgreSQL already give from one snapshot: it spares the `BEGIN` and `COMMIT` round trips on
/// the hottest reads.
pub async fn run_one_statement<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    with_connection(pool, work).await
}

async fn with_connection<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let unavailable = |cause: String| ApiError::Unavailable { cause, retry_after_seconds: 2 };
    let permit = match pool.permits.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => wait_for_permit(pool).await.map_err(unavailable)?,
    };
    let connections = pool.connections.clone();
    // The request's id stays with its task; the work runs on a blocking thread, which is told it.
    let request_id = crate::problem_detail::request_id();
    actix_web::web::block(move || {
        crate::problem_detail::on_this_thread(request_id, || {
            let _permit = permit;
            let mut conn = connections.get().map_err(|error| unavailable(error.to_string()))?;
            work(&mut conn)
        })
    })
    .await
    .map_err(ApiError::internal)?
}

/// Metrics of the connection pool, for [`crate::http::metrics`].
pub mod pool_metrics {
    pub const WAITS: &str = "ctg_db_pool_waits_total";
    pub const WAIT_SECONDS: &str = "ctg_db_pool_wait_seconds";
    pub const TIMEOUTS: &str = "ctg_db_pool_timeouts_total";
    pub const SIZE: &str = "ctg_db_pool_connections";
    pub const IN_USE: &str = "ctg_db_pool_connections_in_use";
    pub const MAX_SIZE: &str = "ctg_db_pool_max_connections";
}

/// Waits for a database permit when none was free at once, up to the pool's timeout, counting
/// the wait: waits that grow are the first sign of a pool too small for its load.
async fn wait_for_permit(pool: &DbPool) -> Result<tokio::sync::OwnedSemaphorePermit, String> {
    metrics::counter!(pool_metrics::WAITS).increment(1);
    let timeout = pool.connections.connection_timeout();
    let started = std::time::Instant::now();
    let permit = tokio::time::timeout(timeout, pool.permits.clone().acquire_owned()).await;
    metrics::histogram!(pool_metrics::WAIT_SECONDS).record(started.elapsed().as_secs_f64());
    let Ok(permit) = permit else {
        metrics::counter!(pool_metrics::TIMEOUTS).increment(1);
        return Err(format!("no database connection free within {timeout:?}"));
    };
    permit.map_err(|error| error.to_string())
}

/// [`run`] with all of `work` in one write transaction: it commits whole or not at all.
pub async fn run_write<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    with_connection(pool, move |conn| write_transaction(conn, work)).await
}

/// [`run_write`] with, on SQLite, the SQLite file `beside` attached as the schema `staging` for
/// the length of the transaction (SQLite attaches only outside one), so that one statement can
/// copy from it. On PostgreSQL it is [`run_write`]: the work reads the file by itself.
pub async fn run_write_beside<T, F>(pool: &DbPool, beside: Option<std::path::PathBuf>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    use diesel::RunQueryDsl;
    with_connection(pool, move |conn| {
        let Some(path) = beside.filter(|_| matches!(conn, DbConnection::Sqlite(_))) else {
            return write_transaction(conn, work);
        };
        let path = path.to_str().ok_or_else(|| ApiError::internal("the staging file's path is not UTF-8"))?.to_owned();
        // A connection whose last detach failed still holds a file: let it go first (this fails
        // harmlessly when nothing is attached).
        let _ = diesel::sql_query("DETACH DATABASE staging").execute(conn);
        diesel::sql_query("ATTACH DATABASE ? AS staging").bind::<diesel::sql_types::Text, _>(path).execute(conn)?;
        let result = write_transaction(conn, work);
        if let Err(error) = diesel::sql_query("DETACH DATABASE staging").execute(conn) {
            log::warn!("could not detach a staging file: {error}");
        }
        result
    })
    .await
}

/// Runs `work` in a read-only snapshot: a deferred transaction on SQLite (WAL gives it a snapshot
/// at its first read), `REPEATABLE READ READ ONLY` on PostgreSQL.
pub fn read_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let begin = match conn {
        DbConnection::Sqlite(_) => "BEGIN",
        DbConnection::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    in_transaction(conn, begin, work)
}

/// Runs `work` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`, so
/// two writers that both read first cannot deadlock into "database is locked": the second waits
/// for the write lock at `BEGIN` (up to the busy timeout) instead of failing at its first write.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let begin = match conn {
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
        DbConnection::Pg(_) => "BEGIN",
    };
    in_transaction(conn, begin, work)
}

/// The count of feed events committed, for [`crate::http::metrics`].
pub const FEED_EVENTS_WRITTEN: &str = "ctg_feed_events_written_total";

std::thread_local! {
    /// What the transaction open on this thread adds to counters: added once it commits, so that
    /// a change rolled back counts nothing.
    static UNCOMMITTED_COUNTS: std::cell::RefCell<Vec<(&'static str, u64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Adds `n` to the counter `name` if, and when, the transaction open on this thread commits.
pub fn count_on_commit(name: &'static str, n: u64) {
    UNCOMMITTED_COUNTS.with_borrow_mut(|counts| match counts.iter_mut().find(|(counted, _)| *counted == name) {
        Some((_, total)) => *total += n,
        None => counts.push((name, n)),
    });
}

/// Opens a transaction with `begin` on the connection's own transaction manager (so diesel knows
/// about it), runs `work`, and commits, or rolls back on error.
fn in_transaction<T, E, F>(conn: &mut DbConnection, begin: &str, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;

    match conn {
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, begin)?,
        DbConnection::Pg(pg) => AnsiTransactionManager::begin_transaction_sql(pg, begin)?,
    }
    UNCOMMITTED_COUNTS.with_borrow_mut(Vec::clear);
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            for (name, n) in UNCOMMITTED_COUNTS.take() {
                metrics::counter!(name).increment(n);
            }
            Ok(value)
        }
        Err(error) => {
            // The work's own error is the one worth reporting; a failed rollback leaves the
            // connection marked broken, and the pool discards it.
            if let Err(rollback_error) = Manager::rollback_transaction(conn) {
                log::error!("rollback failed: {rollback_error}");
            }
            Err(error)
        }
    }
}

/// A row that carries its own version and `updated_at`; only the write pipeline moves them.
pub trait Versioned {
    fn version(&self) -> i64;
    fn stamp(&mut self, version: i64, at: chrono::NaiveDateTime);
}

/// Implements [`Versioned`] for rows with `version` and `updated_at` fields.
macro_rules! versioned {
    ($($row:ty),+ $(,)?) => {$(
        impl $crate::db::Versioned for $row {
            fn version(&self) -> i64 {
                self.version
            }

            fn stamp(&mut self, version: i64, at: chrono::NaiveDateTime) {
                self.version = version;
                self.updated_at = at;
            }
        }
    )+};
}

pub(crate) use versioned;

/// The current time as stored: UTC, truncated to microseconds so that both backends keep the
/// same value.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// A new server-generated id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Makes writers that share `key` take turns until the end of the transaction. SQLite needs
/// nothing: its `BEGIN IMMEDIATE` already lets one writer in at a time. On PostgreSQL this is a
/// transaction-scoped advisory lock.
pub fn serialize_writers(conn: &mut DbConnection, key: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// [`serialize_writers`] without waiting: whether this transaction now holds the turn. SQLite's
/// writer already holds it.
pub fn try_serialize_writers(conn: &mut DbConnection, key: &str) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    match conn {
        DbConnection::Pg(pg) => {
            let row: Taken = diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS taken")
                .bind::<diesel::sql_types::Text, _>(key)
                .get_result(pg)?;
            Ok(row.taken)
        }
        DbConnection::Sqlite(_) => Ok(true),
    }
}

/// Formats timestamps as RFC 3339 UTC with a `Z`, as the API promises.
pub fn rfc3339(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
