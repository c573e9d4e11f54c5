//! The connection enum, chosen from the URL scheme, and its r2d2 pool.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

/// One connection type for both databases. SQLite stays the last variant: diesel's generated
/// code tries variants in order, and SQLite would accept almost any string as a file name.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A `DATABASE_URL`: `postgres://…` or `postgresql://…` for PostgreSQL; `sqlite://PATH`,
/// `sqlite:PATH` or a plain path for SQLite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.is_empty() {
            return Err("DATABASE_URL names no SQLite file".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!("DATABASE_URL scheme {scheme}:// is not supported: use postgres:// or sqlite://"));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The URL as `DATABASE_URL` would spell it.
    pub fn to_url(&self) -> String {
        match self {
            Self::Postgres(url) => url.clone(),
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }

    /// The URL with any password masked, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(start), Some(at)) if at > start => {
                    let credentials = &url[start + 3..at];
                    match credentials.split_once(':') {
                        Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                        None => url.clone(),
                    }
                }
                _ => url.clone(),
            },
        }
    }
}

/// How long SQLite waits for another writer before answering "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Opens one connection, with SQLite's per-connection settings applied.
pub fn connect(url: &DatabaseUrl) -> Result<DbConnection, ConnectionError> {
    match url {
        DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|error| {
                    ConnectionError::BadConnection(format!("cannot create folder {}: {error}", parent.display()))
                })?;
            }
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
            // busy_timeout first: switching to WAL itself may have to wait for another connection.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA journal_size_limit = 67108864;"
            ))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// Picks the backend from the URL itself, so a connection error says what really went wrong
/// (diesel's own multi-connection `establish` hides it behind "invalid connection url").
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        connect(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping().map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// A connection given back inside a transaction that could not be closed, or while a thread
    /// panicked, is dropped rather than handed to the next request.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The connection pool, and as many permits as it has connections. A request takes a permit
/// (waiting asynchronously) before it takes a thread and a connection, so that a burst of requests
/// queues on the async side instead of parking blocking threads on the pool's lock.
#[derive(Clone)]
pub struct DbPool {
    pub(super) connections: r2d2::Pool<ConnectionManager>,
    pub(super) permits: std::sync::Arc<tokio::sync::Semaphore>,
}

/// What the pool holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open, idle or lent out.
    pub open: u32,
    /// Connections lent out to requests.
    pub in_use: u32,
    /// The most the pool opens.
    pub max_size: u32,
}

impl DbPool {
    pub fn usage(&self) -> PoolUsage {
        let state = self.connections.state();
        PoolUsage {
            open: state.connections,
            in_use: state.connections.saturating_sub(state.idle_connections),
            max_size: self.connections.max_size(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub checkout_timeout: Duration,
}

/// Builds the pool without connecting: connections are opened on demand, so the service starts,
/// answers 503 while the database is away, and recovers by itself when it is back. PostgreSQL
/// connections are checked before each use, since the server may have gone away under them; a
/// SQLite file cannot, so its connections skip that round trip.
pub fn build_pool(url: &DatabaseUrl, settings: PoolSettings) -> DbPool {
    let connections = r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(0))
        .connection_timeout(settings.checkout_timeout)
        .test_on_check_out(url.backend() == Backend::Postgres)
        .build_unchecked(ConnectionManager { url: url.clone() });
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(settings.max_size as usize));
    DbPool { connections, permits }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(DatabaseUrl::parse("sqlite://data/ctg.db").unwrap(), DatabaseUrl::Sqlite("data/ctg.db".into()));
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/ctg.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/ctg.db".into())
        );
        assert_eq!(DatabaseUrl::parse("ctg.db").unwrap(), DatabaseUrl::Sqlite("ctg.db".into()));
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_masked_in_logs() {
        let url = DatabaseUrl::parse("postgres://ctg:s3cret@db:5432/ctg").unwrap();
        assert_eq!(url.redacted(), "postgres://ctg:***@db:5432/ctg");
    }
}
