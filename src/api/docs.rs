//! This service's OpenAPI document, as JSON for programs and rendered for people. The document is
//! built by [`crate::openapi`] from the routes, which include these two: it is handed to them as
//! app data, so that this module does not depend on the document it serves.

use actix_web::{HttpResponse, get, web};

/// The serialized document, computed once at start-up.
pub struct OpenApiJson(pub String);

/// This OpenAPI 3.1 document.
#[utoipa::path(tag = "meta", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}

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
  <script src="https://cdn.redoc.ly/redoc/v2.1.5/bundles/redoc.standalone.js"></script>
</body>
</html>
"#;

/// This document rendered for people. The page is served by the service; the renderer script is
/// fetched by the browser, so the server itself needs no internet access.
#[utoipa::path(tag = "meta", responses((status = 200, description = "An HTML page", content_type = "text/html")))]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(DOCS_PAGE)
}
