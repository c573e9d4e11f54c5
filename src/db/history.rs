//! The history of every contract: who changed what, when, before and after. Repository functions
//! that change a contract or one of its sub-resources take a [`Change`] and record it in the same
//! transaction, so no change can skip it; recording it also appends it to the change feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::DbConnection;
use super::events::NewEvent;
use super::schema::{contract_history, contracts};
use crate::auth::Caller;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Deleted,
    Transitioned,
    Amended,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Transitioned => "transitioned",
            Self::Amended => "amended",
        }
    }
}

/// A resource as the history keeps it: its API view as JSON.
pub fn snapshot(view: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_value(view).ok()
}

/// One change to record, built by the handler that makes it.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub caller: &'a Caller,
    pub action: Action,
    /// `contract`, `party`, `axis`, `action`, `amendment`, …
    pub resource: &'static str,
    pub resource_id: String,
    pub reason: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Insertable)]
#[diesel(table_name = contract_history)]
struct NewEntry<'a> {
    contract_id: &'a str,
    at: NaiveDateTime,
    actor_sub: &'a str,
    actor_role: &'a str,
    action: &'a str,
    resource: &'a str,
    resource_id: &'a str,
    reason: Option<&'a str>,
    before: Option<String>,
    after: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contract_history)]
pub struct EntryRow {
    pub id: i64,
    pub contract_id: String,
    pub at: NaiveDateTime,
    pub actor_sub: String,
    pub actor_role: String,
    pub action: String,
    pub resource: String,
    pub resource_id: String,
    pub reason: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Records the change in the contract's history and in the change feed. A change to a
/// sub-resource also moves the contract's version (its ETag covers its parts): the feed then
/// carries a `contract.touched` event with the contract's new `version` and `updated_at`, so a
/// copy of the contract kept from the feed stays exact.
pub fn record(conn: &mut DbConnection, contract_id: &str, at: NaiveDateTime, change: &Change<'_>) -> QueryResult<()> {
    let (department, version, updated_at): (String, i64, NaiveDateTime) = contracts::table
        .find(contract_id)
        .select((contracts::department, contracts::version, contracts::updated_at))
        .first(conn)?;
    let after = change.after.as_ref().map(Value::to_string);
    super::events::record(
        conn,
        &NewEvent {
            caller: change.caller,
            at,
            resource: change.resource,
            action: change.action.as_str(),
            resource_id: &change.resource_id,
            contract_id: Some(contract_id),
            department: Some(&department),
            body: after.clone(),
        },
    )?;
    if change.resource != "contract" {
        let touched =
            serde_json::json!({"id": contract_id, "version": version, "updated_at": super::rfc3339(updated_at)});
        super::events::record(
            conn,
            &NewEvent {
                caller: change.caller,
                at,
                resource: "contract",
                action: "touched",
                resource_id: contract_id,
                contract_id: Some(contract_id),
                department: Some(&department),
                body: Some(touched.to_string()),
            },
        )?;
    }
    diesel::insert_into(contract_history::table)
        .values(NewEntry {
            contract_id,
            at,
            actor_sub: &change.caller.subject,
            actor_role: change.caller.role.name(),
            action: change.action.as_str(),
            resource: change.resource,
            resource_id: &change.resource_id,
            reason: change.reason.as_deref(),
            before: change.before.as_ref().map(Value::to_string),
            after,
        })
        .execute(conn)?;
    Ok(())
}

/// Completes a versioned write to a contract's sub-resource: when it changed exactly one row, bumps
/// the contract's version and records the change; returns whether it did.
pub fn after_versioned_write(
    conn: &mut DbConnection,
    changed_rows: usize,
    contract_id: &str,
    at: NaiveDateTime,
    change: &Change<'_>,
) -> QueryResult<bool> {
    if changed_rows != 1 {
        return Ok(false);
    }
    super::contracts::touch(conn, contract_id, at)?;
    record(conn, contract_id, at, change)?;
    Ok(true)
}

/// The entries of one contract, oldest first. The caller checks the contract is in scope.
pub fn list(conn: &mut DbConnection, contract_id: &str, after: Option<i64>, limit: i64) -> QueryResult<Vec<EntryRow>> {
    let mut query = contract_history::table
        .filter(contract_history::contract_id.eq(contract_id))
        .select(EntryRow::as_select())
        .order(contract_history::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(contract_history::id.gt(after));
    }
    query.load(conn)
}
