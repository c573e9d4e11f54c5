//! Embedded migrations, one folder per backend with identical migration names.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any fixed number, the same for every instance: instances starting together on one PostgreSQL
/// database take turns, since diesel's harness takes no lock of its own.
const MIGRATION_LOCK_KEY: i64 = 0x0c7a_0001;

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies the pending migrations and returns their names.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Sqlite(sqlite) => {
            sqlite.run_pending_migrations(SQLITE)?.iter().map(ToString::to_string).collect()
        }
        DbConnection::Pg(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result =
                pg.run_pending_migrations(POSTGRES).map(|versions| versions.iter().map(ToString::to_string).collect());
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result?
        }
    };
    Ok(applied)
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
