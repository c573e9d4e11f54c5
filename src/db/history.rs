//! The history of every contract: who changed what, when, before and after. The write pipeline
//! (`crate::write`) records an [`Entry`] in the transaction of every change to a contract or one
//! of its parts, so no change can skip it; recording it also appends it to the change feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::DbConnection;
use super::events::NewEvent;
use super::schema::contract_history;
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

/// One entry of a contract's history, as the write pipeline records it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub contract_id: &'a str,
    pub department: &'a str,
    pub caller: &'a Caller,
    pub at: NaiveDateTime,
    pub action: Action,
    /// `contract`, `party`, `axis`, `action`, `amendment`, …
    pub resource: &'static str,
    pub resource_id: &'a str,
    pub reason: Option<&'a str>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The contract's new version and `updated_at` when a part of it changed: the feed then also
    /// carries `contract.touched`, so a copy of the contract kept from the feed stays exact.
    pub touched: Option<(i64, NaiveDateTime)>,
}

/// Records `entry` in the contract's history and in the change feed, in the caller's transaction.
pub fn record_entry(conn: &mut DbConnection, entry: &Entry<'_>) -> QueryResult<()> {
    let after = entry.after.as_ref().map(Value::to_string);
    let event = |resource, action, resource_id, body| NewEvent {
        caller: entry.caller,
        at: entry.at,
        resource,
        action,
        resource_id,
        contract_id: Some(entry.contract_id),
        department: Some(entry.department),
        body,
    };
    super::events::record(conn, &event(entry.resource, entry.action.as_str(), entry.resource_id, after.clone()))?;
    if let Some((version, updated_at)) = entry.touched {
        let touched =
            serde_json::json!({"id": entry.contract_id, "version": version, "updated_at": super::rfc3339(updated_at)});
        super::events::record(conn, &event("contract", "touched", entry.contract_id, Some(touched.to_string())))?;
    }
    diesel::insert_into(contract_history::table)
        .values(NewEntry {
            contract_id: entry.contract_id,
            at: entry.at,
            actor_sub: &entry.caller.subject,
            actor_role: entry.caller.role.name(),
            action: entry.action.as_str(),
            resource: entry.resource,
            resource_id: entry.resource_id,
            reason: entry.reason,
            before: entry.before.as_ref().map(Value::to_string),
            after,
        })
        .execute(conn)?;
    Ok(())
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
