//! The change feed: every change is appended as an event in the transaction that makes it.
//!
//! A reader following ids must never miss a committed event. SQLite lets one writer in at a time,
//! so ids grow in commit order. On PostgreSQL identity values are drawn when a row is inserted,
//! not when it commits: two writers could commit out of order and a reader skip the slower one's
//! event. So a writer takes a transaction-scoped advisory lock before its first event and keeps
//! it until it commits: events are drawn and committed one transaction at a time, and every
//! committed id is below every id still to commit. That lock must be the last one a transaction
//! takes (every handler takes its contract or commitment lock first), or two writers could wait
//! for each other.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{contract_parties, events, feed_horizon, organisations};
use crate::auth::{Caller, Scope};

const EVENTS_LOCK: &str = "events";

/// The row of `feed_horizon` that says how far the feed is purged.
const HORIZON: &str = "events";

/// One change, as the feed keeps it.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub caller: &'a Caller,
    pub at: NaiveDateTime,
    /// `contract`, `party`, `organisation`, `observations`, …
    pub resource: &'a str,
    /// `created`, `updated`, `deleted`, `transitioned`, `amended`, `upserted`.
    pub action: &'a str,
    pub resource_id: &'a str,
    pub contract_id: Option<&'a str>,
    pub department: Option<&'a str>,
    /// The resource after the change, as JSON text; `None` after a deletion.
    pub body: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct EventInsert<'a> {
    occurred_at: NaiveDateTime,
    event_type: String,
    resource: &'a str,
    resource_id: &'a str,
    contract_id: Option<&'a str>,
    department: Option<&'a str>,
    actor_sub: &'a str,
    actor_role: &'a str,
    body: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub event_type: String,
    pub resource: String,
    pub resource_id: String,
    pub contract_id: Option<String>,
    pub department: Option<String>,
    pub actor_sub: String,
    pub actor_role: String,
    pub body: Option<String>,
}

/// Appends `event`, in the caller's transaction.
pub fn record(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    super::serialize_writers(conn, EVENTS_LOCK)?;
    diesel::insert_into(events::table)
        .values(EventInsert {
            occurred_at: event.at,
            event_type: format!("{}.{}", event.resource, event.action),
            resource: event.resource,
            resource_id: event.resource_id,
            contract_id: event.contract_id,
            department: event.department,
            actor_sub: &event.caller.subject,
            actor_role: event.caller.role.name(),
            body: event.body.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` events after `after` in `scope`, oldest first: all of them, those of some
/// départements and the catalogue's (which have none), or those of the contracts one of some
/// SIRENs is party to.
pub fn list(conn: &mut DbConnection, scope: &Scope, after: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::id.gt(after))
        .order(events::id)
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    match scope {
        Scope::Everything => {}
        Scope::Departments(departments) => {
            query = query.filter(
                events::department
                    .eq_any(departments.iter().cloned().collect::<Vec<_>>())
                    .or(events::department.is_null().and(events::contract_id.is_null())),
            );
        }
        Scope::PartyTo(sirens) => {
            let contracts = contract_parties::table
                .inner_join(organisations::table)
                .filter(organisations::siren.eq_any(sirens.iter().cloned().collect::<Vec<_>>()))
                .select(contract_parties::contract_id);
            query = query.filter(events::contract_id.assume_not_null().eq_any(contracts));
        }
    }
    query.load(conn)
}

/// The last event id committed, as this transaction sees it.
pub fn last_id(conn: &mut DbConnection) -> QueryResult<i64> {
    events::table.select(diesel::dsl::max(events::id)).first::<Option<i64>>(conn).map(Option::unwrap_or_default)
}

/// The last event id purged: a reader whose cursor is below it has missed events.
pub fn horizon(conn: &mut DbConnection) -> QueryResult<i64> {
    feed_horizon::table.find(HORIZON).select(feed_horizon::purged_through).first(conn)
}

/// Deletes up to `batch` of the oldest events that occurred before `before`, and moves the horizon
/// past them; the number deleted. Ids follow commit order (see above), so every event up to the
/// last one deleted is committed and none can appear below the horizon later.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let oldest: Vec<i64> = events::table
        .filter(events::occurred_at.lt(before))
        .order(events::id)
        .limit(batch)
        .select(events::id)
        .load(conn)?;
    let Some(&through) = oldest.last() else { return Ok(0) };
    let purged = diesel::delete(events::table.filter(events::id.le(through))).execute(conn)?;
    diesel::update(feed_horizon::table.find(HORIZON).filter(feed_horizon::purged_through.lt(through)))
        .set(feed_horizon::purged_through.eq(through))
        .execute(conn)?;
    Ok(purged)
}
