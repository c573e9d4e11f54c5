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
    link_creations_to_their_reads(&mut document);
    drop_unused_schemas(&mut document);
    document
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = serde_json::to_value(document())
        .map(|mut value| {
            spell_links_as_the_specification_does(&mut value);
            value
        })
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    json.push('\n');
    json
}

/// utoipa 5 writes a link's fields in snake case (`operation_id`); OpenAPI spells them in camel
/// case (`operationId`), and tools that follow links read only that.
fn spell_links_as_the_specification_does(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    let links = paths
        .values_mut()
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses").and_then(serde_json::Value::as_object_mut))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(serde_json::Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(serde_json::Value::as_object_mut);
    for link in links {
        for (snake, camel) in
            [("operation_id", "operationId"), ("operation_ref", "operationRef"), ("request_body", "requestBody")]
        {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_owned(), value);
            }
        }
    }
}

/// Links each creation (a POST on a collection answering 201) to the read of what it created
/// (the GET one segment below), so that a client, or a tool that follows links, goes from one to
/// the other: the new id from the answer, the other path parameters from the request.
fn link_creations_to_their_reads(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    let reads: Vec<(String, String, String)> = document
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            let (collection, last) = path.rsplit_once('/')?;
            let id = last.strip_prefix('{')?.strip_suffix('}')?;
            let operation_id = item.get.as_ref()?.operation_id.clone()?;
            Some((collection.to_owned(), id.to_owned(), operation_id))
        })
        .collect();
    for (collection, id, read) in reads {
        let Some(post) = document.paths.paths.get_mut(&collection).and_then(|item| item.post.as_mut()) else {
            continue;
        };
        let Some(RefOr::T(created)) = post.responses.responses.get_mut("201") else { continue };
        let mut link = LinkBuilder::new()
            .operation_id(&read)
            .description("Reads what was created")
            .parameter(&id, "$response.body#/id");
        for segment in collection.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
                link = link.parameter(name, format!("$request.path.{name}"));
            }
        }
        created.links.insert(upper_camel(&read), RefOr::T(link.build()));
    }
}

/// `get_contract` → `GetContract`: a link's name.
fn upper_camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut letters = word.chars();
            letters.next().map(|first| first.to_uppercase().chain(letters).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// `*`, or entity tags (`"3"`, `W/"3"`) separated by commas.
const IF_MATCH_PATTERN: &str =
    r#"^[ \t]*(\*|[ \t,]*(W/)?"[\x21\x23-\x7E]*"([ \t]*,[ \t,]*((W/)?"[\x21\x23-\x7E]*")?)*)[ \t]*$"#;

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
            let key_shape = || {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some(r"^[\x21-\x7E]{1,255}$"))
            };
            match parameters.iter_mut().find(|parameter| parameter.name == "Idempotency-Key") {
                // Declared by the operation (required, or with its own words): the shape is the same.
                Some(declared) => declared.schema = Some(key_shape().into()),
                None => parameters.push(
                    ParameterBuilder::new()
                        .name("Idempotency-Key")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some("Makes a retry safe: the same key and body answer the first answer again"))
                        .schema(Some(key_shape()))
                        .build(),
                ),
            }
        }
        let is_health = path.starts_with("/health/");
        for operation in operations_mut(item) {
            // `*`, or a list of entity tags (RFC 9110 §13.1.1), as `http::preconditions` reads it.
            let if_match = operation.parameters.iter_mut().flatten().filter(|parameter| parameter.name == "If-Match");
            for parameter in if_match {
                parameter.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(IF_MATCH_PATTERN))
                        .examples([serde_json::json!("\"3\"")])
                        .into(),
                );
            }
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
