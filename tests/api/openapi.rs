//! The committed `openapi/openapi.json` is the contract: the served document must equal it, and
//! every operation must be fully described. `UPDATE_OPENAPI=1 cargo test` rewrites the file.

use std::path::PathBuf;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::spawn_app;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json")
}

#[tokio::test]
async fn the_served_document_equals_the_committed_file() {
    let app = spawn_app().await;
    let answer = app.get_anonymous("/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.text, ctg_api::openapi::document_json(), "served and generated differ");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(committed_path().parent().unwrap()).unwrap();
        std::fs::write(committed_path(), &answer.text).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == answer.text,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit the file"
    );
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    out
}

#[test]
fn every_operation_is_fully_described() {
    let document: Value = serde_json::from_str(&ctg_api::openapi::document_json()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, method, operation) in operations(&document) {
        let at = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{at}: no operationId"));
        assert!(operation_ids.insert(id.to_owned()), "{at}: operationId {id} twice");
        assert!(operation["tags"].as_array().is_some_and(|tags| !tags.is_empty()), "{at}: no tag");
        let described = ["summary", "description"].iter().any(|k| operation[k].as_str().is_some_and(|s| !s.is_empty()));
        assert!(described, "{at}: no description");
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.keys().any(|status| status.starts_with('2')), "{at}: no success answer");
        assert!(responses.contains_key("500"), "{at}: no 500 problem");
        // A 304 has no body by definition (RFC 9110 §15.4.5); every other refusal is a problem.
        for (status, response) in responses.iter().filter(|(status, _)| !status.starts_with('2') && *status != "304") {
            assert!(response["content"]["application/problem+json"].is_object(), "{at} {status}: not a problem");
        }
        if path.starts_with("/v1/") {
            assert_eq!(operation["security"], serde_json::json!([{"bearer": []}]), "{at}: no security requirement");
            assert!(responses.contains_key("401"), "{at}: no 401");
            assert!(responses.contains_key("503"), "{at}: no 503");
        }
    }
}

/// What the server refuses in a query or a header, the document states as a schema constraint, so
/// that a generated client or a fuzzer knows it before sending.
#[tokio::test]
async fn query_and_header_shapes_are_stated_and_enforced() {
    let document = ctg_api::openapi::document_json();
    let document: Value = serde_json::from_str(&document).unwrap();
    let parameter = |path: &str, method: &str, name: &str| -> Value {
        document["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path}: no parameter {name}"))["schema"]
            .clone()
    };
    let contracts = |name| parameter("/v1/contracts", "get", name)["pattern"].as_str().unwrap().to_owned();
    let observations =
        |name| parameter("/v1/indicators/{code}/observations", "get", name)["pattern"].as_str().unwrap().to_owned();
    let key = parameter("/v1/contracts", "post", "Idempotency-Key");
    assert_eq!((key["minLength"].as_u64(), key["maxLength"].as_u64()), (Some(1), Some(255)));
    let app = spawn_app().await;
    let token = crate::helpers::admin_token();
    for (query, pattern) in [
        ("/v1/contracts?order_by=title", contracts("order_by")),
        ("/v1/contracts?siren=12345", contracts("siren")),
        ("/v1/contracts?commune=7404", contracts("commune")),
        ("/v1/indicators/taux_couverture_eaje_epci/observations?period_from=2024-Q5", observations("period_from")),
        ("/v1/indicators/taux_couverture_eaje_epci/observations?period_to=24", observations("period_to")),
    ] {
        assert!(!pattern.is_empty(), "{query}");
        let answer = app.get(query, &token).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
    }
    for query in ["/v1/contracts?order_by=-updated_at&siren=200000172&commune=2A004"] {
        assert_eq!(app.get(query, &token).await.status, 200, "{query}");
    }
    // A read takes no parameter it does not document.
    for query in ["/v1/enums?lang=fr", "/v1/epcis/200000172?expand=communes", "/v1/indicators/places_eaje?x=1"] {
        app.get(query, &token).await.assert_problem(400, "INVALID_PARAMETER");
    }
    let summary = &document["paths"]["/v1/departments/{code}/summary"]["get"]["responses"];
    assert!(summary["403"].is_object(), "a collectivity's 403 is listed");
}

#[tokio::test]
async fn the_docs_page_renders_the_served_document() {
    let app = spawn_app().await;
    let answer = app.get_anonymous("/docs").await;
    assert_eq!(answer.status, 200);
    assert!(answer.header("content-type").unwrap().starts_with("text/html"));
    assert!(answer.text.contains("spec-url=\"/openapi.json\""));
    // Everything the page loads comes from the service: it renders on an intranet without
    // internet access, and its policy forbids anything else.
    assert!(!answer.text.contains("http://") && !answer.text.contains("https://"), "{}", answer.text);
    let policy = answer.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
    let script = answer.text.split("<script src=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    let bundle = app.client.get(app.url(script)).send().await.unwrap();
    assert_eq!(bundle.status(), 200, "{script}");
    assert!(bundle.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let digest = Sha256::digest(bundle.bytes().await.unwrap());
    let expected = "be5c3330c8c35b8fceb29a5b7552ad45bffc2fd9494fe2e1a82fa94179eb5f8f";
    assert_eq!(format!("{digest:x}"), expected, "the renderer is the Redoc 2.1.5 bundle of assets/redoc/README.md");
}
