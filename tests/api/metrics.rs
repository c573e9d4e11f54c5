//! `GET /metrics` on its own address: requests by route template, the pool, idempotent replays.
//! Counters belong to the process and other tests run beside these: only "at least" holds.

use ctg_api::startup::Application;
use serde_json::json;

use crate::helpers::{TestApp, admin_token, fresh_database, spawn, test_config};

/// An application with its metrics server, and the address of that server.
fn spawn_with_metrics() -> (TestApp, String) {
    let database = fresh_database();
    let mut config = test_config(database.url());
    config.metrics_bind = Some("127.0.0.1:0".into());
    let app = Application::build(&config).unwrap();
    let metrics = format!("http://127.0.0.1:{}/metrics", app.metrics_port().expect("a metrics port"));
    (spawn(app, database), metrics)
}

/// The value of the first sample whose line starts with `series`.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find(|line| line.starts_with(series)).and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_replays() {
    let (app, metrics) = spawn_with_metrics();
    let admin = admin_token();
    assert_eq!(app.get_anonymous("/health/live").await.status, 200);
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(app.get(&format!("/v1/organisations/{unknown}"), &admin).await.status, 404);
    let create = || {
        app.client
            .post(app.url("/v1/organisations"))
            .bearer_auth(&admin)
            .json(&json!({"kind": "other", "name": "Collectif"}))
    };
    let key = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        let answer = app.send(create().header("Idempotency-Key", &key)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }

    let scrape = app.client.get(&metrics).send().await.unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let scrape = scrape.text().await.unwrap();

    let not_found = r#"ctg_http_requests_total{method="GET",route="/v1/organisations/{id}",status="404"}"#;
    assert!(sample(&scrape, not_found) >= Some(1.0), "{scrape}");
    assert!(!scrape.contains(&unknown.to_string()), "an id is never a label");
    assert!(sample(&scrape, r#"ctg_http_requests_total{method="GET",route="/health/live",status="200"}"#) >= Some(1.0));
    assert!(scrape.contains(r#"ctg_http_request_duration_seconds_bucket{method="GET",route="/v1/organisations/{id}""#));
    assert!(sample(&scrape, "ctg_idempotency_replays_total") >= Some(1.0), "{scrape}");
    assert!(sample(&scrape, "ctg_feed_events_written_total") >= Some(1.0), "{scrape}");
    assert!(sample(&scrape, "ctg_db_pool_max_connections") >= Some(1.0), "{scrape}");
    for gauge in ["ctg_db_pool_connections ", "ctg_db_pool_connections_in_use "] {
        assert!(sample(&scrape, gauge).is_some(), "{gauge} in {scrape}");
    }
    assert!(scrape.contains("# HELP ctg_http_requests_total "), "every metric is described");
}

#[tokio::test]
async fn a_path_no_route_matches_is_counted_as_unmatched() {
    let (app, metrics) = spawn_with_metrics();
    let path = format!("/no-such-place-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(app.get_anonymous(&path).await.status, 404);
    let scrape = app.client.get(&metrics).send().await.unwrap().text().await.unwrap();
    assert!(sample(&scrape, r#"ctg_http_requests_total{method="GET",route="unmatched",status="404"}"#) >= Some(1.0));
    assert!(!scrape.contains(&path), "a raw path is never a label");
}

#[tokio::test]
async fn the_api_port_never_serves_metrics() {
    let (app, _) = spawn_with_metrics();
    assert_eq!(app.get_anonymous("/metrics").await.status, 404);
    let without = crate::helpers::spawn_app().await;
    assert_eq!(without.get_anonymous("/metrics").await.status, 404);
}
