//! Liveness and readiness, for orchestrators and load balancers. No token needed.

use actix_web::{HttpResponse, get, web};
use diesel::r2d2::R2D2Connection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::http::query::{ApiQuery, NoParameters};

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// A probe sends no parameter; one that does is misconfigured and is told so, as on every route.
const UNKNOWN_PARAMETER: &str = "A query parameter was sent; this probe takes none (`INVALID_PARAMETER`)";

/// The process is running.
///
/// Who may call it: anyone; no token needed.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = HealthView),
        (status = 400, description = UNKNOWN_PARAMETER, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/live")]
pub async fn health_live(_no_parameters: ApiQuery<NoParameters>) -> HttpResponse {
    HttpResponse::Ok().json(HealthView { status: "ok" })
}

/// The database answers a query: the instance can take traffic.
///
/// Who may call it: anyone; no token needed.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = HealthView),
        (status = 400, description = UNKNOWN_PARAMETER, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (`UNAVAILABLE`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn health_ready(
    _no_parameters: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, ApiError> {
    db::run(&pool, |conn| {
        conn.ping().map_err(|error| ApiError::Unavailable { cause: error.to_string(), retry_after_seconds: 2 })
    })
    .await?;
    Ok(HttpResponse::Ok().json(HealthView { status: "ok" }))
}
