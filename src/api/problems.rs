//! The problem answers an operation documents. Every operation under `/v1` also gets 401, 500 and
//! 503 from `openapi::finish`, so handlers list only the answers particular to them.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_MEDIA_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
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
    /// A read of one resource by its id.
    ReadProblems {
        "404" => "No such resource in the caller's scope (`NOT_FOUND`)",
    }
}
