//! Embedded migrations, one folder per backend with identical migration names.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any fixed number, the same for every instance: instances starting together on one PostgreSQL
/// database take turns to prepare it, since diesel's harness takes no lock of its own.
const START_LOCK_KEY: i64 = 0x0c7a_0001;

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `work` (migrating, seeding) holding the database's start lock: instances started together
/// on one PostgreSQL database go through it one at a time, so the first does the work and the others
/// find it done. The lock is a session advisory lock, released on return or, if the process dies
/// holding it, with its connection. SQLite needs none: a SQLite file has one instance.
pub fn holding_start_lock<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, MigrationError>,
) -> Result<T, MigrationError> {
    if let DbConnection::Pg(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_lock({START_LOCK_KEY})"))?;
    }
    let result = work(conn);
    if let DbConnection::Pg(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_unlock({START_LOCK_KEY})"))?;
    }
    result
}

/// Applies the pending migrations and returns their names. Instances sharing a database call it
/// inside [`holding_start_lock`].
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE)?,
        DbConnection::Pg(pg) => pg.run_pending_migrations(POSTGRES)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// How many migrations this binary knows that the database has not applied: 0 once it is ready
/// for this binary.
pub fn pending_count(conn: &mut DbConnection) -> Result<usize, MigrationError> {
    Ok(match conn {
        DbConnection::Sqlite(sqlite) => MigrationHarness::pending_migrations(sqlite, SQLITE)?.len(),
        DbConnection::Pg(pg) => MigrationHarness::pending_migrations(pg, POSTGRES)?.len(),
    })
}

/// Reverts every applied migration (used by the migration round-trip test and `migrate --revert-all`).
pub fn revert_all(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let reverted = match conn {
        DbConnection::Sqlite(sqlite) => sqlite.revert_all_migrations(SQLITE)?,
        DbConnection::Pg(pg) => pg.revert_all_migrations(POSTGRES)?,
    };
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// Reverts applied migrations, newest first, down to and including `version` (as diesel writes it,
/// `20261126000004`); returns the reverted names. For tests of a migration's data backfill.
pub fn revert_down_to(conn: &mut DbConnection, version: &str) -> Result<Vec<String>, MigrationError> {
    let mut reverted = Vec::new();
    loop {
        let name = match conn {
            DbConnection::Sqlite(sqlite) => sqlite.revert_last_migration(SQLITE)?.to_string(),
            DbConnection::Pg(pg) => pg.revert_last_migration(POSTGRES)?.to_string(),
        };
        let done = name == version;
        reverted.push(name);
        if done {
            return Ok(reverted);
        }
    }
}
