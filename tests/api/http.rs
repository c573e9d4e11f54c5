//! The HTTP conventions every route shares (API.md §3): problem+json for actix's own errors,
//! 405 with Allow, request ids, health, and 503 while the database is away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ctg_api::db::{self, DatabaseUrl, PoolSettings};
use ctg_api::startup::Application;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::{admin_token, fresh_database, postgres_admin_url, spawn, spawn_app, test_config};

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in ["/nope", "/v1/nope", "/v1/epcis/200000172/nope", "/v2/epcis"] {
        let answer = app.get(path, &admin_token()).await;
        answer.assert_problem(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::POST, "/v1/epcis/200000172"),
        (reqwest::Method::DELETE, "/v1/epcis"),
        (reqwest::Method::PUT, "/v1/communes/74042"),
        (reqwest::Method::POST, "/health/live"),
    ] {
        let answer = app.send(app.client.request(method.clone(), app.url(path)).bearer_auth(admin_token())).await;
        answer.assert_problem(405, "METHOD_NOT_ALLOWED");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{method} {path}");
    }
}

#[tokio::test]
async fn a_well_formed_request_id_is_echoed_and_any_other_replaced() {
    let app = spawn_app().await;
    let answer = app.send(app.client.get(app.url("/health/live")).header("X-Request-Id", "trace-42.a:b")).await;
    assert_eq!(answer.header("x-request-id"), Some("trace-42.a:b"));

    let answer = app.send(app.client.get(app.url("/nope")).header("X-Request-Id", "has spaces and ünïcode")).await;
    let generated = answer.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    assert_eq!(answer.assert_problem(404, "NOT_FOUND")["request_id"], generated);

    let first = app.get_anonymous("/health/live").await;
    let second = app.get_anonymous("/health/live").await;
    assert_ne!(first.header("x-request-id"), second.header("x-request-id"));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_no_authenticated_one_is_stored() {
    let app = spawn_app().await;
    let token = admin_token();
    let answers = [
        (false, app.get_anonymous("/health/live").await),
        (false, app.get_anonymous("/v1/epcis/200000172").await),
        (true, app.get("/v1/epcis/200000172", &token).await),
        (true, app.get("/nope", &token).await),
        (true, app.post_json("/v1/organisations", &token, &serde_json::json!({"kind": "commune"})).await),
    ];
    let statuses: Vec<u16> = answers.iter().map(|(_, answer)| answer.status).collect();
    assert_eq!(statuses, [200, 401, 200, 404, 422]);
    for (authenticated, answer) in &answers {
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{}", answer.text);
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(answer.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
        assert_eq!(answer.header("cache-control") == Some("no-store"), *authenticated, "{}", answer.text);
    }
}

#[tokio::test]
async fn answered_idempotency_keys_are_purged_once_their_retention_has_passed() {
    let database = fresh_database();
    let mut config = test_config(database.url());
    config.idempotency_retention = Duration::from_secs(1);
    let app = spawn(Application::build(&config).unwrap(), database);
    let send = |name: &'static str| {
        let body = serde_json::json!({"kind": "association", "name": name, "siren": "775672272", "department": "74"});
        app.send(
            app.client
                .post(app.url("/v1/organisations"))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", "kept-a-second")
                .json(&body),
        )
    };
    let first = send("Association A").await;
    assert_eq!(first.status, 201, "{}", first.text);
    // Within the retention, the key belongs to its first request.
    send("Association B").await.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    // Past it (and the purge that follows within a second), the key is free: another request
    // may use it, and is judged on its own (the SIREN is taken by the first).
    tokio::time::sleep(Duration::from_secs(3)).await;
    send("Association B").await.assert_problem(409, "CONFLICT");
}

/// The statuses of `count` GETs of `path` sent at once with `token` (none when empty).
async fn burst(app: &crate::helpers::TestApp, path: &str, token: &str, count: usize) -> Vec<crate::helpers::Answer> {
    let requests = (0..count).map(|_| {
        let request = app.client.get(app.url(path));
        let request = if token.is_empty() { request } else { request.bearer_auth(token) };
        app.send(request)
    });
    futures_util::future::join_all(requests).await
}

#[tokio::test]
async fn a_caller_past_its_rate_is_told_when_to_come_back() {
    let database = fresh_database();
    let mut config = test_config(database.url());
    config.rate_limit_per_subject = 2;
    let app = spawn(Application::build(&config).unwrap(), database);
    let agent = crate::helpers::caf_agent_token(&["74"]);
    // A forged token carrying the agent's subject is refused, and spends nothing of its bucket.
    let mut forged = crate::helpers::claims("caf_agent");
    forged.departments = vec!["74".into()];
    let forged = ctg_api::auth::token::mint(b"not-the-service-secret-not-the-service-secret", &forged).unwrap();
    assert!(burst(&app, "/v1/enums", &forged, 8).await.iter().all(|answer| answer.status == 401));

    let answers = burst(&app, "/v1/enums", &agent, 12).await;
    let passed = answers.iter().filter(|answer| answer.status == 200).count();
    assert!((4..12).contains(&passed), "a burst of twice the rate passes, not all: {passed}");
    let limited = answers.iter().find(|answer| answer.status == 429).unwrap();
    limited.assert_problem(429, "RATE_LIMITED");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("ratelimit-limit"), Some("4"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    // Another subject has its own bucket; health checks have none.
    assert_eq!(app.get("/v1/enums", &admin_token()).await.status, 200);
    assert!(burst(&app, "/health/live", &agent, 12).await.iter().all(|answer| answer.status == 200));
    // Told when to come back, it is served again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(app.get("/v1/enums", &agent).await.status, 200);
}

#[tokio::test]
async fn one_address_is_limited_whatever_tokens_it_sends() {
    let database = fresh_database();
    let mut config = test_config(database.url());
    config.rate_limit_per_address = 2;
    let app = spawn(Application::build(&config).unwrap(), database);
    let mut answers = burst(&app, "/v1/enums", &admin_token(), 4).await;
    answers.extend(burst(&app, "/v1/enums", &crate::helpers::caf_agent_token(&["74"]), 4).await);
    answers.extend(burst(&app, "/v1/enums", "", 4).await);
    assert!(answers.iter().any(|answer| answer.status == 429), "twelve requests from one address, rate 2");
    assert!(burst(&app, "/health/ready", "", 8).await.iter().all(|answer| answer.status == 200));
}

#[tokio::test]
async fn an_over_long_uri_or_header_is_a_problem_not_a_bare_status() {
    let app = spawn_app().await;
    let long_query = format!("/v1/enums?q={}", "a".repeat(20_000));
    let answer = app.get(&long_query, &admin_token()).await;
    answer.assert_problem(414, "URI_TOO_LONG");
    assert!(answer.text.len() < 1_000, "{}", answer.text);
    let answer = app
        .send(app.client.get(app.url("/v1/enums")).bearer_auth(admin_token()).header("X-Trace", "t".repeat(20_000)))
        .await;
    answer.assert_problem(431, "HEADERS_TOO_LARGE");
    // Within the limits, the request is judged as usual.
    let answer = app.get(&format!("/v1/epcis?nope={}", "a".repeat(7_000)), &admin_token()).await;
    answer.assert_problem(400, "INVALID_PARAMETER");
}

#[tokio::test]
async fn health_endpoints_answer_without_a_token() {
    let app = spawn_app().await;
    let live = app.get_anonymous("/health/live").await;
    assert_eq!((live.status, live.body["status"].as_str()), (200, Some("ok")));
    let ready = app.get_anonymous("/health/ready").await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ok")));
    // A probe takes no parameter, as every route refuses one it does not document.
    for path in ["/health/live?verbose=1", "/health/ready?deep=true"] {
        app.get_anonymous(path).await.assert_problem(400, "INVALID_PARAMETER");
    }
}

#[tokio::test]
async fn an_unknown_or_invalid_query_parameter_is_400_naming_it() {
    let app = spawn_app().await;
    let answer = app.get("/v1/communes?departement=74", &admin_token()).await;
    let body = answer.assert_problem(400, "INVALID_PARAMETER");
    assert_eq!(body["errors"][0]["parameter"], "departement");

    let answer = app.get("/v1/communes?page_size=many", &admin_token()).await;
    let body = answer.assert_problem(400, "INVALID_PARAMETER");
    assert_eq!(body["errors"][0]["parameter"], "page_size");

    for size in ["0", "201", "-1"] {
        let answer = app.get(&format!("/v1/communes?page_size={size}"), &admin_token()).await;
        answer.assert_problem(400, "INVALID_PARAMETER");
    }
}

fn pool_settings() -> PoolSettings {
    PoolSettings { max_size: 2, checkout_timeout: Duration::from_millis(300) }
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_503_with_retry_after() {
    let database = fresh_database();
    let config = test_config(database.url());
    // Nothing listens on port 1: every connection attempt fails at once.
    let dead = DatabaseUrl::Postgres("postgres://postgres@127.0.0.1:1/ctg".into());
    let app = spawn(Application::build_with_pool(&config, db::build_pool(&dead, pool_settings())).unwrap(), database);

    let ready = app.get_anonymous("/health/ready").await;
    ready.assert_problem(503, "UNAVAILABLE");
    assert_eq!(ready.header("retry-after"), Some("2"));
    let read = app.get("/v1/epcis/200000172", &admin_token()).await;
    read.assert_problem(503, "UNAVAILABLE");
    assert!(!read.text.contains("127.0.0.1:1"), "no internal detail: {}", read.text);
    let live = app.get_anonymous("/health/live").await;
    assert_eq!(live.status, 200);
}

/// A TCP relay to PostgreSQL that can be cut and restored, standing in for a database server that
/// goes away and comes back.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (relay_up, relay_links) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !relay_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                relay_links.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, up, links }
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn ready_status(app: &crate::helpers::TestApp) -> u16 {
    app.get_anonymous("/health/ready").await.status
}

/// Polls until the status is `expected`, for at most a few seconds.
async fn eventually_ready(app: &crate::helpers::TestApp, expected: u16) -> u16 {
    let mut status = 0;
    for _ in 0..50 {
        status = ready_status(app).await;
        if status == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

#[tokio::test]
async fn the_service_recovers_by_itself_when_postgresql_comes_back() {
    if postgres_admin_url().is_none() {
        eprintln!("PostgreSQL-only: runs when TEST_DATABASE_URL is set");
        return;
    }
    let database = fresh_database();
    let DatabaseUrl::Postgres(real_url) = database.url().clone() else { unreachable!() };
    let (before, after) = real_url.split_once('@').expect("TEST_DATABASE_URL names user@host");
    let (server, path) = after.split_once('/').expect("TEST_DATABASE_URL names a database");
    let target = if server.contains(':') { server.to_owned() } else { format!("{server}:5432") };
    let relay = Relay::start(target).await;
    let relayed = DatabaseUrl::Postgres(format!("{before}@127.0.0.1:{}/{path}", relay.port));
    let config = test_config(database.url());
    let app =
        spawn(Application::build_with_pool(&config, db::build_pool(&relayed, pool_settings())).unwrap(), database);

    assert_eq!(ready_status(&app).await, 503, "down at first");
    relay.restore();
    assert_eq!(eventually_ready(&app, 200).await, 200, "back once the database is");
    let read = app.get("/v1/epcis/200000172", &admin_token()).await;
    assert_eq!(read.status, 200);

    relay.cut().await;
    assert_eq!(eventually_ready(&app, 503).await, 503, "pooled connections to a vanished server are not reused");
    relay.restore();
    assert_eq!(eventually_ready(&app, 200).await, 200, "and back again");
}

#[tokio::test]
async fn bodies_must_be_json_small_and_well_formed() {
    let app = spawn_app().await;
    let url = app.url("/v1/organisations");
    let answer = app
        .send(app.client.post(&url).bearer_auth(admin_token()).header("Content-Type", "text/plain").body("{}"))
        .await;
    answer.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    let answer = app.send(app.client.post(&url).bearer_auth(admin_token()).body("{}")).await;
    answer.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!("{{\"kind\":\"other\",\"name\":\"{}\"}}", "x".repeat(300 * 1024));
    let answer = app
        .send(app.client.post(&url).bearer_auth(admin_token()).header("Content-Type", "application/json").body(huge))
        .await;
    answer.assert_problem(413, "PAYLOAD_TOO_LARGE");
    let answer = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(admin_token())
                .header("Content-Type", "application/json")
                .body("{\"kind\":"),
        )
        .await;
    answer.assert_problem(400, "MALFORMED_REQUEST");
    let answer = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(admin_token())
                .header("Content-Type", "application/json; charset=utf-8")
                .body(r#"{"kind":"other","name":"Collectif"}"#),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(answer.header("location").unwrap().starts_with("/v1/organisations/"));
    assert_eq!(answer.header("etag"), Some("\"1\""));
}

/// SIGTERM while a request is half sent: the server stops taking connections, finishes that
/// request, answers it, and exits cleanly.
#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let database = fresh_database();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_ctg-api"))
        .arg("serve")
        .env("DATABASE_URL", database.url().to_url())
        .env("CTG_BIND", format!("127.0.0.1:{port}"))
        .env("CTG_JWT_SECRET", crate::helpers::SECRET)
        .env("CTG_JWT_ISSUER", crate::helpers::ISSUER)
        .env("CTG_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(connected) = TcpStream::connect(("127.0.0.1", port)).await {
            stream = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = stream.expect("the server listens");
    let body = r#"{"kind":"other","name":"Collectif des parents"}"#;
    let head = format!(
        "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        admin_token(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let terminated = std::process::Command::new("kill").arg("-TERM").arg(server.id().to_string()).status().unwrap();
    assert!(terminated.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "no new connection once stopping");

    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = server.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = exited.unwrap_or_else(|| {
        let _ = server.kill();
        panic!("the server did not exit after SIGTERM")
    });
    assert!(status.success(), "{status}");
}
