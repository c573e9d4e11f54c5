//! The action plan of a contract: its axes (priorities) and actions (fiches actions).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::schema::{contract_actions, contract_axes};
use super::stored::{NullableText, rfc3339_json, stored_uuid};
use super::{DbConnection, versioned};
use crate::domain::contract::{ActionStatus, Field};

/// A priority of the action plan, which actions belong to.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_axes, treat_none_as_null = true, treat_none_as_default_value = false)]
#[schema(as = AxisView)]
pub struct AxisRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[schema(example = "A1")]
    pub code: String,
    pub title: String,
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub field: Option<Field>,
    pub position: i64,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

/// An action (fiche action) of the plan, under an axis or none.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_actions, treat_none_as_null = true, treat_none_as_default_value = false)]
#[schema(as = ActionView)]
pub struct ActionRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub axis_id: Option<Uuid>,
    #[schema(example = "A1.3")]
    pub code: String,
    pub title: String,
    pub objective: Option<String>,
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub field: Option<Field>,
    /// The organisation leading the action; a party of the contract.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub pilot_organisation_id: Option<Uuid>,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ActionStatus,
    pub estimated_budget_cents: Option<i64>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(AxisRow, ActionRow);

pub fn axes(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<AxisRow>> {
    contract_axes::table
        .filter(contract_axes::contract_id.eq(contract.id()))
        .order((contract_axes::position, contract_axes::code))
        .select(AxisRow::as_select())
        .load(conn)
}

pub fn find_axis(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<AxisRow>> {
    contract_axes::table
        .filter(contract_axes::contract_id.eq(contract.id()))
        .filter(contract_axes::id.eq(id.to_string()))
        .select(AxisRow::as_select())
        .first(conn)
        .optional()
}

pub fn actions_of_axis(conn: &mut DbConnection, axis_id: Uuid) -> QueryResult<i64> {
    contract_actions::table.filter(contract_actions::axis_id.eq(axis_id.to_string())).count().get_result(conn)
}

/// How many actions of the contract `organisation_id` pilots that are neither completed nor
/// abandoned.
pub fn running_actions_piloted_by(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    organisation_id: Uuid,
) -> QueryResult<i64> {
    contract_actions::table
        .filter(contract_actions::contract_id.eq(contract.id()))
        .filter(contract_actions::pilot_organisation_id.eq(organisation_id.to_string()))
        .filter(contract_actions::status.ne_all([ActionStatus::Completed.as_str(), ActionStatus::Abandoned.as_str()]))
        .count()
        .get_result(conn)
}

/// One page of the actions of a contract, by code.
pub fn actions(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ActionRow>> {
    let mut query = contract_actions::table
        .filter(contract_actions::contract_id.eq(contract.id()))
        .order(contract_actions::code)
        .limit(limit)
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(contract_actions::code.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find_action(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<ActionRow>> {
    contract_actions::table
        .filter(contract_actions::contract_id.eq(contract.id()))
        .filter(contract_actions::id.eq(id.to_string()))
        .select(ActionRow::as_select())
        .first(conn)
        .optional()
}

/// Adds an axis to `contract`.
pub fn insert_axis(conn: &mut DbConnection, contract: &ScopedContract, row: &AxisRow) -> QueryResult<()> {
    let row = AxisRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_axes::table).values(row).execute(conn).map(|_| ())
}

/// Writes an axis of `contract`, whose lock the caller holds.
pub fn update_axis(conn: &mut DbConnection, contract: &ScopedContract, row: &AxisRow) -> QueryResult<()> {
    let axes = contract_axes::table.filter(contract_axes::contract_id.eq(contract.id()));
    diesel::update(axes.filter(contract_axes::id.eq(row.id.to_string()))).set(row.clone()).execute(conn).map(|_| ())
}

pub fn delete_axis(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let axes = contract_axes::table.filter(contract_axes::contract_id.eq(contract.id()));
    diesel::delete(axes.filter(contract_axes::id.eq(id.to_string()))).execute(conn).map(|_| ())
}

/// Adds an action to `contract`.
pub fn insert_action(conn: &mut DbConnection, contract: &ScopedContract, row: &ActionRow) -> QueryResult<()> {
    let row = ActionRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_actions::table).values(row).execute(conn).map(|_| ())
}

/// Writes an action of `contract`, whose lock the caller holds.
pub fn update_action(conn: &mut DbConnection, contract: &ScopedContract, row: &ActionRow) -> QueryResult<()> {
    let actions = contract_actions::table.filter(contract_actions::contract_id.eq(contract.id()));
    diesel::update(actions.filter(contract_actions::id.eq(row.id.to_string())))
        .set(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn delete_action(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let actions = contract_actions::table.filter(contract_actions::contract_id.eq(contract.id()));
    diesel::delete(actions.filter(contract_actions::id.eq(id.to_string()))).execute(conn).map(|_| ())
}
