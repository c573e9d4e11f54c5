//! Builds the running service from a [`Config`]: database ready, keys loaded, server bound. `main`
//! and the integration tests start the service through the same code.

use std::net::TcpListener;

use actix_governor::Governor;
use actix_web::dev::Server;
use actix_web::middleware::{Condition, Logger, from_fn};
use actix_web::{App, HttpServer, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use utoipa_actix_web::AppExt;

use crate::api::docs::OpenApiJson;
use crate::auth::KeySet;
use crate::config::{Config, DiagnosticAidCeiling};
use crate::db::{self, DatabaseUrl, DbPool};
use crate::http::fallback::{self, RouteTable};
use crate::http::pagination::PageTokenKey;
use crate::http::{head, limits, metrics, rate_limit, request_id, security_headers};
use crate::openapi;

/// Request id, client address, request line, status, size and duration. Headers — the
/// `Authorization` header above all — are never logged.
const ACCESS_LOG_FORMAT: &str = r#"%{x-request-id}i %a "%r" %s %b %Dms"#;

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics server and its port, when `CTG_METRICS_BIND` is set.
    metrics: Option<(Server, u16)>,
    /// For the background purges of [`crate::housekeeping`].
    pool: DbPool,
    retention: crate::housekeeping::Retention,
    /// In dev mode: the secret made up for it, to mint the banner's token.
    pub dev_secret: Option<Vec<u8>>,
}

/// Creates and migrates the database, and seeds the territory reference into a fresh one. Any
/// number of instances may run it together on one database: they take turns, and those that come
/// after the first find nothing left to do.
pub fn prepare_database(url: &DatabaseUrl) -> Result<(), String> {
    let mut conn = db::connect(url).map_err(|error| format!("cannot open the database {}: {error}", url.redacted()))?;
    db::migrations::holding_start_lock(&mut conn, |conn| {
        let applied = db::migrations::run_pending(conn).map_err(|error| format!("migrations failed: {error}"))?;
        for name in applied {
            log::info!("applied migration {name}");
        }
        if let Some(report) = db::territories::seed_if_empty(conn)
            .map_err(|error| format!("seeding the territory reference failed: {error}"))?
        {
            log::info!(
                "seeded the territory reference: {} départements, {} EPCI, {} communes",
                report.departments.inserted,
                report.epcis.inserted,
                report.communes.inserted
            );
        }
        Ok(())
    })
    .map_err(|error| error.to_string())
}

fn random_secret() -> Vec<u8> {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()).into_bytes()
}

/// The page-token key: its own setting, else derived from the JWT secret (so that instances
/// sharing a configuration accept each other's tokens), else random for this process.
fn page_token_key(config: &Config) -> PageTokenKey {
    if let Some(secret) = &config.page_token_secret {
        return PageTokenKey::new(secret);
    }
    match &config.jwt_secret {
        Some(secret) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
            mac.update(b"ctg-api page tokens");
            PageTokenKey::new(&mac.finalize().into_bytes())
        }
        None => PageTokenKey::new(&random_secret()),
    }
}

impl Application {
    pub fn build(config: &Config) -> Result<Self, String> {
        prepare_database(&config.database_url)?;
        let pool = db::build_pool(&config.database_url, config.pool);
        Self::build_with_pool(config, pool)
    }

    /// Starts the server on an existing pool, without touching the database first.
    pub fn build_with_pool(config: &Config, pool: DbPool) -> Result<Self, String> {
        // Dev mode takes no key of its own (`Config` refuses one): it makes one up.
        let dev_secret = config.dev.then(random_secret);
        let jwks = config.jwt_jwks_file.as_deref().map(KeySet::read_jwks).transpose()?;
        let secret = config.jwt_secret.as_deref().or(dev_secret.as_deref());
        let keys = web::Data::new(KeySet::new(secret, jwks.as_ref(), &config.jwt_issuer, &config.jwt_audience)?);
        let mut config = config.clone();
        if config.jwt_secret.is_none() {
            config.jwt_secret.clone_from(&dev_secret);
        }
        let page_tokens = web::Data::new(page_token_key(&config));
        let per_subject =
            rate_limit::by_subject(keys.clone(), rate_limit::Rate { per_second: config.rate_limit_per_subject });
        let per_address = rate_limit::by_address(rate_limit::Rate { per_second: config.rate_limit_per_address });
        let document = openapi::document();
        let routes = web::Data::new(RouteTable::from_openapi(&document));
        let document = web::Data::new(OpenApiJson(openapi::document_json()));
        let housekeeping_pool = pool.clone();
        let metrics_server =
            config.metrics_bind.as_deref().map(|bind| metrics::serve(bind, pool.clone())).transpose()?;
        let counted = metrics_server.is_some();
        let pool = web::Data::new(pool);
        let document_limit = web::Data::new(crate::api::documents::DocumentLimit(config.document_max_bytes));
        // One count of uploads for the whole instance, shared by its workers.
        let uploads = web::Data::new(crate::http::uploads::Uploads::new(config.uploads));
        let diagnostic_aid_ceiling = web::Data::new(DiagnosticAidCeiling(config.diagnostic_aid_ceiling_cents));

        let listener =
            TcpListener::bind(&config.bind).map_err(|error| format!("cannot listen on {}: {error}", config.bind))?;
        let port = listener.local_addr().map_err(|error| error.to_string())?.port();
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(pool.clone())
                .app_data(keys.clone())
                .app_data(page_tokens.clone())
                .app_data(routes.clone())
                .app_data(document.clone())
                .app_data(document_limit.clone())
                .app_data(uploads.clone())
                .app_data(diagnostic_aid_ceiling.clone())
                .app_data(web::PathConfig::default().error_handler(|_, _| crate::error::ApiError::NotFound.into()))
                .configure(crate::routes::configure)
                .split_for_parts();
            // HEAD is turned into GET inside the access log, which keeps the request line as sent.
            app.default_service(web::to(fallback::not_routed))
                .wrap(Condition::new(per_subject.on, Governor::new(&per_subject.config)))
                .wrap(Condition::new(per_address.on, Governor::new(&per_address.config)))
                .wrap(from_fn(head::middleware))
                .wrap(from_fn(limits::middleware))
                .wrap(Logger::new(ACCESS_LOG_FORMAT))
                .wrap(Condition::new(counted, from_fn(metrics::middleware)))
                .wrap(from_fn(request_id::middleware))
                .wrap(from_fn(security_headers::middleware))
        })
        .workers(config.workers)
        .shutdown_timeout(config.shutdown_timeout_seconds)
        .listen(listener)
        .map_err(|error| format!("cannot start the server: {error}"))?
        .run();
        Ok(Self {
            port,
            server,
            metrics: metrics_server,
            pool: housekeeping_pool,
            retention: crate::housekeeping::Retention {
                idempotency_keys: config.idempotency_retention,
                feed: config.feed_retention,
            },
            dev_secret,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `GET /metrics`, when `CTG_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish (up to the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(crate::housekeeping::run(self.pool, self.retention));
        // Scrapes go on while the API drains its requests, and end with it.
        let metrics = self.metrics.map(|(server, _)| (server.handle(), tokio::spawn(server)));
        let stopped = self.server.await;
        housekeeping.abort();
        if let Some((handle, server)) = metrics {
            handle.stop(true).await;
            if let Ok(Err(error)) = server.await {
                log::warn!("the metrics server stopped with an error: {error}");
            }
        }
        stopped
    }
}
