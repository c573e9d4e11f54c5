//! Starts the real server on 127.0.0.1:0 against a database of its own: a fresh SQLite file, or,
//! when `TEST_DATABASE_URL` is set, a fresh PostgreSQL database dropped when the test ends.
//!
//! Both are copied from a template that is migrated and seeded with the territory reference once
//! and kept between runs, named by a hash of the migrations and the reference, so that a test
//! starts in milliseconds and never on a stale schema.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ctg_api::auth::token::{TokenClaims, mint};
use ctg_api::config::Config;
use ctg_api::db::{self, DatabaseUrl, PoolSettings};
use ctg_api::startup::{Application, prepare_database};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";
pub const ISSUER: &str = "https://idp.test/ctg";
pub const AUDIENCE: &str = "ctg-api";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Shared by the apps of several instances on one database (`instances.rs`).
    pub database: std::sync::Arc<TestDatabase>,
}

pub enum TestDatabase {
    Sqlite { _dir: tempfile::TempDir, url: DatabaseUrl },
    Postgres { admin_url: String, name: String, url: DatabaseUrl },
}

impl TestDatabase {
    pub fn url(&self) -> &DatabaseUrl {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, .. } = self {
            match PgConnection::establish(admin_url) {
                Ok(mut admin) => {
                    if let Err(error) = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
                        eprintln!("could not drop test database {name}: {error}");
                    }
                }
                Err(error) => eprintln!("could not drop test database {name}: {error}"),
            }
        }
    }
}

/// The PostgreSQL server to test against, if this run tests PostgreSQL.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty())
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Changes whenever a migration or the embedded reference changes.
fn schema_fingerprint() -> String {
    fn visit(path: &Path, hasher: &mut DefaultHasher) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path).unwrap().map(|entry| entry.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                visit(&entry, hasher);
            } else {
                entry.strip_prefix(manifest_dir()).unwrap().hash(hasher);
                std::fs::read(&entry).unwrap().hash(hasher);
            }
        }
    }
    let mut hasher = DefaultHasher::new();
    visit(&manifest_dir().join("migrations"), &mut hasher);
    visit(&manifest_dir().join("reference"), &mut hasher);
    format!("{:016x}", hasher.finish())
}

fn sqlite_template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = std::env::temp_dir().join("ctg-api-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let template = dir.join(format!("template-{}.sqlite3", schema_fingerprint()));
        if !template.exists() {
            // Built under a unique name and renamed into place: concurrent test processes never
            // see a half-built template.
            let building = dir.join(format!("building-{}.sqlite3", uuid::Uuid::new_v4()));
            let url = DatabaseUrl::Sqlite(building.clone());
            prepare_database(&url).unwrap();
            let mut conn = db::connect(&url).unwrap();
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();
            drop(conn);
            std::fs::rename(&building, &template).unwrap();
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
            }
            // Templates of earlier schemas are of no further use.
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                if name.starts_with("template-") && path != template {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        template
    })
}

fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("ctg_test_template_{}", schema_fingerprint());
        let mut admin = PgConnection::establish(admin_url)
            .unwrap_or_else(|error| panic!("TEST_DATABASE_URL is set but PostgreSQL does not answer: {error}"));
        // Test processes running together build the template once, in turn.
        admin.batch_execute("SELECT pg_advisory_lock(7261)").unwrap();
        let exists = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
        )))
        .get_result::<bool>(&mut admin)
        .unwrap();
        if !exists {
            let building = format!("ctg_test_building_{}", uuid::Uuid::new_v4().simple());
            admin.batch_execute(&format!("CREATE DATABASE {building}")).unwrap();
            let url = DatabaseUrl::Postgres(database_url(admin_url, &building));
            prepare_database(&url).unwrap();
            admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")).unwrap();
            // Templates of earlier schemas are of no further use.
            let stale: Vec<String> = diesel::select(diesel::dsl::sql::<diesel::sql_types::Array<diesel::sql_types::Text>>(&format!(
                "ARRAY(SELECT datname::text FROM pg_database WHERE datname LIKE 'ctg\\_test\\_template\\_%' AND datname <> '{name}')"
            )))
            .get_result(&mut admin)
            .unwrap();
            for database in stale {
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).unwrap();
            }
        }
        admin.batch_execute("SELECT pg_advisory_unlock(7261)").unwrap();
        name
    })
}

/// `admin_url` with its database name replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// PostgreSQL refuses to copy a template while another copy is being made from it.
static COPYING: Mutex<()> = Mutex::new(());

