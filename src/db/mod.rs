//! Persistence: one connection type over SQLite and PostgreSQL, its pool, migrations and the
//! repositories. The diesel schema is private to this module, so only repository functions —
//! which take the caller's scope where scope applies — can reach the tables.

mod connection;
pub mod migrations;
mod schema;
pub mod territories;

pub use connection::{Backend, DatabaseUrl, DbConnection, DbPool, PoolSettings, build_pool, connect};

use crate::error::ApiError;

/// Runs `work` with a pooled connection on actix's blocking thread pool, so that the synchronous
/// database work of one request never stalls the async workers. A pool that cannot hand out a
/// connection in time answers 503.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|error| ApiError::Unavailable {
            cause: error.to_string(),
            retry_after_seconds: 2,
        })?;
        work(&mut conn)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Runs `work` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`, so
/// two writers that both read first cannot deadlock into "database is locked": the second waits
/// for the write lock at `BEGIN` (up to the busy timeout) instead of failing at its first write.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;

    match conn {
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?,
        DbConnection::Pg(_) => Manager::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
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
