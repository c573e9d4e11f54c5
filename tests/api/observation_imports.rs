//! Bulk files as jobs, and what keeps one caller's uploads from hurting the others: the 202 and
//! the import resource, its outcome and who may read it; the checks made before a byte is read;
//! the caps on concurrent uploads and on the spool; the deadline of a slow body; and, on both
//! backends, other callers' writes going on while a large file is checked.

use std::fmt::Write;
use std::time::Duration;

use ctg_api::startup::Application;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixtures::{BONNEVILLE_SIREN, FAUCIGNY};
use crate::helpers::{
    Answer, TestApp, admin_token, caf_agent_token, collectivity_token, fresh_database, spawn, spawn_app, test_config,
};

const HEADER: &str = "indicator,geo_level,geo_code,period,value,source\n";

async fn send_file(app: &TestApp, token: &str, body: String, respond_async: bool, key: Option<&str>) -> Answer {
    let mut request =
        app.client.post(app.url("/v1/observations/bulk")).bearer_auth(token).header("content-type", "text/csv");
    if respond_async {
        request = request.header("prefer", "respond-async");
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    app.send(request.body(body)).await
}

/// Reads the import at `location` until it has finished.
async fn finished(app: &TestApp, location: &str, token: &str) -> Value {
    for _ in 0..600 {
        let import = app.get(location, token).await;
        assert_eq!(import.status, 200, "{}", import.text);
        if matches!(import.body["status"].as_str(), Some("succeeded" | "failed")) {
            return import.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import at {location} did not finish");
}

/// A file of places_eaje rows for every commune of Haute-Savoie, one row per year of `years`.
async fn haute_savoie_file(app: &TestApp, years: std::ops::Range<u32>) -> String {
    let mut communes = Vec::new();
    let mut page = app.get("/v1/communes?department=74&page_size=200", &admin_token()).await;
    loop {
        communes.extend(page.body["items"].as_array().unwrap().iter().map(|c| c["insee"].as_str().unwrap().to_owned()));
        let Some(token) = page.body["next_page_token"].as_str() else { break };
        page = app.get(&format!("/v1/communes?department=74&page_size=200&page_token={token}"), &admin_token()).await;
    }
    assert!(communes.len() > 250, "{}", communes.len());
    let mut file = String::from(HEADER);
    for year in years {
        for commune in &communes {
            writeln!(file, "places_eaje,commune,{commune},{year},{},Cnaf", year % 97).unwrap();
        }
    }
    file
}

#[tokio::test]
async fn a_file_taken_as_a_job_is_followed_to_its_outcome_by_its_sender_only() {
    let app = spawn_app().await;
    let agent = caf_agent_token(&["74"]);
    let file = haute_savoie_file(&app, 2010..2014).await;
    let rows = file.lines().count() - 1;

    let accepted = send_file(&app, &agent, file.clone(), true, Some("file-1")).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let location = accepted.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/v1/observation-imports/{}", accepted.body["id"].as_str().unwrap()));
    assert_eq!(accepted.body["status"], "queued");
    assert_eq!(accepted.header("preference-applied"), Some("respond-async"));

    let done = finished(&app, &location, &agent).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        (done["rows_read"].as_u64(), done["rows_written"].as_u64(), done["inserted"].as_u64()),
        (Some(rows as u64), Some(rows as u64), Some(rows as u64))
    );
    assert!(done["elapsed_ms"].as_i64().unwrap() >= 0 && done["finished_at"].is_string());
    assert_eq!(done["errors"], json!([]));
    let ingest_id = done["ingest_id"].as_str().unwrap();
    let written =
        app.get(&format!("/v1/indicators/places_eaje/observations?ingest_id={ingest_id}&page_size=1"), &agent).await;
    assert_eq!(written.body["items"].as_array().unwrap().len(), 1, "{}", written.text);

    // The same key and file: the same 202, and no second job.
    let again = send_file(&app, &agent, file, true, Some("file-1")).await;
    assert_eq!((again.status, again.header("location")), (202, Some(location.as_str())));
    assert_eq!(finished(&app, &location, &agent).await["rows_written"], done["rows_written"]);

    // Another caller, even of the same département, does not see it; an admin does.
    app.get(&location, &caf_agent_token(&["74", "73"])).await.assert_problem(404, "NOT_FOUND");
    app.get(&location, &collectivity_token(&[FAUCIGNY])).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.get(&location, &admin_token()).await.status, 200);
    app.get("/v1/observation-imports/00000000-0000-4000-8000-000000000000", &admin_token())
        .await
        .assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_job_with_a_bad_row_fails_with_its_problems_and_writes_nothing() {
    let app = spawn_app().await;
    let agent = caf_agent_token(&["74"]);
    let mut file = haute_savoie_file(&app, 2010..2012).await;
    file.push_str("places_eaje,commune,33063,2011,4,Cnaf\n");
    let bad_line = file.lines().count() as u64;
    let accepted = send_file(&app, &agent, file, true, None).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let done = finished(&app, accepted.header("location").unwrap(), &agent).await;
    assert_eq!(done["status"], "failed");
    assert_eq!((done["rows_written"].as_u64(), done["ingest_id"].as_str()), (Some(0), None));
    assert_eq!(done["errors"][0]["line"], bad_line, "{done}");
    assert_eq!(done["errors"][0]["code"], "OUTSIDE_CALLER_TERRITORY");
    let written = app.get("/v1/indicators/places_eaje/observations", &agent).await;
    assert_eq!(written.body["items"], json!([]), "all or nothing");
}

/// Sends the head of a POST of `length` bytes and `sent` of them, then holds the connection open.
async fn hold_upload(app: &TestApp, token: &str, length: usize, sent: usize) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/observations/bulk HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&HEADER.as_bytes()[..sent.min(HEADER.len())]).await.unwrap();
    stream.flush().await.unwrap();
    // The upload is admitted once its body starts to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
}

