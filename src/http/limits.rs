//! What the service reads of a request head: a URI of at most 8 KiB and headers of at most 16 KiB
//! each, refused with a problem (414 `URI_TOO_LONG`, 431 `HEADERS_TOO_LARGE`) before any route
//! runs. Beyond what actix's own parser takes (a URI over 64 KiB, a head over 128 KiB) it answers
//! 400 or 431 itself, without a body: no service code runs for those.

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ApiError;

/// Far above any URI this API's queries make, far below what a proxy may refuse.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Twice what authentication takes of a token (a longer one is its 401), below what a proxy may
/// refuse.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The refusal a request head deserves, if any.
fn refusal(uri_bytes: usize, longest_header_bytes: usize) -> Option<ApiError> {
    if uri_bytes > MAX_URI_BYTES {
        return Some(ApiError::UriTooLong { limit_bytes: MAX_URI_BYTES });
    }
    (longest_header_bytes > MAX_HEADER_BYTES).then_some(ApiError::HeadersTooLarge { limit_bytes: MAX_HEADER_BYTES })
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let uri_bytes = request.uri().to_string().len();
    let longest_header_bytes = request.headers().iter().map(|(_, value)| value.len()).max().unwrap_or(0);
    if let Some(error) = refusal(uri_bytes, longest_header_bytes) {
        let response = error.error_response().map_into_right_body();
        return Ok(request.into_response(response));
    }
    Ok(next.call(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_uri_is_414_and_a_long_header_431() {
        assert!(refusal(MAX_URI_BYTES, MAX_HEADER_BYTES).is_none());
        assert_eq!(refusal(MAX_URI_BYTES + 1, 0).map(|e| e.status_code().as_u16()), Some(414));
        assert_eq!(refusal(10, MAX_HEADER_BYTES + 1).map(|e| e.status_code().as_u16()), Some(431));
    }
}
