//! The problem answers an operation documents. Every operation under `/v1` also gets 401, 500 and
//! 503 from `openapi::finish`, so handlers list only the answers particular to them.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_MEDIA_TYPE, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}

macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? }) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status.to_string(), RefOr::T(problem_response($description)))),+].into_iter().collect()
            }
        }
    };
}

problem_set! {
    /// A list: its parameters can be wrong.
    ListProblems {
        "400" => "A parameter is unknown or invalid (`INVALID_PARAMETER`), or the page token is (`INVALID_PAGE_TOKEN`)",
    }
}

problem_set! {
    /// The change feed: its cursor can be wrong, or point before the retention window.
    FeedProblems {
        "400" => "A parameter is unknown or invalid, or `after` is not a cursor this feed issued to the caller (`INVALID_PARAMETER`)",
        "410" => "The events after this cursor were purged: synchronise again from the lists (`GONE`)",
    }
}

problem_set! {
    /// A read of one resource by its id.
    ReadProblems {
        "400" => "A query parameter was sent; this read takes none (`INVALID_PARAMETER`)",
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
    }
}

problem_set! {
    /// A report on one contract that takes no query parameter.
    ReportProblems {
        "400" => "A query parameter was sent; this report takes none (`INVALID_PARAMETER`)",
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
    }
}

problem_set! {
    /// A preview of what a change of state would do.
    PreviewProblems {
        "403" => "The caller's role does not read this preview (`FORBIDDEN`)",
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
        "409" => "The resource is not in a state this preview applies to (`CONFLICT`)",
    }
}

problem_set! {
    /// A creation from a JSON body.
    CreateProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown (`UNKNOWN_FIELD`) or read-only field (`READ_ONLY_FIELD`)",
        "403" => "The caller's role or territory does not allow this (`FORBIDDEN`)",
        "409" => "The request conflicts with existing data (`CONFLICT`)",
        "413" => "The body exceeds 256 KiB (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "The body breaks a rule; `errors` points at each field (`VALIDATION_FAILED`)",
    }
}

problem_set! {
    /// A creation under a resource that must exist in the caller's scope.
    CreateChildProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown (`UNKNOWN_FIELD`) or read-only field (`READ_ONLY_FIELD`)",
        "403" => "The caller's role does not allow this (`FORBIDDEN`)",
        "404" => "No such contract in the caller's scope (`NOT_FOUND`)",
        "409" => "The request conflicts with existing data or with the contract's status (`CONFLICT`)",
        "413" => "The body exceeds 256 KiB (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "The body breaks a rule; `errors` points at each field (`VALIDATION_FAILED`)",
    }
}

problem_set! {
    /// A PATCH with `If-Match`.
    UpdateProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown (`UNKNOWN_FIELD`) or read-only field (`READ_ONLY_FIELD`), or If-Match is not a list of entity tags (`INVALID_PARAMETER`)",
        "403" => "The caller's role or territory does not allow this change (`FORBIDDEN`)",
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
        "409" => "The change conflicts with existing data or with the contract's status (`CONFLICT`)",
        "412" => "If-Match does not match the current ETag (`PRECONDITION_FAILED`)",
        "413" => "The body exceeds 256 KiB (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "The body breaks a rule; `errors` points at each field (`VALIDATION_FAILED`)",
        "428" => "If-Match is missing (`PRECONDITION_REQUIRED`)",
    }
}

problem_set! {
    /// A PUT that creates a resource, or replaces it whole with `If-Match` once it exists.
    ReplaceProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown (`UNKNOWN_FIELD`) or read-only field (`READ_ONLY_FIELD`), or If-Match is not a list of entity tags (`INVALID_PARAMETER`)",
        "403" => "The caller's role does not allow this change (`FORBIDDEN`)",
        "404" => "No such resource can exist at this address (`NOT_FOUND`)",
        "412" => "If-Match does not match the current ETag, or names a resource that does not exist yet (`PRECONDITION_FAILED`)",
        "413" => "The body exceeds 256 KiB (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "The body breaks a rule; `errors` points at each field (`VALIDATION_FAILED`)",
        "428" => "If-Match is missing and the resource exists (`PRECONDITION_REQUIRED`)",
    }
}

problem_set! {
    /// A DELETE with `If-Match`.
    DeleteProblems {
        "400" => "If-Match is not a list of entity tags (`INVALID_PARAMETER`)",
        "403" => "The caller's role or territory does not allow this (`FORBIDDEN`)",
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
        "409" => "The resource is still used, or the contract's status forbids it (`CONFLICT`)",
        "412" => "If-Match does not match the current ETag (`PRECONDITION_FAILED`)",
        "428" => "If-Match is missing (`PRECONDITION_REQUIRED`)",
    }
}

