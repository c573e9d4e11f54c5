//! Query strings: only documented parameters are accepted, and every refusal names the parameter.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query of an operation that takes no parameter: any parameter is refused as unknown.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

/// Like `web::Query`, but a parameter the operation does not document, or a value of the wrong
/// type, is a 400 `INVALID_PARAMETER` naming the parameter. Query types use
/// `#[serde(deny_unknown_fields)]`.
pub struct ApiQuery<T>(pub T);

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_pairs(query));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        if let Some(name) = unknown_field_name(&message) {
            return ApiError::invalid_parameter(
                name,
                "UNKNOWN_PARAMETER",
                format!("{name} is not a parameter of this operation"),
            );
        }
        let name = error.path().to_string();
        ApiError::invalid_parameter(name.clone(), "INVALID_VALUE", format!("{name}: {message}"))
    })
}

fn form_urlencoded_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// serde's message for `deny_unknown_fields` is "unknown field `name`, expected …".
pub fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        department: Option<String>,
        page_size: Option<u32>,
    }

    fn parameter_of(error: ApiError) -> (String, String) {
        match error {
            ApiError::InvalidParameter(e) => (e.parameter.unwrap_or_default(), e.code),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn documented_parameters_are_read() {
        let params: Params = parse_query("department=74&page_size=10").unwrap();
        assert_eq!(params.department.as_deref(), Some("74"));
        assert_eq!(params.page_size, Some(10));
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let error = parse_query::<Params>("departement=74").unwrap_err();
        assert_eq!(parameter_of(error), ("departement".into(), "UNKNOWN_PARAMETER".into()));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named() {
        let error = parse_query::<Params>("page_size=ten").unwrap_err();
        assert_eq!(parameter_of(error), ("page_size".into(), "INVALID_VALUE".into()));
    }
}
