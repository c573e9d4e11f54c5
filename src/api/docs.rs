//! This service's OpenAPI document, as JSON for programs and rendered for people. The document is
//! built by [`crate::openapi`] from the routes, which include these two: it is handed to them as
//! app data, so that this module does not depend on the document it serves.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

/// The serialized document, computed once at start-up.
pub struct OpenApiJson(pub String);

/// This OpenAPI 3.1 document.
///
/// Who may call it: anyone; no token needed.
#[utoipa::path(tag = "meta", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}

/// The renderer, embedded so that `/docs` works on an intranet without internet access (see
/// `assets/redoc/README.md`). Its path names its version, so browsers may keep it for good.
const REDOC_BUNDLE: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>CTG API</title>
</head>
<body>
  <noscript>The rendered documentation needs JavaScript. The contract itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="/docs/redoc-2.1.5.standalone.js"></script>
</body>
</html>
"#;

/// What the page may load: its own script and the document, nothing from elsewhere. The
/// renderer styles itself inline, searches in a worker it builds from a blob, and draws some
/// images as data URLs.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; \
                           frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// This document rendered for people, entirely by this service: the page and its renderer.
///
/// Who may call it: anyone; no token needed.
#[utoipa::path(tag = "meta", responses((status = 200, description = "An HTML page", content_type = "text/html")))]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, DOCS_POLICY))
        .body(DOCS_PAGE)
}

/// The renderer the documentation page runs (Redoc 2.1.5).
///
/// Who may call it: anyone; no token needed.
#[utoipa::path(tag = "meta", responses((status = 200, description = "A JavaScript file", content_type = "text/javascript")))]
#[get("/docs/redoc-2.1.5.standalone.js")]
pub async fn redoc_bundle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(REDOC_BUNDLE)
}
