//! HTTP plumbing shared by every route: request ids, strict body and query extraction, the
//! problem answers for actix's own errors, page tokens, HEAD on GET routes, the 404/405 fallback
//! and the metrics of what is answered.

pub mod body;
pub mod csv;
pub mod fallback;
pub mod head;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod pagination;
pub mod preconditions;
pub mod query;
pub mod rate_limit;
pub mod request_id;
pub mod requests;
pub mod security_headers;
pub mod spool;
pub mod uploads;
