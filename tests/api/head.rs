//! HEAD answers as GET does, without the body (RFC 9110 §9.3.2), checked as an integrator sees it:
//! on the wire. Every GET operation of the OpenAPI document is sent as GET and as HEAD with the
//! same headers, in the access matrix's world (`access.rs`), by every role at its own object and
//! at someone else's, without a token, and asking for CSV; the two answers must have the same
//! status and the same headers (ETag, Content-Type, Content-Length or chunked framing, Allow,
//! WWW-Authenticate…), and nothing may follow the head of the HEAD answer.
//!
//! The requests go through a bare TCP socket rather than reqwest: an HTTP client told it sent
//! HEAD never reads a body, so only the bytes on the wire can show that none was sent.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::access::{Role, Side, World, prepare};
use crate::helpers::{TestApp, admin_token, spawn_app};

/// An answer as it crossed the wire.
struct Wire {
    status: u16,
    /// Lower-cased names, sorted; without `date` and `x-request-id`, which differ on every answer.
    headers: Vec<(String, String)>,
    /// What followed the blank line ending the head.
    body: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(header, _)| header == name).map(|(_, value)| value.as_str())
    }
}

/// Sends `method path` with `headers` on a connection of its own, and reads until the server
/// closes it.
async fn exchange(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> Wire {
    let address = app.address.trim_start_matches("http://");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        write!(request, "{name}: {value}\r\n").unwrap();
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();

    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no complete head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| {
        panic!("{method} {path}: status line {status_line:?}");
    });
    let mut headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("{method} {path}: header {line:?}"));
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .collect();
    headers.sort();
    Wire { status, headers, body: raw[end + 4..].to_vec() }
}

/// Every GET path template of the OpenAPI document, `/v1` and the rest.
fn get_templates() -> Vec<String> {
    let document: Value = serde_json::from_str(&ctg_api::openapi::document_json()).unwrap();
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(template, _)| template.clone())
        .collect()
}

/// Who asks, and how.
struct Caller {
    name: String,
    side: Side,
    headers: Vec<(&'static str, String)>,
}

fn callers() -> Vec<Caller> {
    let mut callers = Vec::new();
    for accept in [None, Some("text/csv")] {
        let with_accept = |mut headers: Vec<(&'static str, String)>| {
            headers.extend(accept.map(|media| ("Accept", media.to_owned())));
            headers
        };
        let asking = accept.map_or(String::new(), |media| format!(" asking for {media}"));
        for role in Role::ALL {
            for side in [Side::Own, Side::Other] {
                callers.push(Caller {
                    name: format!("{role} at {side}{asking}"),
                    side,
                    headers: with_accept(vec![("Authorization", format!("Bearer {}", role.token()))]),
                });
            }
        }
        callers.push(Caller { name: format!("no token{asking}"), side: Side::Own, headers: with_accept(Vec::new()) });
    }
    callers
}

#[tokio::test]
async fn head_answers_every_get_operation_as_get_does_without_a_body() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let templates = get_templates();
    assert!(templates.len() >= 35, "the document lists only {} GET operations", templates.len());
    let mut failures = Vec::new();
    let mut statuses = BTreeSet::new();
    let (mut with_etag, mut as_csv) = (0, 0);
    for template in &templates {
        for caller in callers() {
            let path = if template.starts_with("/v1/") {
                prepare(&app, &world, "get", template, caller.side).await.path
            } else {
                assert!(!template.contains('{'), "{template}: no request builder for its parameters");
                template.clone()
            };
            let headers: Vec<(&str, &str)> =
                caller.headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
            let get = exchange(&app, "GET", &path, &headers).await;
            let head = exchange(&app, "HEAD", &path, &headers).await;
            let at = format!("{} {path}", caller.name);
            if (head.status, &head.headers) != (get.status, &get.headers) {
                failures.push(format!(
                    "{at}:\n    GET  {} {:?}\n    HEAD {} {:?}",
                    get.status, get.headers, head.status, head.headers
                ));
            }
            if !head.body.is_empty() {
                failures.push(format!("{at}: HEAD sent a body: {:?}", String::from_utf8_lossy(&head.body)));
            }
            if get.body.is_empty() && get.status != 204 {
                failures.push(format!("{at}: GET {} sent no body, so the comparison proves little", get.status));
            }
            statuses.insert(get.status);
            with_etag += usize::from(get.header("etag").is_some());
            as_csv += usize::from(get.header("content-type").is_some_and(|media| media.starts_with("text/csv")));
        }
    }
    assert!(failures.is_empty(), "{} HEAD answers differ from GET:\n{}", failures.len(), failures.join("\n"));
    // The walk met what it is meant to compare: reads, refusals, tags and CSV exports.
    for status in [200, 401, 403, 404] {
        assert!(statuses.contains(&status), "no GET answered {status}: {statuses:?}");
    }
    assert!(with_etag >= 20, "only {with_etag} answers carried an ETag");
    assert!(as_csv >= 4, "only {as_csv} answers were CSV");
}

#[tokio::test]
async fn head_is_405_where_get_is_not_routed_and_404_where_nothing_is() {
    let app = spawn_app().await;
    let token = format!("Bearer {}", admin_token());
    let authorization = [("Authorization", token.as_str())];

    // POST-only routes: HEAD is refused as GET is, naming what the path answers.
    for path in ["/v1/observations/bulk", &format!("/v1/contracts/{}/transitions", uuid::Uuid::new_v4())] {
        let head = exchange(&app, "HEAD", path, &authorization).await;
        assert_eq!((head.status, head.header("allow")), (405, Some("POST")), "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path}");
    }
    let head = exchange(&app, "HEAD", "/v1/nope", &authorization).await;
    assert_eq!(head.status, 404);
    assert_eq!(head.header("content-type"), Some("application/problem+json"));
    assert!(head.body.is_empty());

    // Wherever GET is allowed, so is HEAD.
    let contract = format!("/v1/contracts/{}", uuid::Uuid::new_v4());
    let put = exchange(&app, "PUT", &contract, &authorization).await;
    assert_eq!((put.status, put.header("allow")), (405, Some("GET, HEAD, PATCH")));
    let post =
        exchange(&app, "POST", "/v1/contracts/00000000-0000-0000-0000-000000000000/parties/x", &authorization).await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET, HEAD, PATCH, DELETE")));
}
