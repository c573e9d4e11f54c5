//! Rate limits, through actix-governor: one bucket per token subject (a verified token, so that
//! nobody can spend someone else's bucket by sending their `sub` in a forged one) and one per
//! client address. Past either, 429 `RATE_LIMITED` with `Retry-After` and the `RateLimit-*`
//! headers. Health checks are never limited: an orchestrator probing an instance must not be told
//! it is down because clients are busy.

use std::net::IpAddr;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, HttpResponseBuilder, ResponseError, web};

use crate::auth::{self, KeySet};
use crate::error::ApiError;

/// A rate: so many requests a second, in bursts of up to twice as many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
}

impl Rate {
    fn burst(self) -> u32 {
        self.per_second.saturating_mul(2)
    }
}

/// The key of requests no limit applies to.
const EXEMPT: &str = "";

fn exempt(request: &ServiceRequest) -> bool {
    request.path().starts_with("/health/")
}

/// The count of requests refused 429, by limit (`subject` or `address`), for
/// [`crate::http::metrics`].
pub const REFUSED: &str = "ctg_rate_limited_total";

/// The 429 of the `limit` bucket of `rate` that `negative` says is empty.
fn too_many(negative: &NotUntil<QuantaInstant>, rate: Rate, limit: &'static str) -> HttpResponse {
    metrics::counter!(REFUSED, "limit" => limit).increment(1);
    let wait = negative.wait_time_from(DefaultClock::default().now());
    // Rounded up: a client waiting the whole seconds it is told is never refused again for it.
    let retry_after_seconds = u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).unwrap_or(u32::MAX);
    let mut response = ApiError::RateLimited { retry_after_seconds }.error_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", rate.burst().to_string()),
        ("ratelimit-remaining", "0".to_owned()),
        ("ratelimit-reset", retry_after_seconds.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::HeaderName::from_static(name), value);
        }
    }
    response
}

/// One bucket per verified token subject; requests without a valid token are left to the
/// per-address limit (and get their 401 from the route).
#[derive(Clone)]
pub struct BySubject {
    keys: web::Data<KeySet>,
    rate: Rate,
}

impl KeyExtractor for BySubject {
    type Key = String;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, request: &ServiceRequest) -> Result<String, Self::KeyExtractionError> {
        if exempt(request) {
            return Ok(EXEMPT.to_owned());
        }
        let authorization = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        let Ok(caller) = auth::authenticate(&self.keys, authorization) else {
            return Ok(EXEMPT.to_owned());
        };
        let key = caller.fingerprint();
        // The route's `Caller` extractor takes it from here rather than verifying the token again.
        request.extensions_mut().insert(caller);
        Ok(key)
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _response: HttpResponseBuilder,
    ) -> HttpResponse {
        too_many(negative, self.rate, "subject")
    }

    fn whitelisted_keys(&self) -> Vec<String> {
        vec![EXEMPT.to_owned()]
    }
}

/// One bucket per client address, as the connection shows it (a proxy in front of the service
/// is one client: set this limit for what the proxy carries, or turn it off).
#[derive(Clone)]
pub struct ByAddress {
    rate: Rate,
}

impl KeyExtractor for ByAddress {
    type Key = Option<IpAddr>;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, request: &ServiceRequest) -> Result<Option<IpAddr>, Self::KeyExtractionError> {
        if exempt(request) {
            return Ok(None);
        }
        Ok(request.peer_addr().map(|address| address.ip()))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _response: HttpResponseBuilder,
    ) -> HttpResponse {
        too_many(negative, self.rate, "address")
    }

    fn whitelisted_keys(&self) -> Vec<Option<IpAddr>> {
        vec![None]
    }
}

/// A limiter's configuration, built once per server so that every worker shares its buckets, and
/// whether it is on (a rate of 0 turns it off).
pub struct Limiter<K: KeyExtractor> {
    pub config: GovernorConfig<K, NoOpMiddleware>,
    pub on: bool,
}

fn limiter<K: KeyExtractor>(key: K, rate: Rate) -> Limiter<K> {
    let config = GovernorConfigBuilder::default()
        .requests_per_second(u64::from(rate.per_second.max(1)))
        .burst_size(rate.burst().max(1))
        .key_extractor(key)
        .finish()
        .unwrap_or_else(|| unreachable!("a rate and a burst of at least 1 make a valid quota"));
    Limiter { config, on: rate.per_second > 0 }
}

/// The per-subject limiter.
pub fn by_subject(keys: web::Data<KeySet>, rate: Rate) -> Limiter<BySubject> {
    limiter(BySubject { keys, rate }, rate)
}

/// The per-address limiter.
pub fn by_address(rate: Rate) -> Limiter<ByAddress> {
    limiter(ByAddress { rate }, rate)
}
