//! The arguments of a handler, by kind of operation, each a tuple of extractors that actix reads
//! in order. The order is the precondition order (RFC 9110 §13.2.2): who calls (401), then the
//! path (404), then `If-Match` (read, judged later by the write pipeline), then the body
//! (400/422); the pool comes last, since taking it decides nothing. A handler destructures its
//! tuple in its signature:
//!
//! ```ignore
//! pub async fn update_equipment((caller, id, if_match, ApiJson(patch), pool): Update<Uuid, EquipmentPatch>)
//! ```

use actix_web::web;

use super::body::ApiJson;
use super::idempotency::IdempotentJson;
use super::pagination::PageTokenKey;
use super::preconditions::IfMatch;
use super::query::{ApiQuery, NoParameters};
use crate::auth::Caller;
use crate::db::DbPool;

/// A read of one resource at `Path`; it takes no query parameter (400 for one sent).
pub type Read<Path> = (Caller, web::Path<Path>, ApiQuery<NoParameters>, web::Data<DbPool>);

/// A creation at a fixed path, at most once per `Idempotency-Key`.
pub type Create<Body> = (Caller, IdempotentJson<Body>, web::Data<DbPool>);

/// A creation under the resource at `Path` (a part of a contract, a payment of a commitment).
pub type CreateUnder<Path, Body> = (Caller, web::Path<Path>, IdempotentJson<Body>, web::Data<DbPool>);

/// A PATCH of the resource at `Path`.
pub type Update<Path, Body> = (Caller, web::Path<Path>, IfMatch, ApiJson<Body>, web::Data<DbPool>);

/// A PUT that creates or replaces the resource at `Path` whole: conditional once it exists.
pub type Replace<Path, Body> = (Caller, web::Path<Path>, IfMatch, ApiJson<Body>, web::Data<DbPool>);

/// A POST that moves the resource at `Path` through its lifecycle: conditional, and at most once
/// per `Idempotency-Key`.
pub type Transition<Path, Body> = (Caller, web::Path<Path>, IfMatch, IdempotentJson<Body>, web::Data<DbPool>);

/// A DELETE of the resource at `Path`.
pub type Remove<Path> = (Caller, web::Path<Path>, IfMatch, web::Data<DbPool>);

/// The parts of the resource at `Path`, all at once: no query parameters.
pub type Parts<Path> = (Caller, web::Path<Path>, ApiQuery<NoParameters>, web::Data<DbPool>);

/// A page of a list, filtered by `Query`.
pub type List<Query> = (Caller, ApiQuery<Query>, web::Data<DbPool>, web::Data<PageTokenKey>);

/// A page of the list under the resource at `Path`, filtered by `Query`.
pub type ListUnder<Path, Query> =
    (Caller, web::Path<Path>, ApiQuery<Query>, web::Data<DbPool>, web::Data<PageTokenKey>);
