//! `GET /v1/events`: the change feed an integrator follows to keep a copy of what the service
//! holds. Events come oldest first, each with the resource as it is after the change; the answer's
//! `next_cursor` is where to continue from, even when no event was returned. A reader following
//! it never misses a committed change and never sees one twice (see `db::events`).

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, get};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::problems::FeedProblems;
use crate::db;
use crate::db::events::{self as repo, EventRow, FeedPosition};
use crate::error::{ApiError, ApiResult};
use crate::http::query::ApiQuery;
use crate::http::requests::List;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The `next_cursor` of the previous answer, or the `cursor` of an event; absent to start
    /// from the first event. Cursors belong to the caller they were issued to.
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    pub sub: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// The event's name: stable, unique, and telling nothing about other events. Events come in
    /// commit order; their ids do not sort.
    #[schema(min_length = 22, max_length = 22, pattern = "^[A-Za-z0-9_-]{22}$")]
    pub id: String,
    /// Where to continue from to read the events after this one.
    pub cursor: String,
    pub occurred_at: String,
    /// `<resource>.<action>`: `contract.created`, `party.updated`, `payment.created`,
    /// `organisation.deleted`, `observations.upserted`, …
    #[serde(rename = "type")]
    pub event_type: String,
    pub resource: String,
    pub resource_id: String,
    pub contract_id: Option<String>,
    pub department: Option<String>,
    pub actor: Actor,
    /// The resource as it is after the change (as its own route answers it); null after a
    /// deletion. For `contract.touched` (a part of the contract changed): its `id`, `version` and
    /// `updated_at`. For `observations.upserted`: the ingestion, the département and its row counts
    /// per indicator; the rows are at `/v1/indicators/{code}/observations?ingest_id=…`.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    /// Send it as `after` for the next events; it moves on even when no event was in your scope.
    pub next_cursor: String,
}

/// `cursor` is where to continue from to read the events after `row`.
fn event_view(id: String, cursor: String, row: EventRow) -> EventView {
    EventView {
        id,
        cursor,
        occurred_at: db::rfc3339(row.occurred_at),
        event_type: row.event_type,
        resource: row.resource,
        resource_id: row.resource_id,
        contract_id: row.contract_id,
        department: row.department,
        actor: Actor { sub: row.actor_sub, role: row.actor_role },
        data: row.body.and_then(|body| RawValue::from_string(body).ok()),
    }
}

/// A position as a cursor seals it: the transaction, then the id, big-endian.
fn position_bytes(position: FeedPosition) -> [u8; 16] {
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&position.transaction.to_be_bytes());
    bytes[8..].copy_from_slice(&position.id.to_be_bytes());
    bytes
}

/// The position a cursor sealed. Cursors issued before the feed recorded transactions hold an id
/// alone: those events carry transaction 0.
fn position_from(bytes: &[u8]) -> Option<FeedPosition> {
    let number = |part: &[u8]| part.try_into().ok().map(i64::from_be_bytes);
    match bytes.len() {
        8 => Some(FeedPosition { transaction: 0, id: number(bytes)? }),
        16 => Some(FeedPosition { transaction: number(&bytes[..8])?, id: number(&bytes[8..])? }),
        _ => None,
    }
}

/// How long a short page may wait for transactions that hold committed events back, and how often
/// it looks again.
const SETTLING_PATIENCE: Duration = Duration::from_secs(3);
const SETTLING_POLL: Duration = Duration::from_millis(10);

/// One read of the feed: the events, where to continue from, and whether committed events lie
/// beyond it that a transaction still running holds back.
struct FeedRead {
    rows: Vec<EventRow>,
    next: FeedPosition,
    held_back: bool,
}

fn read_page(
    conn: &mut db::DbConnection,
    scope: &crate::auth::Scope,
    after: FeedPosition,
    resuming: bool,
    limit: u32,
) -> ApiResult<FeedRead> {
    // A reader starting afresh begins at the oldest event kept; one resuming must not have
    // missed any.
    let horizon = repo::horizon(conn)?;
    if resuming && after < horizon {
        return Err(expired_cursor());
    }
    let after = after.max(horizon);
    let settled = repo::settled_below(conn)?;
    let rows = repo::list(conn, scope, after, settled, i64::from(limit))?;
    // A short page read everything settled in this snapshot: continue after its last event, in
    // scope or not (no later commit can come before it).
    let (next, held_back) = match rows.last() {
        Some(last) if rows.len() == limit as usize => (last.position(), false),
        _ => (repo::last_position(conn, settled)?.max(after), repo::any_unsettled(conn, settled)?),
    };
    Ok(FeedRead { rows, next, held_back })
}

fn invalid_cursor() -> ApiError {
    ApiError::invalid_parameter("after", "INVALID_CURSOR", "after is a cursor this feed issued to you, unaltered")
}

fn expired_cursor() -> ApiError {
    ApiError::Gone(
        "events after this cursor are past the feed's retention window and were purged: synchronise again \
         from the lists, then follow the feed from its start"
            .into(),
    )
}

/// The change feed of the caller's scope, oldest first.
///
/// The changes in the caller's scope, oldest first: admins see everything, CAF agents and
/// integrations their départements (and the indicator catalogue), collectivities the contracts they
/// are party to. An event appears once every transaction that began before the one that wrote it
/// has ended; a page that comes back short waits up to 3 seconds for such transactions, so that a
/// change just committed is on it. Events are kept for a retention window (`CTG_FEED_RETENTION_SECONDS`, 90 days
/// unless configured); a cursor that points before it is answered 410, and the reader
/// synchronises again from the lists. Who may call it: every role.
#[utoipa::path(tag = "integration", params(EventQuery), responses((status = 200, body = EventPage), FeedProblems), security(("bearer" = [])))]
#[get("/events")]
pub async fn list_events((caller, query, pool, tokens): List<EventQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter("limit", "OUT_OF_RANGE", format!("limit is 1 to {MAX_LIMIT}")));
    }
    let binding = format!("events|{}", caller.fingerprint());
    let after = match query.after.as_deref() {
        None => FeedPosition::default(),
        Some(token) => tokens.unseal(&binding, token).as_deref().and_then(position_from).ok_or_else(invalid_cursor)?,
    };
    let resuming = query.after.is_some();
    let scope = caller.scope();
    // A short page that leaves committed events unsettled behind a transaction still running is
    // read again once that transaction has ended, for a while: a client that reads the feed right
    // after its own write finds it there, unless a long transaction holds the feed back.
    let deadline = Instant::now() + SETTLING_PATIENCE;
    let (rows, next) = loop {
        let scope = scope.clone();
        let page = db::run(&pool, move |conn| read_page(conn, &scope, after, resuming, limit)).await?;
        if !page.held_back || Instant::now() >= deadline {
            break (page.rows, page.next);
        }
        tokio::time::sleep(SETTLING_POLL).await;
    };
    let cursor = |position: FeedPosition| tokens.seal(&binding, &position_bytes(position));
    let items = rows
        .into_iter()
        .map(|row| event_view(tokens.opaque_id("events", row.id), cursor(row.position()), row))
        .collect();
    Ok(HttpResponse::Ok().json(EventPage { items, next_cursor: cursor(next) }))
}
