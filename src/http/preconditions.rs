//! Optimistic concurrency: `ETag: "<version>"` on every mutable resource, `If-Match` on every
//! change to one.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use crate::error::ApiError;

/// The version the client last read, from `If-Match`. Missing → 428; unreadable → 412, since it
/// cannot match any ETag this service issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub i64);

/// `If-Match` when the client sent one, for the operations where it is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalIfMatch(pub Option<i64>);

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn parse(value: &str) -> Option<i64> {
    let value = value.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    value.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

fn read(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    match req.headers().get(header::IF_MATCH) {
        None => Ok(None),
        Some(value) => value.to_str().ok().and_then(parse).map(Some).ok_or(ApiError::PreconditionFailed),
    }
}

impl IfMatch {
    /// 412 unless the stored version is the one the client read.
    pub fn check(self, current: i64) -> Result<(), ApiError> {
        if self.0 == current { Ok(()) } else { Err(ApiError::PreconditionFailed) }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|version| version.map(IfMatch).ok_or(ApiError::PreconditionRequired)))
    }
}

impl FromRequest for OptionalIfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).map(OptionalIfMatch))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn strong_and_weak_etags_are_read() {
        assert_eq!(parse("\"3\""), Some(3));
        assert_eq!(parse("W/\"12\""), Some(12));
        assert_eq!(parse("3"), None);
        assert_eq!(parse("*"), None);
        assert_eq!(parse("\"x\""), None);
    }
}
