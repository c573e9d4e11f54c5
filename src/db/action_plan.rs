//! The action plan of a contract: its axes (priorities) and actions (fiches actions).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::contracts::touch;
use super::history::{self, Change};
use super::schema::{contract_actions, contract_axes};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contract_axes, treat_none_as_null = true)]
pub struct AxisRow {
    pub id: String,
    pub contract_id: String,
    pub code: String,
    pub title: String,
    pub field: Option<String>,
    pub position: i64,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contract_actions, treat_none_as_null = true)]
pub struct ActionRow {
    pub id: String,
    pub contract_id: String,
    pub axis_id: Option<String>,
    pub code: String,
    pub title: String,
    pub objective: Option<String>,
    pub field: Option<String>,
    pub pilot_organisation_id: Option<String>,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub status: String,
    pub estimated_budget_cents: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn axes(conn: &mut DbConnection, contract_id: &str) -> QueryResult<Vec<AxisRow>> {
    contract_axes::table
        .filter(contract_axes::contract_id.eq(contract_id))
        .order((contract_axes::position, contract_axes::code))
        .select(AxisRow::as_select())
        .load(conn)
}

pub fn find_axis(conn: &mut DbConnection, contract_id: &str, id: &str) -> QueryResult<Option<AxisRow>> {
    contract_axes::table
        .filter(contract_axes::contract_id.eq(contract_id))
        .filter(contract_axes::id.eq(id))
        .select(AxisRow::as_select())
        .first(conn)
        .optional()
}

pub fn code_taken_by_axis(
    conn: &mut DbConnection,
    contract_id: &str,
    code: &str,
    except_id: Option<&str>,
) -> QueryResult<bool> {
    let mut query = contract_axes::table
        .filter(contract_axes::contract_id.eq(contract_id))
        .filter(contract_axes::code.eq(code.to_owned()))
        .into_boxed();
    if let Some(id) = except_id {
        query = query.filter(contract_axes::id.ne(id.to_owned()));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

pub fn actions_of_axis(conn: &mut DbConnection, axis_id: &str) -> QueryResult<i64> {
    contract_actions::table.filter(contract_actions::axis_id.eq(axis_id)).count().get_result(conn)
}

pub fn actions(
    conn: &mut DbConnection,
    contract_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ActionRow>> {
    let mut query = contract_actions::table
        .filter(contract_actions::contract_id.eq(contract_id))
        .order(contract_actions::code)
        .limit(limit)
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(contract_actions::code.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find_action(conn: &mut DbConnection, contract_id: &str, id: &str) -> QueryResult<Option<ActionRow>> {
    contract_actions::table
        .filter(contract_actions::contract_id.eq(contract_id))
        .filter(contract_actions::id.eq(id))
        .select(ActionRow::as_select())
        .first(conn)
        .optional()
}

pub fn code_taken_by_action(
    conn: &mut DbConnection,
    contract_id: &str,
    code: &str,
    except_id: Option<&str>,
) -> QueryResult<bool> {
    let mut query = contract_actions::table
        .filter(contract_actions::contract_id.eq(contract_id))
        .filter(contract_actions::code.eq(code.to_owned()))
        .into_boxed();
    if let Some(id) = except_id {
        query = query.filter(contract_actions::id.ne(id.to_owned()));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

pub fn insert_axis(conn: &mut DbConnection, row: &AxisRow, change: &Change<'_>) -> QueryResult<()> {
    diesel::insert_into(contract_axes::table).values(row).execute(conn)?;
    touch(conn, &row.contract_id, row.updated_at)?;
    history::record(conn, &row.contract_id, row.updated_at, change)
}

pub fn update_axis(
    conn: &mut DbConnection,
    row: &AxisRow,
    expected_version: i64,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        contract_axes::table.filter(contract_axes::id.eq(&row.id)).filter(contract_axes::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    history::after_versioned_write(conn, updated, &row.contract_id, row.updated_at, change)
}

pub fn delete_axis(
    conn: &mut DbConnection,
    row: &AxisRow,
    expected_version: i64,
    at: NaiveDateTime,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        contract_axes::table.filter(contract_axes::id.eq(&row.id)).filter(contract_axes::version.eq(expected_version)),
    )
    .execute(conn)?;
    history::after_versioned_write(conn, deleted, &row.contract_id, at, change)
}

pub fn insert_action(conn: &mut DbConnection, row: &ActionRow, change: &Change<'_>) -> QueryResult<()> {
    diesel::insert_into(contract_actions::table).values(row).execute(conn)?;
    touch(conn, &row.contract_id, row.updated_at)?;
    history::record(conn, &row.contract_id, row.updated_at, change)
}

pub fn update_action(
    conn: &mut DbConnection,
    row: &ActionRow,
    expected_version: i64,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        contract_actions::table
            .filter(contract_actions::id.eq(&row.id))
            .filter(contract_actions::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    history::after_versioned_write(conn, updated, &row.contract_id, row.updated_at, change)
}

pub fn delete_action(
    conn: &mut DbConnection,
    row: &ActionRow,
    expected_version: i64,
    at: NaiveDateTime,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        contract_actions::table
            .filter(contract_actions::id.eq(&row.id))
            .filter(contract_actions::version.eq(expected_version)),
    )
    .execute(conn)?;
    history::after_versioned_write(conn, deleted, &row.contract_id, at, change)
}
