//! The OpenAPI 3.1 document: built from the registered routes, finished with what every operation
//! shares (security, common problems), served at `/openapi.json` by [`crate::api::docs`] and
//! committed as `openapi/openapi.json`.

use utoipa::OpenApi;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{PathItem, RefOr, Required};
use utoipa_actix_web::AppExt;

use crate::api::problems::problem_response;
use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CTG API",
        description = "Conventions territoriales globales (CTG) and contrats enfance et jeunesse (CEJ) of a CAF \
                       and its partners: contracts, parties, action plans, indicators and multi-year funding.\n\n\
                       Every `/v1` operation needs `Authorization: Bearer <JWT>`. Errors are RFC 9457 \
                       `application/problem+json` bodies with a stable `code`. Money is integer euro cents.",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "The CTG API maintainers, through the issue tracker of this repository"),
    ),
    servers((url = "/", description = "This service, wherever it is deployed")),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "meta", description = "This document and its rendering"),
        (name = "territories", description = "Départements, EPCI and communes from INSEE's COG"),
        (name = "organisations", description = "The partners: CAF, collectivities, State services, associations…"),
        (name = "equipments", description = "Facilities run by a manager: crèches, leisure centres, relais petite enfance…"),
        (name = "contracts", description = "CTG and CEJ: content, perimeter, lifecycle, parties, action plan, amendments, history"),
        (name = "documents", description = "Files of a contract: signed convention, délibérations, minutes, reports; stored with their SHA-256"),
        (name = "funding", description = "Multi-year commitments, payment schedules and payments, in cents"),
        (name = "indicators", description = "The catalogue of what a CTG's diagnostic and follow-up measure"),
        (name = "integration", description = "For the tools that mirror a département: the change feed and the departmental summary"),
    )
)]
struct ApiDoc;

/// The whole document, as the routes registered in `routes::configure` describe it.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    finish(&mut document);
    drop_unused_schemas(&mut document);
    document
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    json.push('\n');
    json
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
        .into_iter()
        .filter_map(Option::as_mut)
}

/// Drops the schemas nothing refers to (utoipa registers some a generic page also inlines), so
/// that the document holds only what it uses.
fn drop_unused_schemas(document: &mut utoipa::openapi::OpenApi) {
    loop {
        let text = serde_json::to_string(&*document).unwrap_or_default();
        let Some(components) = document.components.as_mut() else { return };
        let unused: Vec<String> = components
            .schemas
            .keys()
            .filter(|name| !text.contains(&format!("\"#/components/schemas/{name}\"")))
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        for name in unused {
            components.schemas.remove(&name);
        }
    }
}

/// Adds what every operation shares, so handlers only document what is particular to them.
fn finish(document: &mut utoipa::openapi::OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A JWT from the identity provider, with `iss`, `aud`, `exp`, `sub` and `role` claims",
                ))
                .build(),
        ),
    );
    for (path, item) in &mut document.paths.paths {
        let versioned = path.starts_with("/v1/");
        let touches_database = versioned || path == "/health/ready";
        let has_post = item.post.is_some();
        if versioned
            && has_post
            && let Some(post) = item.post.as_mut()
        {
            let parameters = post.parameters.get_or_insert_with(Vec::new);
            if !parameters.iter().any(|parameter| parameter.name == "Idempotency-Key") {
                parameters.push(
                    ParameterBuilder::new()
                        .name("Idempotency-Key")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some("Makes a retry safe: the same key and body answer the first answer again"))
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .max_length(Some(255))
                                .pattern(Some(r"^[\x21-\x7E]{1,255}$")),
                        ))
                        .build(),
                );
            }
        }
        let is_health = path.starts_with("/health/");
        for operation in operations_mut(item) {
            if !versioned {
                // Public: said explicitly, so that no client sends a token it need not send.
                operation.security = Some(Vec::new());
            }
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(problem_response(description)));
            };
            if versioned {
                add("401", "No token, or a token that is invalid, expired or not for this service (`UNAUTHENTICATED`)");
            }
            if !is_health {
                add(
                    "429",
                    "Past the rate of the token's subject or of the client's address; retry after `Retry-After` seconds (`RATE_LIMITED`)",
                );
            }
            add("414", "The URI exceeds 8 KiB (`URI_TOO_LONG`)");
            add("431", "A header exceeds 16 KiB (`HEADERS_TOO_LARGE`)");
            add("500", "Unexpected error, logged with the request id (`INTERNAL`)");
            if touches_database {
                add("503", "The database is unavailable; retry after `Retry-After` seconds (`UNAVAILABLE`)");
            }
        }
    }
}
