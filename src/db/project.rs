//! The project of territory around a contract: its shared diagnostic (one per contract) and its
//! committees. Lists are TEXT holding JSON, read and written through [`JsonText`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::schema::{contract_diagnostics, contract_meetings};
use super::stored::{JoinedCodes, JsonText, rfc3339_json, stored_uuid};
use super::{DbConnection, versioned};
use crate::domain::contract::Field;
use crate::domain::project::MeetingKind;

/// What the diagnostic found about one of the fields it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// One of the fields the diagnostic covers.
    pub field: Field,
    #[schema(example = "Moins d'une place d'accueil pour deux enfants de moins de 3 ans")]
    pub text: String,
}

/// The shared diagnostic a contract rests on: who led it, when, what it covered and found.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_diagnostics, treat_none_as_null = true)]
#[schema(as = DiagnosticView)]
pub struct DiagnosticRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    pub started_on: NaiveDate,
    /// Absent while it is under way.
    pub completed_on: Option<NaiveDate>,
    /// The organisations that led it, each a party of the contract.
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub led_by: Vec<Uuid>,
    /// The fields it covered, in code order.
    #[diesel(deserialize_as = JoinedCodes, serialize_as = JoinedCodes)]
    pub fields: Vec<Field>,
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub findings: Vec<Finding>,
    /// The needs it identified.
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub needs: Vec<String>,
    /// The codes of the catalogue indicators it relied on.
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub indicators: Vec<String>,
    /// The observations it relied on, as text.
    pub observations: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

/// A steering (COPIL), technical (COTECH) or thematic committee of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_meetings, treat_none_as_null = true)]
#[schema(as = MeetingView)]
pub struct MeetingRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: MeetingKind,
    /// Within the contract's period.
    pub held_on: NaiveDate,
    #[schema(example = "COPIL annuel 2025")]
    pub title: String,
    /// The organisations present, each a party of the contract.
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub present: Vec<Uuid>,
    /// What it decided, in order.
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub decisions: Vec<String>,
    pub notes: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(DiagnosticRow, MeetingRow);

pub fn find_diagnostic(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Option<DiagnosticRow>> {
    contract_diagnostics::table
        .filter(contract_diagnostics::contract_id.eq(contract.id()))
        .select(DiagnosticRow::as_select())
        .first(conn)
        .optional()
}

/// Writes the diagnostic of `contract`, whose lock the caller holds: inserted when `exists` is
/// false, else replaced.
pub fn put_diagnostic(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &DiagnosticRow,
    exists: bool,
) -> QueryResult<()> {
    let row = DiagnosticRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    if exists {
        diesel::update(contract_diagnostics::table.filter(contract_diagnostics::contract_id.eq(contract.id())))
            .set(row)
            .execute(conn)
            .map(|_| ())
    } else {
        diesel::insert_into(contract_diagnostics::table).values(row).execute(conn).map(|_| ())
    }
}

pub fn delete_diagnostic(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<()> {
    diesel::delete(contract_diagnostics::table.filter(contract_diagnostics::contract_id.eq(contract.id())))
        .execute(conn)
        .map(|_| ())
}

/// The committees of a contract, by date.
pub fn meetings(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<MeetingRow>> {
    contract_meetings::table
        .filter(contract_meetings::contract_id.eq(contract.id()))
        .order((contract_meetings::held_on, contract_meetings::id))
        .select(MeetingRow::as_select())
        .load(conn)
}

pub fn find_meeting(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<MeetingRow>> {
    contract_meetings::table
        .filter(contract_meetings::contract_id.eq(contract.id()))
        .filter(contract_meetings::id.eq(id.to_string()))
        .select(MeetingRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_meeting(conn: &mut DbConnection, contract: &ScopedContract, row: &MeetingRow) -> QueryResult<()> {
    let row = MeetingRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_meetings::table).values(row).execute(conn).map(|_| ())
}

/// Writes a meeting of `contract`, whose lock the caller holds.
pub fn update_meeting(conn: &mut DbConnection, contract: &ScopedContract, row: &MeetingRow) -> QueryResult<()> {
    let meetings = contract_meetings::table.filter(contract_meetings::contract_id.eq(contract.id()));
    diesel::update(meetings.filter(contract_meetings::id.eq(row.id.to_string())))
        .set(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn delete_meeting(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let meetings = contract_meetings::table.filter(contract_meetings::contract_id.eq(contract.id()));
    diesel::delete(meetings.filter(contract_meetings::id.eq(id.to_string()))).execute(conn).map(|_| ())
}
