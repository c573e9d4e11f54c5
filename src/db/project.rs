//! The project of territory around a contract: its shared diagnostic (one per contract) and its
//! committees, evaluations and the commitments of its parties. Lists are TEXT holding JSON, read and written through [`JsonText`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::schema::{contract_diagnostics, contract_evaluations, contract_meetings, contract_party_commitments};
use super::stored::{JoinedCodes, JsonText, NullableText, rfc3339_json, stored_uuid};
use super::{DbConnection, versioned};
use crate::domain::contract::Field;
use crate::domain::project::{Assessment, EvaluationKind, MeetingKind};

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

/// How far one of the contract's axes reached what it aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AxisAssessment {
    /// An axis of the contract.
    pub axis_id: Uuid,
    pub assessment: Assessment,
    pub comment: Option<String>,
}

/// How far one of the contract's actions reached what it aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionAssessment {
    /// An action of the contract.
    pub action_id: Uuid,
    pub assessment: Assessment,
    pub comment: Option<String>,
}

/// A yearly review or the final evaluation of a contract.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_evaluations, treat_none_as_null = true)]
#[schema(as = EvaluationView)]
pub struct EvaluationRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: EvaluationKind,
    /// The year a yearly review reviews; absent for the final evaluation.
    #[schema(example = 2025)]
    pub year: Option<i64>,
    pub held_on: NaiveDate,
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub axes: Vec<AxisAssessment>,
    #[diesel(deserialize_as = JsonText, serialize_as = JsonText)]
    pub actions: Vec<ActionAssessment>,
    pub summary: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(EvaluationRow);

/// The evaluations of a contract, by date.
pub fn evaluations(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<EvaluationRow>> {
    contract_evaluations::table
        .filter(contract_evaluations::contract_id.eq(contract.id()))
        .order((contract_evaluations::held_on, contract_evaluations::id))
        .select(EvaluationRow::as_select())
        .load(conn)
}

pub fn find_evaluation(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    id: Uuid,
) -> QueryResult<Option<EvaluationRow>> {
    contract_evaluations::table
        .filter(contract_evaluations::contract_id.eq(contract.id()))
        .filter(contract_evaluations::id.eq(id.to_string()))
        .select(EvaluationRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_evaluation(conn: &mut DbConnection, contract: &ScopedContract, row: &EvaluationRow) -> QueryResult<()> {
    let row = EvaluationRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_evaluations::table).values(row).execute(conn).map(|_| ())
}

/// Writes an evaluation of `contract`, whose lock the caller holds.
pub fn update_evaluation(conn: &mut DbConnection, contract: &ScopedContract, row: &EvaluationRow) -> QueryResult<()> {
    let evaluations = contract_evaluations::table.filter(contract_evaluations::contract_id.eq(contract.id()));
    diesel::update(evaluations.filter(contract_evaluations::id.eq(row.id.to_string())))
        .set(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn delete_evaluation(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let evaluations = contract_evaluations::table.filter(contract_evaluations::contract_id.eq(contract.id()));
    diesel::delete(evaluations.filter(contract_evaluations::id.eq(id.to_string()))).execute(conn).map(|_| ())
}

/// What a party of the contract commits to besides money.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = contract_party_commitments, treat_none_as_null = true, treat_none_as_default_value = false)]
#[schema(as = PartyCommitmentView)]
pub struct PartyCommitmentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    /// A party of the contract (the id under `/parties`).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub party_id: Uuid,
    /// One of the contract's fields, when the commitment is about one.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub field: Option<Field>,
    #[schema(example = "Mettre à disposition un chargé de coopération")]
    pub text: String,
    /// Whether this is the CAF's engineering support (its staff and expertise).
    pub engineering_support: bool,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(PartyCommitmentRow);

/// The commitments of a contract's parties, by party then date of recording.
pub fn party_commitments(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<PartyCommitmentRow>> {
    contract_party_commitments::table
        .filter(contract_party_commitments::contract_id.eq(contract.id()))
        .order((
            contract_party_commitments::party_id,
            contract_party_commitments::created_at,
            contract_party_commitments::id,
        ))
        .select(PartyCommitmentRow::as_select())
        .load(conn)
}

pub fn find_party_commitment(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    id: Uuid,
) -> QueryResult<Option<PartyCommitmentRow>> {
    contract_party_commitments::table
        .filter(contract_party_commitments::contract_id.eq(contract.id()))
        .filter(contract_party_commitments::id.eq(id.to_string()))
        .select(PartyCommitmentRow::as_select())
        .first(conn)
        .optional()
}

/// How many commitments the party `party_id` of `contract` has made.
pub fn commitments_of_party(conn: &mut DbConnection, contract: &ScopedContract, party_id: Uuid) -> QueryResult<i64> {
    contract_party_commitments::table
        .filter(contract_party_commitments::contract_id.eq(contract.id()))
        .filter(contract_party_commitments::party_id.eq(party_id.to_string()))
        .count()
        .get_result(conn)
}

pub fn insert_party_commitment(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &PartyCommitmentRow,
) -> QueryResult<()> {
    let row = PartyCommitmentRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_party_commitments::table).values(row).execute(conn).map(|_| ())
}

/// Writes a commitment of a party of `contract`, whose lock the caller holds.
pub fn update_party_commitment(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &PartyCommitmentRow,
) -> QueryResult<()> {
    let rows = contract_party_commitments::table.filter(contract_party_commitments::contract_id.eq(contract.id()));
    diesel::update(rows.filter(contract_party_commitments::id.eq(row.id.to_string())))
        .set(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn delete_party_commitment(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let rows = contract_party_commitments::table.filter(contract_party_commitments::contract_id.eq(contract.id()));
    diesel::delete(rows.filter(contract_party_commitments::id.eq(id.to_string()))).execute(conn).map(|_| ())
}
