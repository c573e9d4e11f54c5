//! JSON request bodies, read strictly: a client mistake is named precisely instead of being
//! silently ignored (an unknown field) or silently honoured (a server-owned field).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use super::query::unknown_field_name;
use crate::error::{ApiError, FieldError};

/// The largest JSON body accepted (API.md §3).
pub const JSON_BODY_LIMIT: usize = 256 * 1024;

/// Fields every resource owns on the server side.
pub const SERVER_OWNED: &[&str] = &["id", "version", "status", "created_at", "updated_at"];

/// A request body type. Implementors derive `Deserialize` with `#[serde(deny_unknown_fields)]`
/// and `Validate`.
pub trait RequestBody: DeserializeOwned + Validate {
    /// Fields the server owns for this resource, as JSON Pointers without the leading `/`
    /// (`perimeter/covered_communes`): sending one is a 400 `READ_ONLY_FIELD` rather than an
    /// unknown field, because the client read it from a response and sent it back.
    const READ_ONLY: &'static [&'static str] = SERVER_OWNED;
}

/// For PATCH fields that may be set to `null`: absent → `None`, `null` → `Some(None)`, a value →
/// `Some(Some(value))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A JSON body of type `T`, checked in this order: media type (415), size (413), JSON syntax
/// (400 `MALFORMED_REQUEST`), read-only fields (400 `READ_ONLY_FIELD`), unknown fields
/// (400 `UNKNOWN_FIELD`), types (400 `MALFORMED_REQUEST` with a pointer), then rules
/// (422 `VALIDATION_FAILED`).
pub struct ApiJson<T>(pub T);

/// An [`ApiJson`] body that also keeps the JSON as sent, for operations that take an
/// `Idempotency-Key` and must recognise a retry of the same request.
pub struct ApiJsonWithValue<T> {
    pub body: T,
    pub value: serde_json::Value,
}

pub fn parse_body<T: RequestBody>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_body_value(bytes).map(|(body, _)| body)
}

/// [`parse_body`], also returning the body as a JSON value (to recognise retries by it).
pub fn parse_body_value<T: RequestBody>(bytes: &[u8]) -> Result<(T, serde_json::Value), ApiError> {
    let bytes = integral_decimals_as_integers(bytes);
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| ApiError::MalformedRequest {
        detail: format!("the body is not valid JSON: {error}"),
        errors: Vec::new(),
    })?;
    if !value.is_object() {
        return Err(ApiError::MalformedRequest {
            detail: "the body must be a JSON object".into(),
            errors: vec![FieldError::at_pointer("", "EXPECTED_OBJECT", "must be a JSON object")],
        });
    }
    if let Some(field) = T::READ_ONLY.iter().find(|field| value.pointer(&format!("/{field}")).is_some()) {
        return Err(ApiError::ReadOnlyField { pointer: format!("/{field}") });
    }
    let body: T = serde_path_to_error::deserialize(value.clone()).map_err(|error| {
        let message = error.inner().to_string();
        // The path already ends with the offending key, unknown fields included.
        let pointer = json_pointer(error.path());
        if unknown_field_name(&message).is_some() {
            return ApiError::UnknownField { pointer };
        }
        ApiError::MalformedRequest {
            detail: format!("{}: {message}", if pointer.is_empty() { "body" } else { &pointer }),
            errors: vec![FieldError::at_pointer(pointer, "INVALID_TYPE", message)],
        }
    })?;
    body.validate().map_err(|errors| ApiError::ValidationFailed(field_errors(&errors)))?;
    Ok((body, value))
}

/// The JSON text with every number written with only zeros after its point (`2025.0`) written as
/// the integer it is (`2025`): JSON Schema counts `2025.0` as an integer, and so do we. The text is
/// rewritten, never parsed as a float, so that no value changes: `2025.5`, `1e3` and the contents
/// of strings stay as they are.
fn integral_decimals_as_integers(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut rewritten: Option<Vec<u8>> = None;
    let (mut at, mut in_string, mut escaped) = (0, false, false);
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            // Inside a string: an escaped byte, the start of an escape, the closing quote, or text.
            (in_string, escaped) = match (escaped, byte) {
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (true, false),
            };
        } else if byte == b'"' {
            in_string = true;
        } else if byte.is_ascii_digit() && (at == 0 || !bytes[at - 1].is_ascii_alphanumeric()) {
            let digits_end = at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            let zeros = bytes.get(digits_end + 1..).map_or(0, |rest| rest.iter().take_while(|b| **b == b'0').count());
            let end = digits_end + 1 + zeros;
            let follows = bytes.get(end).copied();
            if bytes.get(digits_end) == Some(&b'.') && zeros > 0 && !matches!(follows, Some(b'0'..=b'9' | b'e' | b'E'))
            {
                let text = rewritten.get_or_insert_with(|| bytes[..at].to_vec());
                text.extend_from_slice(&bytes[at..digits_end]);
                at = end;
                continue;
            }
            if let Some(text) = rewritten.as_mut() {
                text.extend_from_slice(&bytes[at..digits_end]);
            }
            at = digits_end;
            continue;
        }
        if let Some(text) = rewritten.as_mut() {
            text.push(byte);
        }
        at += 1;
    }
    rewritten.map_or(std::borrow::Cow::Borrowed(bytes), std::borrow::Cow::Owned)
}

/// serde_path_to_error's path as an RFC 6901 JSON Pointer.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path {
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => continue,
        };
        pointer.push('/');
        pointer.push_str(&part);
    }
    pointer
}

/// validator's nested errors, flattened into one list of pointed complaints.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect_field_errors("", errors, &mut out);
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out
}

