//! The evidence behind the actual entitlement of a commitment's years, and the kinds each
//! programme requires. Evidence is reached through its commitment, so its contract's scope
//! decides who sees it.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::funding::CommitmentRow;
use super::schema::{evidence_requirements, funding_evidence};
use super::stored::rfc3339_json;
use super::{DbConnection, versioned};
use crate::domain::funding::{EvidenceKind, Programme};

/// A piece of evidence for one year of a commitment: received, then validated by the CAF.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = funding_evidence, treat_none_as_null = true)]
#[schema(as = EvidenceView)]
pub struct EvidenceRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub commitment_id: Uuid,
    /// One of the commitment's years.
    #[schema(example = 2025)]
    pub year: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: EvidenceKind,
    pub received_on: NaiveDate,
    /// Set by the CAF once it has checked the piece.
    pub validated_on: Option<NaiveDate>,
    /// The `sub` of whoever validated it, from their token.
    pub validated_by: Option<String>,
    pub note: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(EvidenceRow);

/// The evidence of a commitment, by year, kind, then date received.
pub fn list(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<Vec<EvidenceRow>> {
    funding_evidence::table
        .filter(funding_evidence::commitment_id.eq(commitment_id.to_string()))
        .order((funding_evidence::year, funding_evidence::kind, funding_evidence::received_on, funding_evidence::id))
        .select(EvidenceRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, commitment_id: Uuid, id: Uuid) -> QueryResult<Option<EvidenceRow>> {
    funding_evidence::table
        .filter(funding_evidence::commitment_id.eq(commitment_id.to_string()))
        .filter(funding_evidence::id.eq(id.to_string()))
        .select(EvidenceRow::as_select())
        .first(conn)
        .optional()
}

/// Whether `commitment`, read through `contract` (as the write pipeline hands it over), is the
/// one `row` names: checked on the rows in hand before any write.
fn belongs(contract: &ScopedContract, commitment: &CommitmentRow, row: &EvidenceRow) -> QueryResult<()> {
    if row.commitment_id != commitment.id || commitment.contract_id.to_string() != contract.id() {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

pub fn insert(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    commitment: &CommitmentRow,
    row: &EvidenceRow,
) -> QueryResult<()> {
    belongs(contract, commitment, row)?;
    diesel::insert_into(funding_evidence::table).values(row.clone()).execute(conn).map(|_| ())
}

pub fn update(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    commitment: &CommitmentRow,
    row: &EvidenceRow,
) -> QueryResult<()> {
    belongs(contract, commitment, row)?;
    diesel::update(
        funding_evidence::table
            .filter(funding_evidence::commitment_id.eq(commitment.id.to_string()))
            .filter(funding_evidence::id.eq(row.id.to_string())),
    )
    .set(row.clone())
    .execute(conn)
    .map(|_| ())
}

pub fn delete(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    commitment: &CommitmentRow,
    row: &EvidenceRow,
) -> QueryResult<()> {
    belongs(contract, commitment, row)?;
    diesel::delete(
        funding_evidence::table
            .filter(funding_evidence::commitment_id.eq(commitment.id.to_string()))
            .filter(funding_evidence::id.eq(row.id.to_string())),
    )
    .execute(conn)
    .map(|_| ())
}

/// What the rules need of a piece of evidence.
#[derive(Queryable, Selectable)]
#[diesel(table_name = funding_evidence)]
struct EvidenceStage {
    #[diesel(deserialize_as = String)]
    commitment_id: Uuid,
    year: i64,
    #[diesel(deserialize_as = String)]
    kind: EvidenceKind,
    validated_on: Option<NaiveDate>,
}

/// The kind of each piece received for a (commitment, year), with whether it is validated.
pub type YearKinds = HashMap<(Uuid, i64), Vec<(EvidenceKind, bool)>>;

/// The kinds of evidence received for each (commitment, year), each with whether a piece of it
/// is validated.
pub fn kinds(conn: &mut DbConnection, commitment_ids: &[Uuid]) -> QueryResult<YearKinds> {
    let ids: Vec<String> = commitment_ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<EvidenceStage> = funding_evidence::table
        .filter(funding_evidence::commitment_id.eq_any(ids))
        .select(EvidenceStage::as_select())
        .load(conn)?;
    let mut out: YearKinds = HashMap::new();
    for row in rows {
        out.entry((row.commitment_id, row.year)).or_default().push((row.kind, row.validated_on.is_some()));
    }
    Ok(out)
}

/// The kinds of evidence each programme requires, by programme; a programme that requires none
/// has no entry.
pub fn requirements(conn: &mut DbConnection) -> QueryResult<BTreeMap<Programme, Vec<EvidenceKind>>> {
    let rows: Vec<(String, String)> = evidence_requirements::table
        .select((evidence_requirements::programme, evidence_requirements::kind))
        .load(conn)?;
    let mut out: BTreeMap<Programme, Vec<EvidenceKind>> = BTreeMap::new();
    for (programme, kind) in rows {
        let (Some(programme), Some(kind)) = (Programme::parse(&programme), EvidenceKind::parse(&kind)) else {
            return Err(diesel::result::Error::DeserializationError(
                format!("evidence requirement ({programme}, {kind}) is not a known programme and kind").into(),
            ));
        };
        out.entry(programme).or_default().push(kind);
    }
    for kinds in out.values_mut() {
        kinds.sort_by_key(|kind| EvidenceKind::ALL.iter().position(|known| known == kind));
    }
    Ok(out)
}

/// The kinds of evidence `programme` requires, in the order of [`EvidenceKind::ALL`].
pub fn required_for(conn: &mut DbConnection, programme: Programme) -> QueryResult<Vec<EvidenceKind>> {
    let stored: Vec<String> = evidence_requirements::table
        .filter(evidence_requirements::programme.eq(programme.as_str()))
        .select(evidence_requirements::kind)
        .load(conn)?;
    Ok(EvidenceKind::ALL.iter().copied().filter(|kind| stored.iter().any(|text| text == kind.as_str())).collect())
}

/// Replaces the kinds `programme` requires.
pub fn replace_requirements(conn: &mut DbConnection, programme: Programme, kinds: &[EvidenceKind]) -> QueryResult<()> {
    diesel::delete(evidence_requirements::table.filter(evidence_requirements::programme.eq(programme.as_str())))
        .execute(conn)?;
    for kind in kinds {
        diesel::insert_into(evidence_requirements::table)
            .values((
                evidence_requirements::programme.eq(programme.as_str()),
                evidence_requirements::kind.eq(kind.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