/// A database of its own for one test.
pub fn fresh_database() -> TestDatabase {
    if let Some(admin_url) = postgres_admin_url() {
        let template = postgres_template(&admin_url);
        let name = format!("ctg_test_{}", uuid::Uuid::new_v4().simple());
        let _turn = COPYING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).unwrap();
        let url = DatabaseUrl::Postgres(database_url(&admin_url, &name));
        TestDatabase::Postgres { admin_url, name, url }
    } else {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctg.sqlite3");
        std::fs::copy(sqlite_template(), &path).unwrap();
        TestDatabase::Sqlite { _dir: dir, url: DatabaseUrl::Sqlite(path) }
    }
}

pub fn test_config(url: &DatabaseUrl) -> Config {
    Config {
        database_url: url.clone(),
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some(SECRET.as_bytes().to_vec()),
        jwt_jwks_file: Some(manifest_dir().join("tests/fixtures/keys/jwks.json")),
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
        pool: PoolSettings { max_size: 8, checkout_timeout: Duration::from_secs(5) },
        workers: 2,
        shutdown_timeout_seconds: 5,
        page_token_secret: None,
        document_max_bytes: ctg_api::config::DEFAULT_DOCUMENT_MAX_BYTES,
        diagnostic_aid_ceiling_cents: ctg_api::config::DEFAULT_DIAGNOSTIC_AID_CEILING_CENTS,
        dev: false,
        idempotency_retention: Duration::from_hours(7 * 24),
        feed_retention: Duration::from_hours(90 * 24),
        uploads: ctg_api::http::uploads::UploadLimits {
            per_caller: 2,
            total: 8,
            spool_bytes: 2 << 30,
            idle_timeout: Duration::from_secs(30),
            deadline: Duration::from_mins(15),
        },
        // The suite sends far more than a client would, from one address: limits are tested on
        // their own (http::a_caller_past_its_rate_is_told_when_to_come_back).
        rate_limit_per_subject: 0,
        rate_limit_per_address: 0,
        metrics_bind: None,
    }
}

pub async fn spawn_app() -> TestApp {
    // Server logs show under `cargo test -- --nocapture` with RUST_LOG set.
    let _ = env_logger::builder().is_test(true).try_init();
    let database = fresh_database();
    let config = test_config(database.url());
    let app = Application::build(&config).expect("the application starts");
    spawn(app, database)
}

/// Starts an already built application (for tests that build it their own way).
pub fn spawn(app: Application, database: TestDatabase) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    // The server closes a connection idle for 5 s (actix's keep-alive). A client that keeps it
    // longer may send its next request on a socket the server is closing at that moment: the
    // likely cause of the rare "the server answers" failures of tests that wait on a slow
    // `import-territories` run on a busy machine. Dropping idle connections first rules it out.
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2)).build().unwrap();
    TestApp { address, client, database: std::sync::Arc::new(database) }
}

/// Claims of a valid token for `role`; tests edit them to build invalid ones.
pub fn claims(role: &str) -> TokenClaims {
    TokenClaims::new(ISSUER, AUDIENCE, &format!("user-{role}"), role, 600)
}

pub fn token_for(claims: &TokenClaims) -> String {
    mint(SECRET.as_bytes(), claims).unwrap()
}

pub fn admin_token() -> String {
    token_for(&claims("admin"))
}

pub fn caf_agent_token(departments: &[&str]) -> String {
    let mut claims = claims("caf_agent");
    claims.departments = departments.iter().map(|d| (*d).to_owned()).collect();
    token_for(&claims)
}

pub fn collectivity_token(sirens: &[&str]) -> String {
    let mut claims = claims("collectivity");
    claims.sirens = sirens.iter().map(|s| (*s).to_owned()).collect();
    token_for(&claims)
}

/// An answer read whole: status, headers and JSON body (`Value::Null` when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a 422 problem+json answer and returns the pointer and code of each error, in order.
    pub fn validation_errors(&self) -> Vec<(&str, &str)> {
        self.assert_problem(422, "VALIDATION_FAILED")["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["pointer"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect()
    }

    /// Asserts a problem+json answer with this status and code, and returns its body.
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().unwrap().starts_with("https://"), "{}", self.text);
        assert!(!self.body["title"].as_str().unwrap().is_empty());
        assert_eq!(self.body["request_id"].as_str(), self.header("x-request-id"), "{}", self.text);
        &self.body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn get_anonymous(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }
}
