//! The one error type of the service and its RFC 9457 `application/problem+json` body.
//!
//! Every failure a client can see goes through [`ApiError`]: each variant owns its HTTP status and
//! its stable `code`. Causes of server-side failures are logged here and never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::problem_detail::FieldError;
use crate::problem_detail::request_id;

/// The `application/problem+json` body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://ctg-api.example/problems/validation-failed",
    "title": "The request is invalid",
    "status": 422,
    "detail": "1 field is invalid",
    "code": "VALIDATION_FAILED",
    "request_id": "6f1c1a52-3a0e-4d4b-9d7e-2f0b8c0d1e2f",
    "errors": [{"pointer": "/end_date", "code": "DATE_BEFORE_START", "detail": "must be on or after start_date"}]
}))]
pub struct Problem {
    /// URI identifying the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable code: branch on this, not on `title` or `detail`.
    pub code: String,
    /// The `X-Request-Id` of the request, to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// How many errors a problem lists at most: enough to fix a request, small enough that a
/// request built to be wrong everywhere does not buy a large answer.
pub const MAX_LISTED_ERRORS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {detail}")]
    MalformedRequest { detail: String, errors: Vec<FieldError> },
    #[error("unknown field {pointer}")]
    UnknownField { pointer: String },
    #[error("read-only field {pointer}")]
    ReadOnlyField { pointer: String },
    #[error("invalid parameter: {}", .0.detail)]
    InvalidParameter(Box<FieldError>),
    #[error("invalid page token")]
    InvalidPageToken,
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid state transition")]
    InvalidStateTransition { detail: String, unmet: Vec<FieldError> },
    /// A conflict with the state of the data, with each condition not met (the evidence a balance
    /// waits for): `CONFLICT` whose `errors` list them.
    #[error("conflict: {detail}")]
    ConflictUnmet { detail: String, unmet: Vec<FieldError> },
    /// What the request points at was there and has been purged, such as feed events past the
    /// retention window: 410 `GONE`.
    #[error("gone: {0}")]
    Gone(String),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("precondition required")]
    PreconditionRequired,
    /// The body came too slowly: no byte for the idle timeout, or not all of it by the deadline.
    #[error("request timeout")]
    RequestTimeout { detail: String },
    #[error("URI too long")]
    UriTooLong { limit_bytes: usize },
    #[error("request header fields too large")]
    HeadersTooLarge { limit_bytes: usize },
    #[error("payload too large")]
    PayloadTooLarge { limit_bytes: usize },
    /// A `Range` that starts past the end of a file of `size` bytes: 416 with `Content-Range: bytes */size`.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("validation failed")]
    ValidationFailed(Vec<FieldError>),
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("idempotency key missing")]
    IdempotencyKeyMissing,
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u32 },
    /// The cause is logged once, here, and never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("unavailable: {cause}")]
    Unavailable { cause: String, retry_after_seconds: u32 },
    /// The service is at one of its capacity limits (uploads in progress, bytes on disk): 503
    /// `UNAVAILABLE`, with a detail the client may read.
    #[error("overloaded: {detail}")]
    Overloaded { detail: String, retry_after_seconds: u32 },
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// 400 `INVALID_PARAMETER` about the query parameter or header `name`.
    pub fn invalid_parameter(name: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Self::InvalidParameter(Box::new(FieldError::at_parameter(name, code, detail)))
    }

    /// A failed write as its answer, with the conflict a UNIQUE violation means for this write
    /// named by `conflict` rather than in the generic words of [`From`].
    pub fn from_write(error: diesel::result::Error, conflict: impl FnOnce() -> String) -> Self {
        if matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
        {
            Self::Conflict(conflict())
        } else {
            error.into()
        }
    }

    /// 422 with every complaint, ordered by where it points, so that answers are stable.
    pub fn validation(mut errors: Vec<FieldError>) -> Self {
        errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        Self::ValidationFailed(errors)
    }

    /// The stable `code` of the problem body.
    pub fn code(&self) -> &'static str {
        self.code_and_title().0
    }

    fn title(&self) -> &'static str {
        self.code_and_title().1
    }

    /// Each variant's problem `code` and `title`, side by side.
    fn code_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::MalformedRequest { .. } => ("MALFORMED_REQUEST", "The request body could not be read"),
            Self::UnknownField { .. } => ("UNKNOWN_FIELD", "The request body has an unknown field"),
            Self::ReadOnlyField { .. } => ("READ_ONLY_FIELD", "The request body sets a read-only field"),
            Self::InvalidParameter(_) => ("INVALID_PARAMETER", "A query parameter is invalid"),
            Self::InvalidPageToken => ("INVALID_PAGE_TOKEN", "The page token is invalid"),
            Self::Unauthenticated(_) => ("UNAUTHENTICATED", "Authentication is required"),
            Self::Forbidden(_) => ("FORBIDDEN", "The caller may not do this"),
            Self::NotFound => ("NOT_FOUND", "The resource was not found"),
            Self::MethodNotAllowed { .. } => ("METHOD_NOT_ALLOWED", "The method is not allowed on this resource"),
            Self::UnsupportedMediaType(_) => ("UNSUPPORTED_MEDIA_TYPE", "The media type is not supported"),
            Self::Conflict(_) | Self::ConflictUnmet { .. } => {
                ("CONFLICT", "The request conflicts with the current state")
            }
            Self::InvalidStateTransition { .. } => ("INVALID_STATE_TRANSITION", "The transition is not allowed"),
            Self::Gone(_) => ("GONE", "What the request points at has been purged"),
            Self::PreconditionFailed => ("PRECONDITION_FAILED", "The resource has changed"),
            Self::PreconditionRequired => ("PRECONDITION_REQUIRED", "An If-Match header is required"),
            Self::PayloadTooLarge { .. } => ("PAYLOAD_TOO_LARGE", "The request body is too large"),
            Self::RequestTimeout { .. } => ("REQUEST_TIMEOUT", "The request body came too slowly"),
            Self::UriTooLong { .. } => ("URI_TOO_LONG", "The request URI is too long"),
            Self::HeadersTooLarge { .. } => ("HEADERS_TOO_LARGE", "The request headers are too large"),
            Self::RangeNotSatisfiable { .. } => ("RANGE_NOT_SATISFIABLE", "The range is outside the file"),
            Self::ValidationFailed(_) => ("VALIDATION_FAILED", "The request is invalid"),
            Self::IdempotencyKeyReused => {
                ("IDEMPOTENCY_KEY_REUSED", "The idempotency key was used with another request")
            }
            Self::IdempotencyKeyMissing => ("IDEMPOTENCY_KEY_MISSING", "An Idempotency-Key header is required"),
            Self::RateLimited { .. } => ("RATE_LIMITED", "Too many requests"),
            Self::Internal(_) => ("INTERNAL", "Internal server error"),
            Self::Unavailable { .. } | Self::Overloaded { .. } => {
                ("UNAVAILABLE", "The service is temporarily unavailable")
            }
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::MalformedRequest { detail, .. }
            | Self::Unauthenticated(detail)
            | Self::Forbidden(detail)
            | Self::UnsupportedMediaType(detail)
            | Self::Conflict(detail)
            | Self::Gone(detail)
            | Self::ConflictUnmet { detail, .. }
            | Self::InvalidStateTransition { detail, .. }
            | Self::RequestTimeout { detail }
            | Self::Overloaded { detail, .. } => detail.clone(),
            Self::UnknownField { pointer } => format!("{pointer} is not a field of this resource"),
            Self::ReadOnlyField { pointer } => {
                format!("{pointer} is set by the server and cannot be written")
            }
            Self::InvalidParameter(error) => error.detail.clone(),
            Self::InvalidPageToken => "page_token was not issued for this query and caller, or was altered".into(),
            Self::NotFound => "No resource exists at this address".into(),
            Self::MethodNotAllowed { allow } => format!("Allowed methods: {}", allow.join(", ")),
            Self::PreconditionFailed => "If-Match does not match the current ETag: read the resource again".into(),
            Self::PreconditionRequired => "Send If-Match with the ETag of the version you read".into(),
            Self::UriTooLong { limit_bytes } => {
                format!("The URI exceeds {limit_bytes} bytes; send long lists in a body or in pages")
            }
            Self::HeadersTooLarge { limit_bytes } => format!("A header exceeds {limit_bytes} bytes"),
            Self::PayloadTooLarge { limit_bytes } => {
                format!("The body exceeds the limit of {limit_bytes} bytes")
            }
            Self::RangeNotSatisfiable { size } => format!("The file has {size} bytes; ask for a range inside it"),
            Self::ValidationFailed(errors) if errors.iter().any(|error| error.line.is_some()) => match errors.len() {
                1 => "1 problem in the file; nothing was written".into(),
                n => format!("{n} problems in the file; nothing was written"),
            },
            Self::ValidationFailed(errors) => match errors.len() {
                1 => "1 field is invalid".into(),
                n if n > MAX_LISTED_ERRORS => {
                    format!("{n} fields are invalid; the first {MAX_LISTED_ERRORS} are listed")
                }
                n => format!("{n} fields are invalid"),
            },
            Self::IdempotencyKeyReused => "This Idempotency-Key was first used with a different request body".into(),
            Self::IdempotencyKeyMissing => "This operation records money and needs an Idempotency-Key header".into(),
            Self::RateLimited { retry_after_seconds } => format!("Retry after {retry_after_seconds} s"),
            Self::Internal(_) => "An unexpected error occurred; quote the request_id when reporting it".into(),
            Self::Unavailable { retry_after_seconds, .. } => {
                format!("The database is not answering; retry after {retry_after_seconds} s")
            }
        }
    }

    fn errors(&self) -> Vec<FieldError> {
        match self {
            // A file's problems are bounded as it is read (`ingest`), with a last one saying so.
            Self::ValidationFailed(errors) if errors.iter().any(|error| error.line.is_some()) => errors.clone(),
            Self::MalformedRequest { errors, .. } | Self::ValidationFailed(errors) => {
                errors.iter().take(MAX_LISTED_ERRORS).cloned().collect()
            }
            Self::InvalidStateTransition { unmet, .. } | Self::ConflictUnmet { unmet, .. } => unmet.clone(),
            Self::InvalidParameter(error) => vec![(**error).clone()],
            Self::UnknownField { pointer } => {
                vec![FieldError::at_pointer(pointer.clone(), "UNKNOWN_FIELD", "is not a field of this resource")]
            }
            Self::ReadOnlyField { pointer } => {
                vec![FieldError::at_pointer(pointer.clone(), "READ_ONLY_FIELD", "is set by the server")]
            }
            _ => Vec::new(),
        }
    }

    /// The problem body, with the request id of the request being answered.
    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            problem_type: format!("https://ctg-api.example/problems/{}", code.to_lowercase().replace('_', "-")),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            request_id: request_id(),
            errors: self.errors(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedRequest { .. }
            | Self::UnknownField { .. }
            | Self::ReadOnlyField { .. }
            | Self::InvalidParameter(_)
            | Self::InvalidPageToken
            | Self::IdempotencyKeyMissing => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Conflict(_) | Self::ConflictUnmet { .. } | Self::InvalidStateTransition { .. } => {
                StatusCode::CONFLICT
            }
            Self::Gone(_) => StatusCode::GONE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::ValidationFailed(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable { .. } | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => log::error!("internal error: {cause}"),
            Self::Unavailable { cause, .. } => log::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        match self {
            Self::Unauthenticated(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ctg-api\"")));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            Self::RangeNotSatisfiable { size } => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            // The rest of the body is not worth waiting for: the connection goes with the answer.
            Self::RequestTimeout { .. } => {
                response.force_close();
            }
            Self::RateLimited { retry_after_seconds }
            | Self::Unavailable { retry_after_seconds, .. }
            | Self::Overloaded { retry_after_seconds, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(kind, info)
                if kind == DatabaseErrorKind::ClosedConnection || is_transient(info.message()) =>
            {
                Self::Unavailable { cause: info.message().to_owned(), retry_after_seconds: 2 }
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::Conflict("a concurrent change won; read again and retry".into())
            }
            // What the checks before a write did not see because a concurrent request wrote it
            // meanwhile: the same answer the checks would have given, a conflict.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("this already exists (a concurrent request created it); read again".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::Conflict(
                "something still refers to this, or what it refers to is gone (a document linked to it, a \
                 concurrent deletion): unlink or read again"
                    .into(),
            ),
            other => Self::internal(other),
        }
    }
}

/// Failures that say "try again shortly" rather than "this request is wrong": SQLite's busy
/// timeout ran out, or the PostgreSQL server went away under a pooled connection.
fn is_transient(message: &str) -> bool {
    ["database is locked", "server closed the connection", "terminating connection", "no connection to the server"]
        .iter()
        .any(|needle| message.contains(needle))
}

pub type ApiResult<T> = Result<T, ApiError>;
