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
use super::preconditions::IfMatch;
use crate::auth::Caller;
use crate::db::DbPool;

/// A read of one resource at `Path`.
pub type Read<Path> = (Caller, web::Path<Path>, web::Data<DbPool>);

/// A creation at a fixed path, at most once per `Idempotency-Key`.
pub type Create<Body> = (Caller, IdempotentJson<Body>, web::Data<DbPool>);

/// A creation under the resource at `Path` (a part of a contract, a payment of a commitment).
pub type CreateUnder<Path, Body> = (Caller, web::Path<Path>, IdempotentJson<Body>, web::Data<DbPool>);

/// A PATCH of the resource at `Path`.
pub type Update<Path, Body> = (Caller, web::Path<Path>, IfMatch, ApiJson<Body>, web::Data<DbPool>);

/// A POST that moves the resource at `Path` through its lifecycle: conditional, and at most once
/// per `Idempotency-Key`.
pub type Transition<Path, Body> = (Caller, web::Path<Path>, IfMatch, IdempotentJson<Body>, web::Data<DbPool>);

/// A DELETE of the resource at `Path`.
pub type Remove<Path> = (Caller, web::Path<Path>, IfMatch, web::Data<DbPool>);