/// The status line and headers a held connection gets back.
async fn answer_of(mut stream: TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn app_with(limits: impl FnOnce(&mut ctg_api::http::uploads::UploadLimits)) -> TestApp {
    let database = fresh_database();
    let mut config = test_config(database.url());
    limits(&mut config.uploads);
    spawn(Application::build(&config).unwrap(), database)
}

#[tokio::test]
async fn uploads_are_capped_per_caller_and_in_all_and_a_slow_body_is_408() {
    let app = app_with(|limits| {
        limits.per_caller = 1;
        limits.total = 2;
        limits.idle_timeout = Duration::from_secs(2);
    });
    let (alice, bob, carol) = (caf_agent_token(&["74"]), caf_agent_token(&["73"]), caf_agent_token(&["33"]));
    let held = hold_upload(&app, &alice, 1000, 10).await;

    let second = send_file(&app, &alice, HEADER.to_owned(), false, None).await;
    second.assert_problem(429, "RATE_LIMITED");
    assert!(second.header("retry-after").is_some());
    let other = hold_upload(&app, &bob, 1000, 10).await;
    let third = send_file(&app, &carol, HEADER.to_owned(), false, None).await;
    third.assert_problem(503, "UNAVAILABLE");
    assert!(third.header("retry-after").is_some());

    // Neither body comes on: each is 408 after the idle timeout, and gives its place back.
    let (held, other) = tokio::join!(answer_of(held), answer_of(other));
    for answer in [held, other] {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    }
    let file = format!("{HEADER}places_eaje,commune,74010,2024,5,Cnaf\n");
    assert_eq!(send_file(&app, &alice, file, false, None).await.status, 200);
}

#[tokio::test]
async fn the_spool_is_capped_in_bytes() {
    let app = app_with(|limits| limits.spool_bytes = 4096);
    let file = format!("{HEADER}{}", "places_eaje,commune,74010,2024,5,Cnaf\n".repeat(200));
    assert!(file.len() > 4096);
    send_file(&app, &caf_agent_token(&["74"]), file, false, None).await.assert_problem(503, "UNAVAILABLE");
    let small = format!("{HEADER}places_eaje,commune,74010,2024,5,Cnaf\n");
    assert_eq!(send_file(&app, &caf_agent_token(&["74"]), small, false, None).await.status, 200);
}

#[tokio::test]
async fn role_and_territory_are_judged_before_the_body_is_read() {
    let app = spawn_app().await;
    // A collectivity whose SIREN is no commune or EPCI has nowhere to write: refused at once,
    // without waiting for a body that never comes.
    let stranger = collectivity_token(&["775672272"]);
    let answer = answer_of(hold_upload(&app, &stranger, 10_000, 0).await).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // A collectivity's file is small: a large one is refused from its announced length.
    let town = collectivity_token(&[BONNEVILLE_SIREN]);
    let answer = answer_of(hold_upload(&app, &town, 5 * 1024 * 1024, 0).await).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// On SQLite, whether a writer could take the database's write lock at once, without waiting;
/// PostgreSQL has no such lock.
fn write_lock_is_free(app: &TestApp) -> bool {
    use diesel::connection::SimpleConnection;
    let mut conn = ctg_api::db::connect(app.database.url()).unwrap();
    if !matches!(conn, ctg_api::db::DbConnection::Sqlite(_)) {
        return true;
    }
    conn.batch_execute("PRAGMA busy_timeout = 0").unwrap();
    let taken = conn.batch_execute("BEGIN IMMEDIATE").is_ok();
    if taken {
        conn.batch_execute("ROLLBACK").unwrap();
    }
    taken
}

#[tokio::test]
async fn other_writers_go_on_while_a_large_file_is_checked() {
    let app = spawn_app().await;
    let agent = caf_agent_token(&["74"]);
    let file = haute_savoie_file(&app, 1900..2100).await;
    let accepted = send_file(&app, &agent, file, true, None).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let location = accepted.header("location").unwrap().to_owned();

    // Another département's CAF agent writes all along, while the file is checked and applied:
    // none of its writes may fail.
    let other = caf_agent_token(&["33"]);
    let (mut writes, mut during_checking) = (0, 0);
    loop {
        let status = app.get(&location, &agent).await.body["status"].as_str().unwrap().to_owned();
        let body = json!({"kind": "other", "name": format!("Relais petite enfance {writes}"), "department": "33"});
        let created = app.post_json("/v1/organisations", &other, &body).await;
        assert_eq!(created.status, 201, "a write failed during the ingestion: {}", created.text);
        writes += 1;
        if status == "checking" {
            during_checking += 1;
            // Free at some moment of the check (the job's progress is one short write a second),
            // as long as it is still being checked after.
            let mut free = false;
            for _ in 0..3 {
                free = free || write_lock_is_free(&app);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let still_checking = app.get(&location, &agent).await.body["status"] == "checking";
            assert!(free || !still_checking, "the check holds SQLite's write lock");
        }
        if matches!(status.as_str(), "succeeded" | "failed") {
            break;
        }
    }
    assert_eq!(finished(&app, &location, &agent).await["status"], "succeeded");
    assert!(during_checking >= 3, "the check was too short to write beside it: {during_checking} writes");
}
