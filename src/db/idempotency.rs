//! Idempotency keys: the first answer to a request, kept so that a retry gets the same answer
//! instead of doing the work twice.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::idempotency_keys;

/// An answer as it was first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    /// JSON object of the headers worth replaying (`Location`, `ETag`).
    pub headers: String,
    pub body: String,
}

/// What a key means for a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use (or a takeover of an abandoned one): do the work.
    New,
    /// Already answered: give the same answer again.
    Replay(StoredAnswer),
    /// The first request with this key has not finished.
    InProgress,
    /// The key was first used with another request.
    Reused,
}

/// How long a key may stay "in progress" before a retry may take it over: a request never takes
/// that long, so its process must have died between claiming the key and finishing.
const ABANDONED_AFTER: TimeDelta = TimeDelta::seconds(60);

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    request_hash: String,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    created_at: NaiveDateTime,
}

fn read(conn: &mut DbConnection, caller: &str, key: &str) -> QueryResult<Option<KeyRow>> {
    idempotency_keys::table.find((caller, key)).select(KeyRow::as_select()).first(conn).optional()
}

/// The answer already given to `key` for a request of hash `request_hash`, if any: a look
/// before long work that a replay would make useless. It claims nothing.
pub fn answered(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    request_hash: &str,
) -> QueryResult<Option<StoredAnswer>> {
    Ok(read(conn, caller, key)?.filter(|row| row.request_hash == request_hash).and_then(|row| {
        match (row.response_status, row.response_headers, row.response_body) {
            (Some(status), Some(headers), Some(body)) => {
                Some(StoredAnswer { status: u16::try_from(status).unwrap_or(500), headers, body })
            }
            _ => None,
        }
    }))
}

/// Claims `key` for a request of hash `request_hash`. Run it in a transaction of its own, so
/// that a concurrent duplicate sees the claim at once.
pub fn claim(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    request_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Claim> {
    let values = (
        idempotency_keys::caller.eq(caller),
        idempotency_keys::idempotency_key.eq(key),
        idempotency_keys::request_hash.eq(request_hash),
        idempotency_keys::created_at.eq(now),
    );
    // Insert-if-absent in one statement: two requests with the same key cannot both see "absent"
    // and both insert. On PostgreSQL the second waits for the first's claim to commit, then reads it.
    let inserted = match conn {
        DbConnection::Pg(pg) => {
            diesel::insert_into(idempotency_keys::table).values(values).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(sqlite) => {
            diesel::insert_or_ignore_into(idempotency_keys::table).values(values).execute(sqlite)?
        }
    };
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let Some(existing) = read(conn, caller, key)? else {
        // Released between the insert and the read: the next retry will claim it.
        return Ok(Claim::InProgress);
    };
    if existing.request_hash != request_hash {
        return Ok(Claim::Reused);
    }
    match (existing.response_status, existing.response_headers, existing.response_body) {
        (Some(status), Some(headers), Some(body)) => {
            Ok(Claim::Replay(StoredAnswer { status: u16::try_from(status).unwrap_or(500), headers, body }))
        }
        _ if now - existing.created_at > ABANDONED_AFTER => {
            diesel::update(idempotency_keys::table.find((caller, key)))
                .set(idempotency_keys::created_at.eq(now))
                .execute(conn)?;
            Ok(Claim::New)
        }
        _ => Ok(Claim::InProgress),
    }
}

/// Stores the answer, if the claim made at `claimed_at` still holds; returns whether it did. Run
/// it in the same transaction as the work, so that the work and its answer are kept together or
/// not at all: a request whose abandoned claim a retry took over must roll its work back.
pub fn complete(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    claimed_at: NaiveDateTime,
    answer: &StoredAnswer,
) -> QueryResult<bool> {
    let updated = diesel::update(
        idempotency_keys::table
            .find((caller, key))
            .filter(idempotency_keys::created_at.eq(claimed_at))
            .filter(idempotency_keys::response_status.is_null()),
    )
    .set((
        idempotency_keys::response_status.eq(i64::from(answer.status)),
        idempotency_keys::response_headers.eq(&answer.headers),
        idempotency_keys::response_body.eq(&answer.body),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Forgets every key claimed before `before`: answered ones whose retention has passed, and
/// claims abandoned long ago. A retry with such a key is a new request. Returns how many went.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)
}

/// Forgets the claim made at `claimed_at` after its work failed, so that a corrected retry may use
/// the key again; a claim a retry took over meanwhile stays.
pub fn release(conn: &mut DbConnection, caller: &str, key: &str, claimed_at: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(
        idempotency_keys::table
            .find((caller, key))
            .filter(idempotency_keys::created_at.eq(claimed_at))
            .filter(idempotency_keys::response_status.is_null()),
    )
    .execute(conn)
    .map(|_| ())
}