/// A change under a resource that is versioned as a whole (an amendment to a contract, the
/// schedule of a commitment): `If-Match` carries the ETag of that resource, and the change can
/// fail in every way a PATCH can.
pub type GuardedChildProblems = UpdateProblems;

problem_set! {
    /// A contract transition.
    TransitionProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown field (`UNKNOWN_FIELD`), or If-Match is not a list of entity tags (`INVALID_PARAMETER`)",
        "403" => "The caller's role does not allow this (`FORBIDDEN`)",
        "404" => "No such contract in the caller's scope (`NOT_FOUND`)",
        "409" => "The transition's conditions are not met; `errors` lists each one (`INVALID_STATE_TRANSITION`)",
        "412" => "If-Match does not match the current ETag (`PRECONDITION_FAILED`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "A field breaks a rule, such as a reason too long (`VALIDATION_FAILED`)",
        "428" => "If-Match is missing (`PRECONDITION_REQUIRED`)",
    }
}

problem_set! {
    /// A list under a resource that must exist in the caller's scope.
    ChildListProblems {
        "400" => "A parameter is unknown or invalid (`INVALID_PARAMETER`), or the page token is (`INVALID_PAGE_TOKEN`)",
        "404" => "No such contract in the caller's scope (`NOT_FOUND`)",
    }
}

problem_set! {
    /// The observations of one indicator.
    ObservationListProblems {
        "400" => "A parameter is unknown or invalid (`INVALID_PARAMETER`), or the page token is (`INVALID_PAGE_TOKEN`)",
        "404" => "No such indicator in the catalogue (`NOT_FOUND`)",
    }
}

problem_set! {
    /// A bulk file of observations.
    BulkProblems {
        "400" => "The body could not be read (`MALFORMED_REQUEST`) or the Idempotency-Key is invalid (`INVALID_PARAMETER`)",
        "403" => "The token names no place of the reference to write about (`FORBIDDEN`)",
        "408" => "No byte of the body came for the idle timeout, or not all of it by the deadline (`REQUEST_TIMEOUT`)",
        "409" => "A request with this Idempotency-Key is still running (`CONFLICT`)",
        "413" => "The file exceeds 256 MiB, or 4 MiB for a collectivity (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is neither `text/csv` nor `application/x-ndjson` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "Rows are invalid: `errors` gives each one's `line`, `column` and `code`, and nothing was written (`VALIDATION_FAILED`), or the Idempotency-Key was used for another file (`IDEMPOTENCY_KEY_REUSED`)",
        "429" => "The caller already has as many uploads in progress as it may (`RATE_LIMITED`, with `Retry-After`)",
        "503" => "The service takes no more uploads now, or its disk space for them is full (`UNAVAILABLE`, with `Retry-After`)",
    }
}

problem_set! {
    /// A PUT that replaces a piece of reference data kept by admins, named in the path, which
    /// has no version of its own.
    ReplaceReferenceProblems {
        "400" => "The body is malformed (`MALFORMED_REQUEST`) or has an unknown (`UNKNOWN_FIELD`) or read-only field (`READ_ONLY_FIELD`)",
        "403" => "Only admins change it (`FORBIDDEN`)",
        "404" => "Nothing is named so in the path (`NOT_FOUND`)",
        "413" => "The body exceeds 256 KiB (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "The body breaks a rule; `errors` points at each field (`VALIDATION_FAILED`)",
    }
}

problem_set! {
    /// An upload of a document's file.
    UploadProblems {
        "400" => "A query parameter is unknown or invalid (`INVALID_PARAMETER`), or the body could not be read, the upload being cut off (`MALFORMED_REQUEST`)",
        "403" => "The caller's role may not upload this kind of document (`FORBIDDEN`)",
        "404" => "No such contract in the caller's scope (`NOT_FOUND`)",
        "409" => "The contract can no longer change, or a request with this Idempotency-Key is still running (`CONFLICT`)",
        "413" => "The file exceeds the document size limit (`PAYLOAD_TOO_LARGE`), refused before it is stored",
        "415" => "The content is not a PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG file (`UNSUPPORTED_MEDIA_TYPE`)",
        "408" => "No byte of the body came for the idle timeout, or not all of it by the deadline (`REQUEST_TIMEOUT`)",
        "422" => "The file is empty, or a link names nothing of this contract (`VALIDATION_FAILED`), or the Idempotency-Key was used for another file (`IDEMPOTENCY_KEY_REUSED`)",
        "429" => "The caller already has as many uploads in progress as it may (`RATE_LIMITED`, with `Retry-After`)",
        "503" => "The service takes no more uploads now, or its disk space for them is full (`UNAVAILABLE`, with `Retry-After`)",
    }
}

problem_set! {
    /// A download of a document's file.
    ContentProblems {
        "404" => "No such document in the caller's scope (`NOT_FOUND`)",
        "416" => "The range starts past the end of the file (`RANGE_NOT_SATISFIABLE`); `Content-Range` gives its size",
    }
}
