//! The parties of a contract: who signs, funds, pays, receives, pilots or is associated.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::contracts::touch;
use super::history::{self, Change};
use super::organisations::OrganisationRow;
use super::schema::{contract_parties, organisations};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contract_parties, treat_none_as_null = true)]
pub struct PartyRow {
    pub id: String,
    pub contract_id: String,
    pub organisation_id: String,
    pub roles: String,
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The parties of a contract with their organisations, by organisation name.
pub fn list(conn: &mut DbConnection, contract_id: &str) -> QueryResult<Vec<(PartyRow, OrganisationRow)>> {
    contract_parties::table
        .inner_join(organisations::table)
        .filter(contract_parties::contract_id.eq(contract_id))
        .order((organisations::name, contract_parties::id))
        .select((PartyRow::as_select(), OrganisationRow::as_select()))
        .load(conn)
}

pub fn find(conn: &mut DbConnection, contract_id: &str, id: &str) -> QueryResult<Option<(PartyRow, OrganisationRow)>> {
    contract_parties::table
        .inner_join(organisations::table)
        .filter(contract_parties::contract_id.eq(contract_id))
        .filter(contract_parties::id.eq(id))
        .select((PartyRow::as_select(), OrganisationRow::as_select()))
        .first(conn)
        .optional()
}

pub fn is_party(conn: &mut DbConnection, contract_id: &str, organisation_id: &str) -> QueryResult<bool> {
    let count: i64 = contract_parties::table
        .filter(contract_parties::contract_id.eq(contract_id))
        .filter(contract_parties::organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub fn insert(conn: &mut DbConnection, row: &PartyRow, change: &Change<'_>) -> QueryResult<()> {
    diesel::insert_into(contract_parties::table).values(row).execute(conn)?;
    touch(conn, &row.contract_id, row.updated_at)?;
    history::record(conn, &row.contract_id, row.updated_at, change)
}

pub fn update(
    conn: &mut DbConnection,
    row: &PartyRow,
    expected_version: i64,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        contract_parties::table
            .filter(contract_parties::id.eq(&row.id))
            .filter(contract_parties::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    history::after_versioned_write(conn, updated, &row.contract_id, row.updated_at, change)
}

pub fn delete(
    conn: &mut DbConnection,
    row: &PartyRow,
    expected_version: i64,
    at: NaiveDateTime,
    change: &Change<'_>,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        contract_parties::table
            .filter(contract_parties::id.eq(&row.id))
            .filter(contract_parties::version.eq(expected_version)),
    )
    .execute(conn)?;
    history::after_versioned_write(conn, deleted, &row.contract_id, at, change)
}
