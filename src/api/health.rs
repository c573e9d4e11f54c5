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

/// The database answers a query and holds every migration of this binary: the instance can take
/// traffic.
///
/// An instance started beside others on one database waits for the one that migrates it, and is
/// not ready until the schema is its own. Who may call it: anyone; no token needed.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = HealthView),
        (status = 400, description = UNKNOWN_PARAMETER, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer, or lacks migrations this binary needs (`UNAVAILABLE`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn health_ready(
    _no_parameters: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, ApiError> {
    let unavailable = |cause: String| ApiError::Unavailable { cause, retry_after_seconds: 2 };
    db::run_one_statement(&pool, move |conn| {
        conn.ping().map_err(|error| unavailable(error.to_string()))?;
        match db::migrations::pending_count(conn).map_err(|error| unavailable(error.to_string()))? {
            0 => Ok(()),
            behind => Err(unavailable(format!("{behind} migrations of this binary are not applied yet"))),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(HealthView { status: "ok" }))
}
