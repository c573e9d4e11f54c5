//! Both backends from one binary: matching migration folders, a clean round trip, SQLite's
//! connection settings, and writers that never fail with "database is locked".

use std::collections::BTreeSet;
use std::path::Path;

use ctg_api::db::{self, DatabaseUrl, DbConnection};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection};

use crate::helpers::{database_url, fresh_database, postgres_admin_url};

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_names("postgres"));
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend).join(name).join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
}

/// An empty database, not copied from the template.
struct EmptyDatabase {
    url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    drop_with: Option<(String, String)>,
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.drop_with {
            let mut admin = PgConnection::establish(admin_url).unwrap();
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        }
    }
}

fn empty_database() -> EmptyDatabase {
    if let Some(admin_url) = postgres_admin_url() {
        let name = format!("ctg_test_empty_{}", uuid::Uuid::new_v4().simple());
        PgConnection::establish(&admin_url).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        EmptyDatabase {
            url: DatabaseUrl::Postgres(database_url(&admin_url, &name)),
            _dir: None,
            drop_with: Some((admin_url, name)),
        }
    } else {
        let dir = tempfile::tempdir().unwrap();
        EmptyDatabase { url: DatabaseUrl::Sqlite(dir.path().join("empty.sqlite3")), _dir: Some(dir), drop_with: None }
    }
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

fn table_names(conn: &mut DbConnection) -> BTreeSet<String> {
    let query = match conn {
        DbConnection::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        DbConnection::Pg(_) => "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
    };
    diesel::sql_query(query).load::<TableName>(conn).unwrap().into_iter().map(|row| row.name).collect()
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let database = empty_database();
    let mut conn = db::connect(&database.url).unwrap();
    let applied = db::migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), migration_names("sqlite").len());
    let tables_after_first_up = table_names(&mut conn);
    assert!(tables_after_first_up.contains("communes"));

    let reverted = db::migrations::revert_all(&mut conn).unwrap();
    assert_eq!(reverted.len(), applied.len());
    let left: BTreeSet<String> =
        table_names(&mut conn).into_iter().filter(|t| t != "__diesel_schema_migrations").collect();
    assert!(left.is_empty(), "down.sql left tables behind: {left:?}");

    db::migrations::run_pending(&mut conn).unwrap();
    assert_eq!(table_names(&mut conn), tables_after_first_up);
    assert!(db::migrations::run_pending(&mut conn).unwrap().is_empty(), "nothing pending twice");
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

#[test]
fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db::connect(&DatabaseUrl::Sqlite(dir.path().join("nested/folder/ctg.sqlite3"))).unwrap();
    let read = |conn: &mut DbConnection, pragma: &str| {
        // The table-valued form names busy_timeout's column "timeout".
        let column = if pragma == "busy_timeout" { "timeout" } else { pragma };
        diesel::sql_query(format!("SELECT CAST({column} AS TEXT) AS value FROM pragma_{pragma}"))
            .get_result::<Setting>(conn)
            .unwrap()
            .value
    };
    assert_eq!(read(&mut conn, "journal_mode"), "wal");
    assert_eq!(read(&mut conn, "foreign_keys"), "1");
    assert_eq!(read(&mut conn, "busy_timeout"), "5000");
    assert_eq!(read(&mut conn, "synchronous"), "1", "NORMAL");
}

#[derive(QueryableByName)]
struct Population {
    #[diesel(sql_type = BigInt)]
    population: i64,
}

fn population_of_74(conn: &mut DbConnection) -> i64 {
    diesel::sql_query("SELECT population FROM departments WHERE code = '74'")
        .get_result::<Population>(conn)
        .unwrap()
        .population
}

/// Eight writers, each reading before it writes, twenty times: on SQLite a plain `BEGIN` would
/// let two of them hold read locks and fail the second upgrade with "database is locked".
#[test]
fn concurrent_read_then_write_transactions_all_succeed() {
    let database = fresh_database();
    let url = database.url().clone();
    let before = population_of_74(&mut db::connect(&url).unwrap());
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = db::connect(&url).unwrap();
                for _ in 0..20 {
                    db::write_transaction(&mut conn, |conn| {
                        // Read first, as a request that checks before it writes does: on SQLite this
                        // takes the shared lock that a deferred transaction could not upgrade.
                        assert!(population_of_74(conn) >= before);
                        diesel::sql_query("UPDATE departments SET population = population + 1 WHERE code = '74'")
                            .execute(conn)?;
                        Ok::<_, diesel::result::Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(population_of_74(&mut db::connect(&url).unwrap()), before + 160);
}

#[test]
fn a_failed_write_transaction_leaves_nothing_behind() {
    let database = fresh_database();
    let mut conn = db::connect(database.url()).unwrap();
    let before = population_of_74(&mut conn);
    let result = db::write_transaction(&mut conn, |conn| {
        diesel::sql_query("UPDATE departments SET population = population + 1000 WHERE code = '74'").execute(conn)?;
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    assert_eq!(population_of_74(&mut conn), before);
    // The connection is usable afterwards: the transaction was closed, not left open.
    db::write_transaction(&mut conn, |conn| diesel::sql_query("SELECT 1").execute(conn).map(|_| ())).unwrap();
}

/// CI names the backend each run must be on: a PostgreSQL run that silently fell back to SQLite
/// would pass without testing anything of PostgreSQL.
#[test]
fn the_suite_runs_on_the_backend_ci_asked_for() {
    let database = fresh_database();
    let on = match db::connect(database.url()).unwrap() {
        DbConnection::Pg(_) => "postgres",
        DbConnection::Sqlite(_) => "sqlite",
    };
    match std::env::var("CTG_TEST_BACKEND") {
        Ok(expected) => assert_eq!(on, expected, "CTG_TEST_BACKEND={expected} but the suite runs on {on}"),
        Err(_) => eprintln!("running on {on}"),
    }
}

#[derive(QueryableByName)]
struct Summary {
    #[diesel(sql_type = Text)]
    perimeter_epcis: String,
    #[diesel(sql_type = Text)]
    perimeter_communes: String,
    #[diesel(sql_type = BigInt)]
    covered_communes: i64,
}

/// Migration 4 adds the contract summary columns to databases that already hold contracts: its
/// backfill must compute them from the link tables and the reference, as the service would.
#[tokio::test]
async fn the_summary_migration_backfills_existing_contracts() {
    let app = crate::helpers::spawn_app().await;
    let body = serde_json::json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31",
                                  "perimeter": {"epcis": ["200000172"], "communes": ["74056", "74042"]}});
    let created = app.create("/v1/contracts", &body).await;
    assert_eq!(
        created["perimeter"]["covered_communes"], 8,
        "Faucigny's 7 members and Chamonix; Bonneville counted once"
    );
    let mut conn = db::connect(app.database.url()).unwrap();
    let reverted = db::migrations::revert_down_to(&mut conn, "20261126000004").unwrap();
    assert_eq!(reverted.last().map(String::as_str), Some("20261126000004"));
    db::migrations::run_pending(&mut conn).unwrap();
    let summary = diesel::sql_query("SELECT perimeter_epcis, perimeter_communes, covered_communes FROM contracts")
        .get_result::<Summary>(&mut conn)
        .unwrap();
    assert_eq!(
        (summary.perimeter_epcis.as_str(), summary.perimeter_communes.as_str(), summary.covered_communes),
        ("200000172", "74042,74056", 8)
    );
}
