//! Several instances of the binary on one PostgreSQL database, as production runs them behind a
//! load balancer: they start together on an empty database, a client spreads its requests over
//! them, and they are restarted one at a time or killed under load.
//!
//! PostgreSQL only: a SQLite file is served by one instance. On a SQLite run these tests say so and
//! return; CI runs them in its PostgreSQL pass.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{Value, json};

use crate::fixtures::{FAUCIGNY, caf, draft_ctg, epci};
use crate::funding::{committed, signed_contract};
use crate::helpers::{
    AUDIENCE, Answer, ISSUER, SECRET, TestApp, TestDatabase, admin_token, database_url, fresh_database,
    postgres_admin_url,
};

/// How long an instance may take to become ready on a loaded machine.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// A `ctg-api serve` process of its own.
pub struct Instance {
    child: Child,
    port: u16,
    database_url: String,
    log: PathBuf,
    log_dir: Arc<tempfile::TempDir>,
}

impl Instance {
    /// Starts the binary on a free port of 127.0.0.1 against `database_url`.
    pub fn start(database_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(database_url, port, Arc::new(tempfile::tempdir().unwrap()))
    }

    fn start_on(database_url: &str, port: u16, log_dir: Arc<tempfile::TempDir>) -> Self {
        let log = log_dir.path().join(format!("instance-{port}-{}.log", uuid::Uuid::new_v4().simple()));
        let child = Command::new(env!("CARGO_BIN_EXE_ctg-api"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CTG_BIND", format!("127.0.0.1:{port}"))
            .env("CTG_JWT_SECRET", SECRET)
            .env("CTG_JWT_ISSUER", ISSUER)
            .env("CTG_JWT_AUDIENCE", AUDIENCE)
            .env("CTG_WORKERS", "2")
            .env("CTG_DB_POOL_SIZE", "6")
            .env("CTG_SHUTDOWN_TIMEOUT_SECONDS", "10")
            .env("CTG_RATE_LIMIT_PER_SUBJECT", "0")
            .env("CTG_RATE_LIMIT_PER_ADDRESS", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, port, database_url: database_url.to_owned(), log, log_dir }
    }

    /// The same instance started again after it stopped: same port, same database.
    pub fn restart(&self) -> Self {
        Self::start_on(&self.database_url, self.port, self.log_dir.clone())
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/health/ready` answers 200; panics with the instance's log if it exits or
    /// takes longer than [`READY_WITHIN`].
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("instance on port {} exited with {status}:\n{}", self.port, self.log_text());
            }
            let probe = client.get(format!("{}/health/ready", self.address())).send().await;
            if probe.is_ok_and(|answer| answer.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance on port {} not ready within {READY_WITHIN:?}:\n{}", self.port, self.log_text());
    }

    /// SIGTERM, then waits for the exit, which must be clean.
    pub async fn terminate(&mut self) {
        let sent = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(sent.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit after SIGTERM: {status}\n{}", self.log_text());
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no exit 30 s after SIGTERM\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Instances on one database copied from the template, and a client that spreads its requests
/// over them.
pub struct Cluster {
    pub instances: Vec<Instance>,
    pub client: Spread,
}

/// One [`TestApp`] per instance, sharing the database, taken in turn.
pub struct Spread {
    pub apps: Vec<TestApp>,
    next: AtomicUsize,
    /// Attempts [`Spread::send_retrying`] made again.
    pub retries: AtomicUsize,
}

impl Cluster {
    /// `None` on a SQLite run.
    pub async fn start(size: usize) -> Option<Self> {
        if postgres_admin_url().is_none() {
            eprintln!("several instances need PostgreSQL (TEST_DATABASE_URL): skipped on SQLite");
            return None;
        }
        let database = Arc::new(fresh_database());
        let mut instances: Vec<Instance> = (0..size).map(|_| Instance::start(&database.url().to_url())).collect();
        for instance in &mut instances {
            instance.wait_ready().await;
        }
        let apps = instances.iter().map(|instance| app_at(instance, &database)).collect();
        Some(Self { instances, client: Spread { apps, next: AtomicUsize::new(0), retries: AtomicUsize::new(0) } })
    }
}

impl Spread {
    /// The next instance, in turn.
    pub fn any(&self) -> &TestApp {
        &self.apps[self.next.fetch_add(1, Ordering::Relaxed) % self.apps.len()]
    }

    /// Sends the request `build` makes, on the next instance, until the answer is one a client
    /// keeps: a connection refused or dropped, a 503 or a 409 "still in progress" is tried again
    /// on the next instance (a POST carries an Idempotency-Key, which keeps it one request).
    /// Answers nothing else is retried: a 500, a 4xx, and gives up after `patience`.
    pub async fn send_retrying(
        &self,
        patience: Duration,
        build: impl Fn(&TestApp) -> reqwest::RequestBuilder,
    ) -> Result<Answer, String> {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < patience {
            let app = self.any();
            match build(app).send().await {
                Err(error) => last = format!("{}: {error}", app.address),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let Ok(text) = response.text().await else {
                        last = format!("{}: the body was cut", app.address);
                        continue;
                    };
                    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let answer = Answer { status, headers, body, text };
                    if status == 503 || (status == 409 && answer.body["detail"].as_str().is_some_and(in_progress)) {
                        last = format!("{}: {status} {}", app.address, answer.text);
                    } else {
                        return Ok(answer);
                    }
                }
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("no answer a client keeps within {patience:?}; last: {last}"))
    }
}

fn in_progress(detail: &str) -> bool {
    detail.contains("still in progress")
}

/// A [`TestApp`] talking to `instance`.
fn app_at(instance: &Instance, database: &Arc<TestDatabase>) -> TestApp {
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2)).build().unwrap();
    TestApp { address: instance.address(), client, database: database.clone() }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    diesel::sql_query(query).get_result::<Count>(conn).unwrap().n
}

#[tokio::test]
async fn instances_started_together_on_an_empty_database_all_become_ready() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("several instances need PostgreSQL (TEST_DATABASE_URL): skipped on SQLite");
        return;
    };
    let departments = ctg_api::domain::reference::Reference::embedded().unwrap().departments.len();
    let migrations =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres")).unwrap().count();
    for round in 0..5 {
        let name = format!("ctg_test_start_{}", uuid::Uuid::new_v4().simple());
        PgConnection::establish(&admin_url).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = database_url(&admin_url, &name);
        let mut instances: Vec<Instance> = (0..3).map(|_| Instance::start(&url)).collect();
        for instance in &mut instances {
            instance.wait_ready().await;
        }
        for instance in &mut instances {
            assert!(instance.child.try_wait().unwrap().is_none(), "round {round}: an instance stopped");
        }
        let mut conn = PgConnection::establish(&url).unwrap();
        assert_eq!(
            count(&mut conn, "SELECT count(*) AS n FROM departments"),
            i64::try_from(departments).unwrap(),
            "round {round}"
        );
        assert_eq!(
            count(&mut conn, "SELECT count(*) AS n FROM __diesel_schema_migrations"),
            i64::try_from(migrations).unwrap(),
            "round {round}: every migration applied once"
        );
        drop(conn);
        drop(instances);
        PgConnection::establish(&admin_url)
            .unwrap()
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    }
}

#[tokio::test]
async fn an_instance_is_not_ready_while_the_database_lacks_its_migrations() {
    let Some(cluster) = Cluster::start(1).await else { return };
    let app = &cluster.client.apps[0];
    assert_eq!(app.get_anonymous("/health/ready").await.status, 200);
    let mut conn = ctg_api::db::connect(app.database.url()).unwrap();
    let newest = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .max()
        .unwrap();
    let version: String = newest.split('_').next().unwrap().chars().filter(char::is_ascii_digit).collect();
    ctg_api::db::migrations::revert_down_to(&mut conn, &version).unwrap();
    app.get_anonymous("/health/ready").await.assert_problem(503, "UNAVAILABLE");
    assert_eq!(app.get_anonymous("/health/live").await.status, 200, "alive all the same");
    ctg_api::db::migrations::run_pending(&mut conn).unwrap();
    assert_eq!(app.get_anonymous("/health/ready").await.status, 200, "ready again once {newest} is back");
}

/// Writers on their own contracts, each on the next instance, while a reader follows the feed
/// through all of them.
#[tokio::test]
async fn the_feed_misses_nothing_while_writers_spread_over_instances_commit() {
    const WRITERS: usize = 24;
    const AXES: usize = 8;
    let Some(cluster) = Cluster::start(3).await else { return };
    let setup = &cluster.client.apps[0];
    let caf = caf(setup, "74").await;
    let faucigny = epci(setup, FAUCIGNY).await;
    let mut contracts = Vec::new();
    for _ in 0..WRITERS {
        contracts.push(draft_ctg(setup, "74", &caf, &faucigny).await.id);
    }
    let (_, start) = crate::events::all_events(setup, &admin_token(), 1000).await;
    for round in 0..3 {
        let done = AtomicBool::new(false);
        let prefix = format!("R{round}-");
        let writers = crate::events::write_axes(|| cluster.client.any(), &contracts, &prefix, AXES, &done);
        // The reader starts from the same place each round: it sees the earlier rounds' axes too.
        let reader =
            crate::events::follow_feed(|| cluster.client.any(), &start, 11, &done, (round + 1) * WRITERS * AXES);
        let (written, seen) = tokio::join!(writers, reader);
        let written: BTreeSet<String> = written.into_iter().flatten().collect();
        assert_eq!(written.len(), WRITERS * AXES);
        let mut times_seen: HashMap<String, usize> = HashMap::new();
        let mut order: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for event in seen.iter().filter(|e| e["type"] == "axis.created") {
            let code = event["data"]["code"].as_str().unwrap();
            let Some(rest) = code.strip_prefix(&prefix) else { continue };
            *times_seen.entry(event["resource_id"].as_str().unwrap().to_owned()).or_default() += 1;
            let (writer, n) = rest.trim_start_matches('W').split_once('-').unwrap();
            order.entry(writer.parse().unwrap()).or_default().push(n.parse().unwrap());
        }
        assert_eq!(times_seen.keys().cloned().collect::<BTreeSet<_>>(), written, "round {round}: every axis");
        assert!(times_seen.values().all(|&n| n == 1), "round {round}: an event seen twice");
        for (writer, axes) in order {
            assert_eq!(axes, (0..AXES).collect::<Vec<_>>(), "round {round}: writer {writer} out of order");
        }
    }
}

/// A signed contract with a committed commitment, and the 2025 advance line to pay on.
async fn payable_line(app: &TestApp) -> (String, String) {
    let contract = signed_contract(app).await;
    let commitment = committed(app, &contract, &json!([{"year": 2025, "amount_cents": 1_000_000}]), &json!({})).await;
    let schedule = app.get(&format!("/v1/funding-commitments/{commitment}/schedule"), &admin_token()).await.body;
    let line = schedule["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "advance").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (commitment, line)
}

fn payment(app: &TestApp, commitment: &str, key: &str, line: &str, amount_cents: i64) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/v1/funding-commitments/{commitment}/payments")))
        .bearer_auth(admin_token())
        .header("Idempotency-Key", key)
        .json(&json!({"schedule_line_id": line, "paid_on": "2025-03-05", "amount_cents": amount_cents,
                      "reference": format!("MANDAT-{key}")}))
}

/// The payments of a commitment: how many, and their sum in cents.
async fn payments_made(app: &TestApp, commitment: &str) -> (usize, i64) {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let query = next
            .as_ref()
            .map_or_else(|| "?page_size=200".to_owned(), |token| format!("?page_size=200&page_token={token}"));
        let page = app.get(&format!("/v1/funding-commitments/{commitment}/payments{query}"), &admin_token()).await;
        assert_eq!(page.status, 200, "{}", page.text);
        items.extend(page.body["items"].as_array().unwrap().clone());
        match page.body["next_page_token"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    (items.len(), items.iter().map(|p| p["amount_cents"].as_i64().unwrap()).sum())
}

#[tokio::test]
async fn a_payment_retried_through_every_instance_is_made_once() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let (commitment, line) = payable_line(&cluster.client.apps[0]).await;
    // The same key sent to the three instances at once, then retried through each.
    let attempts = cluster.client.apps.iter().map(|app| app.send(payment(app, &commitment, "once", &line, 12_345)));
    let answers = futures_util::future::join_all(attempts).await;
    for answer in &answers {
        let in_flight = answer.status == 409 && answer.body["detail"].as_str().is_some_and(in_progress);
        assert!(answer.status == 201 || in_flight, "{}", answer.text);
    }
    let mut bodies = BTreeSet::new();
    for app in &cluster.client.apps {
        let answer = app.send(payment(app, &commitment, "once", &line, 12_345)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.header("idempotent-replayed"), Some("true"));
        bodies.insert(answer.text.clone());
    }
    assert_eq!(bodies.len(), 1, "every instance gives the same answer");
    assert_eq!(payments_made(cluster.client.any(), &commitment).await, (1, 12_345));
}

#[tokio::test]
async fn page_tokens_etags_and_feed_cursors_carry_across_instances() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let [first, second, third] = &cluster.client.apps[..] else { unreachable!() };
    let token = admin_token();

    let page = first.get("/v1/epcis?department=74&page_size=2", &token).await;
    let next = page.body["next_page_token"].as_str().unwrap();
    let following = second.get(&format!("/v1/epcis?department=74&page_size=2&page_token={next}"), &token).await;
    assert_eq!(following.status, 200, "{}", following.text);
    assert_ne!(following.body["items"][0]["siren"], page.body["items"][0]["siren"]);

    let organisation = first.create("/v1/organisations", &json!({"kind": "other", "name": "Collectif"})).await;
    let path = format!("/v1/organisations/{}", organisation["id"].as_str().unwrap());
    let etag = second.etag(&path).await;
    let renamed = second.patch_json(&path, &token, &etag, &json!({"name": "Collectif des parents"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    third.patch_json(&path, &token, &etag, &json!({"name": "Autre"})).await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(third.etag(&path).await, renamed.header("etag").unwrap());

    let feed = first.get("/v1/events?limit=1", &token).await;
    let cursor = feed.body["next_cursor"].as_str().unwrap();
    let after = third.get(&format!("/v1/events?after={cursor}&limit=1000"), &token).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert!(after.body["items"].as_array().unwrap().iter().any(|e| e["type"] == "organisation.updated"));
}

/// Clients create organisations (each under its own Idempotency-Key) and read them back, spread
/// over three instances, while each instance in turn gets SIGTERM and is started again.
#[tokio::test]
async fn a_rolling_restart_under_load_fails_no_request_a_client_would_not_retry() {
    let Some(Cluster { mut instances, client: cluster }) = Cluster::start(3).await else { return };
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let made = Arc::new(std::sync::Mutex::new(BTreeMap::<String, String>::new()));
    let load = {
        let cluster = &cluster;
        let (stop, failures, made) = (stop.clone(), failures.clone(), made.clone());
        async move {
            let clients = (0..6).map(|client| {
                let (stop, failures, made) = (stop.clone(), failures.clone(), made.clone());
                async move {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let key = format!("client-{client}-{n}");
                        let body = json!({"kind": "other", "name": format!("Collectif {key}")});
                        let created = cluster
                            .send_retrying(Duration::from_mins(1), |app| {
                                app.client
                                    .post(app.url("/v1/organisations"))
                                    .bearer_auth(admin_token())
                                    .header("Idempotency-Key", &key)
                                    .json(&body)
                            })
                            .await;
                        let id = match created {
                            Ok(answer) if answer.status == 201 => answer.body["id"].as_str().unwrap().to_owned(),
                            Ok(answer) => {
                                failures.lock().unwrap().push(format!("POST {key}: {}", answer.text));
                                continue;
                            }
                            Err(error) => {
                                failures.lock().unwrap().push(format!("POST {key}: {error}"));
                                continue;
                            }
                        };
                        made.lock().unwrap().insert(key.clone(), id.clone());
                        let read = cluster
                            .send_retrying(Duration::from_mins(1), |app| {
                                app.client.get(app.url(&format!("/v1/organisations/{id}"))).bearer_auth(admin_token())
                            })
                            .await;
                        match read {
                            Ok(answer) if answer.status == 200 => {}
                            Ok(answer) => failures.lock().unwrap().push(format!("GET {id}: {}", answer.text)),
                            Err(error) => failures.lock().unwrap().push(format!("GET {id}: {error}")),
                        }
                    }
                }
            });
            futures_util::future::join_all(clients).await;
        }
    };
    let restarts = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Each restarted instance keeps its port: the load's addresses stay good.
        for instance in &mut instances {
            instance.terminate().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut restarted = instance.restart();
            restarted.wait_ready().await;
            *instance = restarted;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(load, restarts);

    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "requests a client would not retry failed: {failures:#?}");
    eprintln!("requests tried again on another instance: {}", cluster.retries.load(Ordering::Relaxed));
    let made = made.lock().unwrap().clone();
    assert!(made.len() > 20, "the load ran: {} organisations", made.len());
    let ids: BTreeSet<&String> = made.values().collect();
    assert_eq!(ids.len(), made.len(), "one organisation per key");
    let mut conn = PgConnection::establish(&cluster.apps[0].database.url().to_url()).unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM organisations WHERE name LIKE 'Collectif client-%'"),
        i64::try_from(made.len()).unwrap()
    );
}

/// What a commitment's payments left behind: payments, their sum, the paid total of its schedule,
/// and the `payment.created` events of the feed.
async fn payment_traces(app: &TestApp, commitment: &str) -> (usize, i64, i64, i64) {
    let (payments, sum) = payments_made(app, commitment).await;
    let schedule = app.get(&format!("/v1/funding-commitments/{commitment}/schedule"), &admin_token()).await.body;
    let scheduled_paid =
        schedule["lines"].as_array().unwrap().iter().map(|line| line["paid_cents"].as_i64().unwrap()).sum();
    let mut conn = PgConnection::establish(&app.database.url().to_url()).unwrap();
    let events = count(&mut conn, "SELECT count(*) AS n FROM events WHERE event_type = 'payment.created'");
    (payments, sum, scheduled_paid, events)
}

/// SIGKILL while payments are in flight: each was written whole or not at all, and a key the dead
/// instance had claimed is free again within the claim timeout (60 s), through another instance.
#[tokio::test]
async fn an_instance_killed_mid_write_leaves_no_half_written_change_and_frees_its_keys() {
    const PAYMENTS: usize = 120;
    let Some(Cluster { mut instances, client }) = Cluster::start(2).await else { return };
    let [victim, survivor] = &client.apps[..] else { unreachable!() };
    let (commitment, line) = payable_line(survivor).await;
    let keys: Vec<String> = (0..PAYMENTS).map(|n| format!("kill-{n}")).collect();
    let sent =
        futures_util::future::join_all(keys.iter().map(|key| payment(victim, &commitment, key, &line, 100).send()));
    let kill = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        instances[0].kill();
    };
    let (sent, ()) = tokio::join!(sent, kill);
    let cut = sent.iter().filter(|answer| answer.is_err()).count();
    assert!(cut > 0, "the kill came after every payment was answered: nothing was cut");

    let killed_at = Instant::now();
    let mut slowest = Duration::ZERO;
    for key in &keys {
        let answer = client
            .send_retrying(Duration::from_secs(90), |_| payment(survivor, &commitment, key, &line, 100))
            .await
            .unwrap_or_else(|error| panic!("{key}: {error}"));
        assert_eq!(answer.status, 201, "{key}: {}", answer.text);
        slowest = slowest.max(killed_at.elapsed());
    }
    assert!(slowest < Duration::from_secs(75), "a key stayed claimed {slowest:?} after the kill");
    let made = i64::try_from(PAYMENTS).unwrap();
    assert_eq!(payment_traces(survivor, &commitment).await, (PAYMENTS, made * 100, made * 100, made));
}

/// PostgreSQL restarts while clients make payments: requests meanwhile get 503 (or a dropped
/// connection) and are retried under their key; afterwards each key made exactly one payment, whole,
/// and the feed holds each once. It restarts the server the whole suite uses, so it runs alone:
/// `.ci/run` runs it after the PostgreSQL suite.
#[tokio::test]
#[ignore = "restarts the PostgreSQL server: run alone (.ci/run does)"]
async fn a_postgres_restart_during_payments_loses_nothing() {
    const CLIENTS: usize = 4;
    let Some(Cluster { instances: _instances, client }) = Cluster::start(2).await else { return };
    let (commitment, line) = payable_line(&client.apps[0]).await;
    let started_at = |conn: &mut PgConnection| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("pg_postmaster_start_time()::text"))
            .get_result::<String>(conn)
            .unwrap()
    };
    let server_started = started_at(&mut PgConnection::establish(&client.apps[0].database.url().to_url()).unwrap());
    let stop = AtomicBool::new(false);
    // Each client pays until the restart is over and a moment after, noting when each payment was
    // sent and when it was answered.
    let clients = (0..CLIENTS).map(|c| {
        let (client, commitment, line, stop) = (&client, &commitment, &line, &stop);
        async move {
            let (mut failures, mut spans) = (Vec::new(), Vec::new());
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("restart-{c}-{n}");
                let sent = Instant::now();
                match client
                    .send_retrying(Duration::from_secs(90), |app| payment(app, commitment, &key, line, 100))
                    .await
                {
                    Ok(answer) if answer.status == 201 => spans.push((sent, Instant::now())),
                    Ok(answer) => failures.push(format!("{key}: {}", answer.text)),
                    Err(error) => failures.push(format!("{key}: {error}")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (failures, spans)
        }
    });
    let restart = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let version = std::fs::read_dir("/etc/postgresql").unwrap().next().unwrap().unwrap().file_name();
        let version = version.to_string_lossy().into_owned();
        let began = Instant::now();
        let restarted = tokio::task::spawn_blocking(move || {
            Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "restart"]).status()
        })
        .await
        .unwrap()
        .unwrap();
        assert!(restarted.success(), "pg_ctlcluster restart: {restarted}");
        let ended = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);
        (began, ended)
    };
    let (outcomes, (began, ended)) = tokio::join!(futures_util::future::join_all(clients), restart);
    let failures: Vec<&String> = outcomes.iter().flat_map(|(failures, _)| failures).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let spans: Vec<&(Instant, Instant)> = outcomes.iter().flat_map(|(_, spans)| spans).collect();
    let mut conn = PgConnection::establish(&client.apps[1].database.url().to_url()).unwrap();
    assert_ne!(started_at(&mut conn), server_started, "PostgreSQL did not restart");
    assert!(
        spans.iter().any(|(sent, answered)| *sent < ended && *answered > began),
        "no payment was in flight while PostgreSQL restarted"
    );
    let made = spans.len();
    let cents = i64::try_from(made).unwrap() * 100;
    let events = i64::try_from(made).unwrap();
    assert_eq!(payment_traces(&client.apps[1], &commitment).await, (made, cents, cents, events));
}
