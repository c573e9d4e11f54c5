//! Optimistic concurrency as RFC 9110 §13 says: `ETag: "<version>"` on every versioned resource,
//! `If-Match` on every change to one.
//!
//! The header is only read here. A handler judges it with `ContractChange::check` (or
//! `DirectoryChange::check`) once the resource is found in the caller's scope (404), the role
//! allowed (403) and the body read and its fields checked (400/422), so that a precondition never
//! turns any of those into a 412 or a 428. The rules that need the database come after it, as
//! RFC 9110 §13.2.1 orders preconditions before the processing of the content.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use crate::error::ApiError;

/// The strong entity tag of a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// 200 with the resource as it serialises (fields in their declared order) and, when it is
/// versioned, its `ETag`.
pub fn with_etag(version: Option<i64>, body: &impl serde::Serialize) -> actix_web::HttpResponse {
    let mut answer = actix_web::HttpResponse::Ok();
    if let Some(version) = version {
        answer.insert_header((header::ETAG, etag(version)));
    }
    answer.json(body)
}

/// What the client sent in `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Missing,
    /// Not a list of entity tags, or `*` mixed with tags: 400.
    Malformed,
    /// `*`: any current representation.
    Any,
    /// The opaque parts of the strong tags of the list. Weak tags never match (If-Match compares
    /// strongly) and are left out, so a list of only weak tags matches nothing.
    Tags(Vec<String>),
}

impl IfMatch {
    /// Decides the precondition against the version the resource has now: 428 when absent,
    /// 400 when unreadable, 412 when no tag matches.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        match self {
            Self::Missing => Err(ApiError::PreconditionRequired),
            Self::Malformed => Err(ApiError::invalid_parameter(
                "If-Match",
                "INVALID_VALUE",
                "If-Match is * or a comma-separated list of entity tags such as \"3\"",
            )),
            Self::Any => Ok(()),
            // Strong comparison is of the tags' text: "03" is not the "3" this service issued.
            Self::Tags(tags) if tags.iter().any(|tag| *tag == current.to_string()) => Ok(()),
            Self::Tags(_) => Err(ApiError::PreconditionFailed),
        }
    }

    fn read(req: &HttpRequest) -> Self {
        let mut values = req.headers().get_all(header::IF_MATCH).peekable();
        if values.peek().is_none() {
            return Self::Missing;
        }
        let mut text = String::new();
        for value in values {
            // obs-text is allowed inside a tag, so the header is read as UTF-8, not only ASCII.
            let Ok(value) = std::str::from_utf8(value.as_bytes()) else { return Self::Malformed };
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(value);
        }
        // An empty field says nothing: the request is judged as if it had none.
        if text.trim().is_empty() {
            return Self::Missing;
        }
        parse(&text).unwrap_or(Self::Malformed)
    }
}

/// Parses `If-Match = "*" / #entity-tag` (RFC 9110 §13.1.1): `*` alone, or a list of
/// `"opaque"` and `W/"opaque"` tags separated by commas (empty list elements are allowed).
fn parse(text: &str) -> Option<IfMatch> {
    if text.trim() == "*" {
        return Some(IfMatch::Any);
    }
    let mut tags = Vec::new();
    let mut rest = text.trim_start_matches([' ', '\t', ',']);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let (weak, tagged) = rest.strip_prefix("W/").map_or((false, rest), |tagged| (true, tagged));
        let quoted = tagged.strip_prefix('"')?;
        let end = quoted.find('"')?;
        let opaque = &quoted[..end];
        // etagc = %x21 / %x23-7E / obs-text: no spaces, quotes or controls inside a tag.
        if !opaque.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80) {
            return None;
        }
        if !weak {
            tags.push(opaque.to_owned());
        }
        let after = quoted[end + 1..].trim_start_matches([' ', '\t']);
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_start_matches([' ', '\t', ',']),
            None if after.is_empty() => after,
            None => return None,
        };
    }
    Some(IfMatch::Tags(tags))
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::read(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::{IfMatch, parse};

    #[test]
    fn strong_tags_name_versions_weak_ones_never_match() {
        let tags = |tags: &[&str]| Some(IfMatch::Tags(tags.iter().map(|tag| (*tag).to_owned()).collect()));
        assert_eq!(parse("\"3\""), tags(&["3"]));
        assert_eq!(parse("W/\"12\""), tags(&[]));
        assert_eq!(parse("\"a\", \"7\""), tags(&["a", "7"]));
        assert_eq!(parse(" \"1\" ,, W/\"2\",\"3\" "), tags(&["1", "3"]));
        assert_eq!(parse("*"), Some(IfMatch::Any));
    }

    #[test]
    fn what_is_not_an_entity_tag_list_is_malformed() {
        for text in ["", "3", "\"3", "\"3\" \"4\"", "*, \"3\"", "\"a b\"", "W/3", ","] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn an_empty_if_match_is_no_if_match() {
        let read = |value: &str| {
            IfMatch::read(&actix_web::test::TestRequest::default().insert_header(("If-Match", value)).to_http_request())
        };
        assert_eq!(read(""), IfMatch::Missing);
        assert_eq!(read("  "), IfMatch::Missing);
        assert_eq!(read(","), IfMatch::Malformed);
    }

    #[test]
    fn the_precondition_is_decided_against_the_current_version() {
        assert!(IfMatch::Any.check(9).is_ok());
        let tags = |tags: &[&str]| IfMatch::Tags(tags.iter().map(|tag| (*tag).to_owned()).collect());
        assert!(tags(&["2", "9"]).check(9).is_ok());
        assert_eq!(tags(&["2"]).check(9).unwrap_err().code(), "PRECONDITION_FAILED");
        assert_eq!(tags(&["09", "+9"]).check(9).unwrap_err().code(), "PRECONDITION_FAILED");
        assert_eq!(tags(&[]).check(9).unwrap_err().code(), "PRECONDITION_FAILED");
        assert_eq!(IfMatch::Missing.check(9).unwrap_err().code(), "PRECONDITION_REQUIRED");
        assert_eq!(IfMatch::Malformed.check(9).unwrap_err().code(), "INVALID_PARAMETER");
    }
}
