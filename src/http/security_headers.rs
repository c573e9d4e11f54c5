//! The headers every answer carries so that a browser, a proxy or a cache does nothing with it
//! that the service did not mean: no type sniffing, no framing, no referrer, and nothing an
//! authenticated caller read kept in a shared or private cache.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// Set on every answer, whatever the route.
const ALWAYS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
];

/// An answer that is data, not a page: it loads nothing and is framed by nobody. The rendered
/// documentation sets its own policy.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.call(request).await?;
    secure(response.headers_mut(), authenticated);
    Ok(response)
}

/// Adds the security headers to an answer's `headers`; `authenticated` when the request carried
/// credentials, whose answer no cache may keep.
fn secure(headers: &mut HeaderMap, authenticated: bool) {
    for (name, value) in ALWAYS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DATA_POLICY));
    }
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authenticated_answer_is_never_stored_and_a_page_keeps_its_own_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
        secure(&mut headers, true);
        assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(headers.get(header::CONTENT_SECURITY_POLICY).unwrap(), DATA_POLICY);

        let mut page = HeaderMap::new();
        page.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
        page.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
        secure(&mut page, false);
        assert_eq!(page.get(header::CONTENT_SECURITY_POLICY).unwrap(), "default-src 'self'");
        assert_eq!(page.get(header::CACHE_CONTROL).unwrap(), "public, max-age=60");
    }
}
