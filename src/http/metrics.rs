//! Prometheus metrics: the process's recorder, which every `metrics::counter!` of the crate writes
//! to, the middleware that counts requests, and the small server that answers `GET /metrics` on
//! `CTG_METRICS_BIND`. The API's own port never serves them: what the service does is for its
//! operators, on an address they choose to expose.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::{self, DbPool, pool_metrics};
use crate::http::{idempotency, rate_limit};
use crate::ingest;

pub const REQUESTS: &str = "ctg_http_requests_total";
pub const REQUEST_SECONDS: &str = "ctg_http_request_duration_seconds";

/// The route of a request no route matched: its raw path would make a series of every URL a
/// scanner tries.
const UNMATCHED: &str = "unmatched";

/// From a read answered in a millisecond to a bulk file applied within its request.
const REQUEST_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// A wait for a database permit ends at the pool's timeout (3 s by default).
const POOL_WAIT_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often histograms are drained into their buckets between scrapes, so that their samples
/// never pile up when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's recorder, installed by the first call: a process has one global recorder, and the
/// tests build many applications in one process.
pub fn recorder() -> Result<PrometheusHandle, String> {
    RECORDER.get_or_init(install).clone()
}

fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), REQUEST_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(Matcher::Full(pool_metrics::WAIT_SECONDS.into()), POOL_WAIT_BUCKETS)
        })
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|error| format!("cannot install the metrics recorder: {error}"))?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        })
        .map_err(|error| format!("cannot start the metrics upkeep: {error}"))?;
    Ok(handle)
}

fn describe() {
    describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status");
    describe_histogram!(REQUEST_SECONDS, Unit::Seconds, "Time to answer an HTTP request, by method and route template");
    describe_gauge!(pool_metrics::SIZE, "Database connections open, idle or lent out");
    describe_gauge!(pool_metrics::IN_USE, "Database connections lent out to requests");
    describe_gauge!(pool_metrics::MAX_SIZE, "The most database connections the pool opens (CTG_DB_POOL_SIZE)");
    describe_counter!(pool_metrics::WAITS, "Database work that found no connection free and waited for one");
    describe_histogram!(pool_metrics::WAIT_SECONDS, Unit::Seconds, "How long database work waited for a connection");
    describe_counter!(pool_metrics::TIMEOUTS, "Database work refused 503 for want of a connection in time");
    describe_counter!(ingest::ROWS_INGESTED, "Observation rows written by bulk imports that committed");
    describe_counter!(db::FEED_EVENTS_WRITTEN, "Feed events written by transactions that committed");
    describe_counter!(idempotency::REPLAYS, "Retries answered with the stored answer of their Idempotency-Key");
    describe_counter!(
        idempotency::IN_PROGRESS,
        "Retries refused 409 because the first request with their Idempotency-Key was still running"
    );
    describe_counter!(rate_limit::REFUSED, "Requests refused 429, by limit: per token subject or per address");
}

/// Counts every request by method, route template and status, and times it.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    // The template matched against every route, not the raw path, so that ids never become series.
    let route = request.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let response = next.call(request).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status.as_str().to_owned())
        .increment(1);
    histogram!(REQUEST_SECONDS, "method" => method, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: any method outside HTTP's own is `other`, so a client cannot mint series.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN.iter().find(|(known, _)| known == method).map_or("other", |(_, label)| label)
}

/// What a scrape reads.
struct Scrape {
    recorder: PrometheusHandle,
    pool: DbPool,
}

async fn scrape(scrape: web::Data<Scrape>) -> HttpResponse {
    // The pool's state is read when asked rather than tracked on every checkout.
    let usage = scrape.pool.usage();
    gauge!(pool_metrics::SIZE).set(usage.open);
    gauge!(pool_metrics::IN_USE).set(usage.in_use);
    gauge!(pool_metrics::MAX_SIZE).set(usage.max_size);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(scrape.recorder.render())
}

/// The metrics server on `bind`: one worker serving `GET /metrics` and nothing else. It takes no
/// signal of its own: it stops when the API's server has.
pub fn serve(bind: &str, pool: DbPool) -> Result<(Server, u16), String> {
    let scrape_state = web::Data::new(Scrape { recorder: recorder()?, pool });
    let listener = TcpListener::bind(bind).map_err(|error| format!("cannot listen on {bind} for metrics: {error}"))?;
    let port = listener.local_addr().map_err(|error| error.to_string())?.port();
    let server =
        HttpServer::new(move || App::new().app_data(scrape_state.clone()).route("/metrics", web::get().to(scrape)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .map_err(|error| format!("cannot start the metrics server: {error}"))?
            .run();
    Ok((server, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
