//! The change feed: every change is appended as an event in the transaction that makes it.
//!
//! A reader following the feed must never miss a committed event nor see one twice, whatever order
//! concurrent writers commit in. SQLite lets one writer in at a time, so its ids grow in commit
//! order and its events carry transaction 0. On PostgreSQL an id is drawn when a row is inserted,
//! not when it commits, and writers on different contracts run side by side, so ids alone do not
//! follow commit order. Each event records the id of the transaction that wrote it
//! (`pg_current_xact_id()`), and the feed is read in [`FeedPosition`] order — transaction, then id
//! — only below the oldest transaction still running in the reader's snapshot
//! (`pg_snapshot_xmin`), the way transactional-outbox readers do:
//!
//! - every transaction below that bound has ended, so the events below it that the reader sees
//!   are all the events there will ever be below it (aborted ones never appear);
//! - a transaction that commits later has an id at or above the bound, so all its events sort
//!   after every position the reader was given: a cursor never has to go back.
//!
//! The cost is latency, not correctness: a long transaction holds the feed back until it ends.
//! No lock is shared between writers, so writers on different contracts never wait for each
//! other.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConnection;
use super::schema::{contract_parties, events, feed_horizon, organisations};
use crate::auth::{Caller, Scope};

/// The row of `feed_horizon` that says how far the feed is purged.
const HORIZON: &str = "events";

/// Where an event stands in the feed: after every event of an older transaction, then after the
/// events its own transaction wrote before it. Fields in this order, so that the derived order is
/// the feed's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    pub transaction: i64,
    pub id: i64,
}

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

impl<'a> From<&'a NewEvent<'a>> for EventInsert<'a> {
    fn from(event: &'a NewEvent<'a>) -> Self {
        EventInsert {
            occurred_at: event.at,
            event_type: format!("{}.{}", event.resource, event.action),
            resource: event.resource,
            resource_id: event.resource_id,
            contract_id: event.contract_id,
            department: event.department,
            actor_sub: &event.caller.subject,
            actor_role: event.caller.role.name(),
            body: event.body.as_deref(),
        }
    }
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
    pub transaction_id: i64,
}

impl EventRow {
    pub fn position(&self) -> FeedPosition {
        FeedPosition { transaction: self.transaction_id, id: self.id }
    }
}

/// The transaction ids below which every transaction has ended, as this snapshot sees it: the
/// feed is read only below it. Everything is settled on SQLite. A read of the feed asks once and
/// gives the answer to [`list`], [`last_position`] and [`any_unsettled`], which then agree.
pub fn settled_below(conn: &mut DbConnection) -> QueryResult<i64> {
    match conn {
        DbConnection::Pg(_) => {
            diesel::select(diesel::dsl::sql::<BigInt>("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
                .get_result(conn)
        }
        DbConnection::Sqlite(_) => Ok(i64::MAX),
    }
}

/// Appends `event`, in the caller's transaction.
pub fn record(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    record_all(conn, std::slice::from_ref(event))
}

/// Appends `events` in their order, in the caller's transaction. Each records the transaction
/// that writes it: PostgreSQL's id (64 bits, never wrapping), or 0 on SQLite, where commit order
/// is id order. On PostgreSQL they go in one statement, so that a change and the
/// `contract.touched` it brings cost one round trip, not two; SQLite has no round trip to spare.
pub fn record_all(conn: &mut DbConnection, events: &[NewEvent<'_>]) -> QueryResult<()> {
    // Multi-row INSERTs are rendered by each backend, not by the multi-connection enum.
    match conn {
        DbConnection::Pg(pg) => {
            let rows: Vec<_> = events
                .iter()
                .map(|event| {
                    let transaction = diesel::dsl::sql::<BigInt>("pg_current_xact_id()::text::bigint");
                    (events::transaction_id.eq(transaction), EventInsert::from(event))
                })
                .collect();
            diesel::insert_into(events::table).values(rows).execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for event in events {
                diesel::insert_into(events::table)
                    .values((events::transaction_id.eq(0), EventInsert::from(event)))
                    .execute(sqlite)?;
            }
        }
    }
    super::count_on_commit(super::FEED_EVENTS_WRITTEN, u64::try_from(events.len()).unwrap_or(u64::MAX));
    Ok(())
}

/// Up to `limit` events after `after` in `scope`, oldest first: all of them, those of some
/// départements and the catalogue's (which have none), or those of the contracts one of some
/// SIRENs is party to; only events of transactions below `settled` ([`settled_below`]).
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    after: FeedPosition,
    settled: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(
            events::transaction_id
                .gt(after.transaction)
                .or(events::transaction_id.eq(after.transaction).and(events::id.gt(after.id))),
        )
        .filter(events::transaction_id.lt(settled))
        .order((events::transaction_id, events::id))
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

/// The position of the last event below `settled`, as this snapshot sees it: a reader that read every
/// event in its scope up to here continues from it, and no later commit can come before it.
pub fn last_position(conn: &mut DbConnection, settled: i64) -> QueryResult<FeedPosition> {
    let last = events::table
        .filter(events::transaction_id.lt(settled))
        .order((events::transaction_id.desc(), events::id.desc()))
        .select((events::transaction_id, events::id))
        .first::<(i64, i64)>(conn)
        .optional()?;
    Ok(last.map(|(transaction, id)| FeedPosition { transaction, id }).unwrap_or_default())
}

/// Whether this snapshot sees committed events that are not settled yet: written by a transaction
/// at or above `settled`, the oldest one still running, so held back from readers until it ends.
pub fn any_unsettled(conn: &mut DbConnection, settled: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(events::table.filter(events::transaction_id.ge(settled)))).get_result(conn)
}

/// The position of the last event purged: a reader whose cursor is below it has missed events.
pub fn horizon(conn: &mut DbConnection) -> QueryResult<FeedPosition> {
    let (transaction, id) = feed_horizon::table
        .find(HORIZON)
        .select((feed_horizon::purged_through_transaction, feed_horizon::purged_through))
        .first(conn)?;
    Ok(FeedPosition { transaction, id })
}

/// Deletes up to `batch` of the oldest settled events that occurred before `before`, and moves the
/// horizon past them; the number deleted. Only settled events go: no event can appear below the
/// horizon later.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let settled = settled_below(conn)?;
    let oldest: Vec<(i64, i64)> = events::table
        .filter(events::occurred_at.lt(before))
        .filter(events::transaction_id.lt(settled))
        .order((events::transaction_id, events::id))
        .limit(batch)
        .select((events::transaction_id, events::id))
        .load(conn)?;
    let Some(&(transaction, id)) = oldest.last() else { return Ok(0) };
    let up_to_through =
        events::transaction_id.lt(transaction).or(events::transaction_id.eq(transaction).and(events::id.le(id)));
    let purged = diesel::delete(events::table.filter(up_to_through)).execute(conn)?;
    // Instances purge side by side: the horizon only moves forward.
    let behind = feed_horizon::purged_through_transaction
        .lt(transaction)
        .or(feed_horizon::purged_through_transaction.eq(transaction).and(feed_horizon::purged_through.lt(id)));
    diesel::update(feed_horizon::table.find(HORIZON).filter(behind))
        .set((feed_horizon::purged_through_transaction.eq(transaction), feed_horizon::purged_through.eq(id)))
        .execute(conn)?;
    Ok(purged)
}