fn collect_field_errors(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let pointer = format!("{prefix}/{field}");
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|error| {
                let detail = error.message.as_ref().map_or_else(|| error.code.to_string(), ToString::to_string);
                FieldError::at_pointer(pointer.clone(), &error.code.to_uppercase(), detail)
            })),
            ValidationErrorsKind::Struct(inner) => collect_field_errors(&pointer, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_field_errors(&format!("{pointer}/{index}"), inner, out);
                }
            }
        }
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

/// Reads the whole body, refusing it as soon as it passes `limit` (a lying or missing
/// `Content-Length` cannot get more than `limit` bytes buffered).
pub async fn read_limited(payload: &mut Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| ApiError::MalformedRequest {
            detail: format!("the body could not be read: {error}"),
            errors: Vec::new(),
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit_bytes: limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

impl<T: RequestBody + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = ApiJsonWithValue::<T>::from_request(req, payload);
        Box::pin(async move { body.await.map(|with_value| ApiJson(with_value.body)) })
    }
}

impl<T: RequestBody + 'static> FromRequest for ApiJsonWithValue<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType("send the body as application/json".into()));
            }
            if declared_length.is_some_and(|length| length > JSON_BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit_bytes: JSON_BODY_LIMIT });
            }
            let bytes = read_limited(&mut payload, JSON_BODY_LIMIT).await?;
            parse_body_value(&bytes).map(|(body, value)| ApiJsonWithValue { body, value })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_decimals_become_integers_and_nothing_else_changes() {
        let rewrite =
            |text: &str| String::from_utf8(integral_decimals_as_integers(text.as_bytes()).into_owned()).unwrap();
        assert_eq!(rewrite(r#"{"year": 2025.0, "n": -524.00, "z": 0.0}"#), r#"{"year": 2025, "n": -524, "z": 0}"#);
        for kept in [
            r#"{"amount_cents": 100.5}"#,
            r#"{"a": 1.0e3, "b": 1.05, "c": 10.01}"#,
            r#"{"title": "2025.0 \" 7.0", "x2.0": [3.0]}"#,
            r#"{"a": 12}"#,
        ] {
            let expected = kept.replace("[3.0]", "[3]");
            assert_eq!(rewrite(kept), expected, "{kept}");
        }
        assert!(matches!(integral_decimals_as_integers(br#"{"a": 1}"#), std::borrow::Cow::Borrowed(_)));
    }

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Example {
        #[validate(length(min = 1, message = "must not be empty"))]
        title: String,
        #[validate(range(min = 0, message = "must not be negative"))]
        amount_cents: i64,
        #[serde(default)]
        #[validate(nested)]
        lines: Vec<Line>,
    }

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[validate(range(min = 2000, max = 2100))]
        year: i32,
    }

    impl RequestBody for Example {}

    fn errors_of(error: &ApiError) -> Vec<(Option<String>, String)> {
        error.problem().errors.into_iter().map(|e| (e.pointer, e.code)).collect()
    }

    #[test]
    fn a_valid_body_is_read() {
        let body: Example = parse_body(br#"{"title":"CTG","amount_cents":5}"#).unwrap();
        assert_eq!(body.title, "CTG");
    }

    #[test]
    fn a_server_owned_field_is_read_only() {
        let error = parse_body::<Example>(br#"{"title":"CTG","amount_cents":5,"version":3}"#).unwrap_err();
        assert_eq!(error.code(), "READ_ONLY_FIELD");
        assert_eq!(errors_of(&error), vec![(Some("/version".into()), "READ_ONLY_FIELD".into())]);
    }

    #[test]
    fn an_unknown_field_is_named_with_its_pointer_even_nested() {
        let error = parse_body::<Example>(br#"{"title":"CTG","amount_cents":5,"colour":"red"}"#).unwrap_err();
        assert_eq!(error.code(), "UNKNOWN_FIELD");
        assert_eq!(errors_of(&error)[0].0.as_deref(), Some("/colour"));
        let error =
            parse_body::<Example>(br#"{"title":"CTG","amount_cents":5,"lines":[{"year":2024,"x":1}]}"#).unwrap_err();
        assert_eq!(errors_of(&error)[0].0.as_deref(), Some("/lines/0/x"));
    }

    #[test]
    fn a_wrong_type_or_broken_json_is_malformed() {
        let error = parse_body::<Example>(br#"{"title":"CTG","amount_cents":"5"}"#).unwrap_err();
        assert_eq!(error.code(), "MALFORMED_REQUEST");
        assert_eq!(errors_of(&error)[0].0.as_deref(), Some("/amount_cents"));
        assert_eq!(parse_body::<Example>(b"{\"title\":").unwrap_err().code(), "MALFORMED_REQUEST");
        assert_eq!(parse_body::<Example>(b"[1]").unwrap_err().code(), "MALFORMED_REQUEST");
        // Money is never a float.
        let error = parse_body::<Example>(br#"{"title":"CTG","amount_cents":5.5}"#).unwrap_err();
        assert_eq!(error.code(), "MALFORMED_REQUEST");
    }

    #[test]
    fn rule_violations_are_listed_together() {
        let error = parse_body::<Example>(br#"{"title":"","amount_cents":-1,"lines":[{"year":1999}]}"#).unwrap_err();
        assert_eq!(error.code(), "VALIDATION_FAILED");
        assert_eq!(
            errors_of(&error),
            vec![
                (Some("/amount_cents".into()), "RANGE".into()),
                (Some("/lines/0/year".into()), "RANGE".into()),
                (Some("/title".into()), "LENGTH".into()),
            ]
        );
    }
}
