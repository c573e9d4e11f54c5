//! The history of every contract: who changed what, when, before and after. The write pipeline
//! (`crate::write`) records an [`Entry`] in the transaction of every change to a contract or one
//! of its parts, so no change can skip it; recording it also appends it to the change feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::DbConnection;
use super::events::NewEvent;
use super::schema::contract_history;
use super::stored::rfc3339_json;
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

/// One change to a contract or one of its parts, as the history route answers it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = contract_history)]
#[schema(as = HistoryEntryView)]
pub struct EntryRow {
    /// Increases with every change recorded.
    #[serde(rename = "sequence")]
    pub id: i64,
    #[serde(skip)]
    pub contract_id: String,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub at: NaiveDateTime,
    #[diesel(embed)]
    pub actor: Actor,
    /// `created`, `updated`, `deleted`, `transitioned` or `amended`.
    pub action: String,
    /// `contract`, `party`, `axis`, `action`, …
    pub resource: String,
    #[diesel(deserialize_as = String)]
    pub resource_id: Uuid,
    pub reason: Option<String>,
    /// The resource before the change (`null` for a creation).
    #[serde(serialize_with = "recorded_json")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub before: Option<String>,
    /// The resource after the change (`null` for a deletion).
    #[serde(serialize_with = "recorded_json")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub after: Option<String>,
}

/// Who made a change.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = contract_history)]
pub struct Actor {
    /// The token's `sub`.
    #[diesel(column_name = actor_sub)]
    pub sub: String,
    #[diesel(column_name = actor_role)]
    pub role: String,
}

/// A resource as the history keeps it, in JSON text, answered as the JSON it holds; text that does
/// not read as JSON is answered `null`, as the route always has.
#[allow(clippy::ref_option, reason = "serde hands `serialize_with` the field itself")]
fn recorded_json<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    let value: Option<Value> = text.as_deref().and_then(|text| serde_json::from_str(text).ok());
    value.serialize(serializer)
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
    let mut events = vec![event(entry.resource, entry.action.as_str(), entry.resource_id, after.clone())];
    if let Some((version, updated_at)) = entry.touched {
        let touched =
            serde_json::json!({"id": entry.contract_id, "version": version, "updated_at": super::rfc3339(updated_at)});
        events.push(event("contract", "touched", entry.contract_id, Some(touched.to_string())));
    }
    super::events::record_all(conn, &events)?;
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
