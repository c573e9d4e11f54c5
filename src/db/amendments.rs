//! Amendments (avenants): numbered, immutable once recorded, with the amended part of the
//! contract before and after.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::DbConnection;
use super::contracts::ScopedContract;
use super::schema::contract_amendments;
use super::stored::stored_uuid;

/// An amendment, with what it changes and the amended terms before and after in JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_amendments)]
pub struct AmendmentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    pub number: i64,
    pub signed_on: NaiveDate,
    pub effective_on: NaiveDate,
    pub rationale: String,
    pub changes: String,
    pub before: String,
    pub after: String,
    pub created_at: NaiveDateTime,
}

pub fn list(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<AmendmentRow>> {
    contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract.id()))
        .order(contract_amendments::number)
        .select(AmendmentRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<AmendmentRow>> {
    contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract.id()))
        .filter(contract_amendments::id.eq(id.to_string()))
        .select(AmendmentRow::as_select())
        .first(conn)
        .optional()
}

pub fn next_number(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<i64> {
    let highest: Option<i64> = contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract.id()))
        .select(diesel::dsl::max(contract_amendments::number))
        .first(conn)?;
    Ok(highest.unwrap_or(0) + 1)
}

/// Stores an amendment of `contract`. The contract update it goes with records the history entry.
pub fn insert(conn: &mut DbConnection, contract: &ScopedContract, row: &AmendmentRow) -> QueryResult<()> {
    let row = AmendmentRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_amendments::table).values(row).execute(conn).map(|_| ())
}
