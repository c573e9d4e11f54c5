//! Amendments (avenants): drafted, then numbered and immutable once every signatory it concerns
//! has signed, with the amended part of the contract before and after.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::DbConnection;
use super::contracts::ScopedContract;
use super::schema::{amendment_drafts, contract_amendments};
use super::stored::{JsonText, stored_uuid};
use crate::domain::amendments::Signature;

/// A recorded amendment, with what it changed and the amended terms before and after in JSON text.
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
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub signatures: Vec<Signature>,
}

/// An amendment still gathering signatures: what it asks for, in JSON text, and who signed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = amendment_drafts)]
pub struct DraftRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    pub effective_on: NaiveDate,
    pub rationale: String,
    pub changes: String,
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub signatures: Vec<Signature>,
    /// The number of the last amendment signed when it was drafted (0 for none).
    pub based_on: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
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

/// The amendments of a contract signed after amendment `number`.
pub fn signed_after(conn: &mut DbConnection, contract: &ScopedContract, number: i64) -> QueryResult<Vec<AmendmentRow>> {
    contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract.id()))
        .filter(contract_amendments::number.gt(number))
        .order(contract_amendments::number)
        .select(AmendmentRow::as_select())
        .load(conn)
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

/// The drafts of a contract, oldest first.
pub fn drafts(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<DraftRow>> {
    amendment_drafts::table
        .filter(amendment_drafts::contract_id.eq(contract.id()))
        .order((amendment_drafts::created_at, amendment_drafts::id))
        .select(DraftRow::as_select())
        .load(conn)
}

pub fn find_draft(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<DraftRow>> {
    amendment_drafts::table
        .filter(amendment_drafts::contract_id.eq(contract.id()))
        .filter(amendment_drafts::id.eq(id.to_string()))
        .select(DraftRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_draft(conn: &mut DbConnection, contract: &ScopedContract, row: &DraftRow) -> QueryResult<()> {
    let row = DraftRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(amendment_drafts::table).values(row).execute(conn).map(|_| ())
}

/// Stores the signatures a draft has gathered.
pub fn update_draft(conn: &mut DbConnection, contract: &ScopedContract, row: &DraftRow) -> QueryResult<()> {
    diesel::update(amendment_drafts::table)
        .filter(amendment_drafts::contract_id.eq(contract.id()))
        .filter(amendment_drafts::id.eq(row.id.to_string()))
        .set((
            amendment_drafts::signatures.eq(JsonText::from(row.signatures.clone())),
            amendment_drafts::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes a draft: abandoned, or become an amendment under the same id.
pub fn delete_draft(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    diesel::delete(amendment_drafts::table)
        .filter(amendment_drafts::contract_id.eq(contract.id()))
        .filter(amendment_drafts::id.eq(id.to_string()))
        .execute(conn)
        .map(|_| ())
}
