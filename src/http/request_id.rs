//! `X-Request-Id` on every response, and the request's id kept for its task (in
//! [`crate::problem_detail`]) for problem bodies and logs.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::problem_detail::with_request_id;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A client-supplied id is echoed only when it is short and plain, so it cannot inject anything
/// into logs or headers; otherwise a fresh UUID is used.
fn is_well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn middleware(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_well_formed(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let header_value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    // Leave the id in the request head too, so the access log can print it.
    request.headers_mut().insert(HEADER, header_value.clone());
    let mut response = with_request_id(id, next.call(request)).await?;
    response.headers_mut().insert(HEADER, header_value);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_well_formed;

    #[test]
    fn plain_ids_are_echoed_and_odd_ones_are_not() {
        assert!(is_well_formed("abc-123_X.y:z"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("a b"));
        assert!(!is_well_formed("evil\r\nSet-Cookie: x"));
        assert!(!is_well_formed(&"a".repeat(129)));
    }
}
