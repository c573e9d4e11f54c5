//! The parties of a contract: who signs, funds, pays, receives, pilots or is associated.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::organisations::OrganisationRow;
use super::schema::{contract_parties, organisations};
use super::stored::{JoinedCodes, stored_uuid};
use super::{DbConnection, versioned};
use crate::domain::contract::PartyRole;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contract_parties, treat_none_as_null = true)]
pub struct PartyRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub organisation_id: Uuid,
    /// Each role once, in code order.
    #[diesel(deserialize_as = JoinedCodes, serialize_as = JoinedCodes)]
    pub roles: Vec<PartyRole>,
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
    pub signed_on: Option<NaiveDate>,
    /// The second name a CAF signs with (its directeur, beside its président).
    pub second_signatory_name: Option<String>,
    pub second_signatory_title: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

versioned!(PartyRow);

/// The parties of a contract with their organisations, by organisation name.
pub fn list(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<(PartyRow, OrganisationRow)>> {
    contract_parties::table
        .inner_join(organisations::table)
        .filter(contract_parties::contract_id.eq(contract.id()))
        .order((organisations::name, contract_parties::id))
        .select((PartyRow::as_select(), OrganisationRow::as_select()))
        .load(conn)
}

pub fn find(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    id: Uuid,
) -> QueryResult<Option<(PartyRow, OrganisationRow)>> {
    contract_parties::table
        .inner_join(organisations::table)
        .filter(contract_parties::contract_id.eq(contract.id()))
        .filter(contract_parties::id.eq(id.to_string()))
        .select((PartyRow::as_select(), OrganisationRow::as_select()))
        .first(conn)
        .optional()
}

pub fn is_party(conn: &mut DbConnection, contract: &ScopedContract, organisation_id: Uuid) -> QueryResult<bool> {
    let count: i64 = contract_parties::table
        .filter(contract_parties::contract_id.eq(contract.id()))
        .filter(contract_parties::organisation_id.eq(organisation_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Adds a party to `contract`.
pub fn insert(conn: &mut DbConnection, contract: &ScopedContract, row: &PartyRow) -> QueryResult<()> {
    let row = PartyRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_parties::table).values(row).execute(conn).map(|_| ())
}

/// Writes a party of `contract`, whose lock the caller holds.
pub fn update(conn: &mut DbConnection, contract: &ScopedContract, row: &PartyRow) -> QueryResult<()> {
    let party = contract_parties::table.filter(contract_parties::contract_id.eq(contract.id()));
    diesel::update(party.filter(contract_parties::id.eq(row.id.to_string()))).set(row.clone()).execute(conn).map(|_| ())
}

pub fn delete(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let party = contract_parties::table.filter(contract_parties::contract_id.eq(contract.id()));
    diesel::delete(party.filter(contract_parties::id.eq(id.to_string()))).execute(conn).map(|_| ())
}
