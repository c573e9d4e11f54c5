//! The indicators a contract follows (IATI pattern): one row per (indicator, level, place) with
//! its optional baseline, and its targets per period. Periods and values are kept as the
//! canonical text of `Period` and `DecimalValue`, and read back typed.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::schema::{communes, contract_communes, contract_epcis, contract_indicator_targets, contract_indicators};
use super::stored::{NullableText, stored_uuid};
use super::{DbConnection, versioned};
use crate::domain::indicators::{DecimalValue, GeoLevel, Period};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contract_indicators, treat_none_as_null = true)]
pub struct ContractIndicatorRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    pub indicator: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub geo_level: GeoLevel,
    pub geo_code: String,
    /// Set together with `baseline_value`, or neither is.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub baseline_period: Option<Period>,
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub baseline_value: Option<DecimalValue>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_indicator_targets)]
pub struct TargetRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_indicator_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub period: Period,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub value: DecimalValue,
}

versioned!(ContractIndicatorRow);

/// A followed indicator with its targets, by period.
pub type Followed = (ContractIndicatorRow, Vec<TargetRow>);

fn targets_of(conn: &mut DbConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Vec<TargetRow>>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<TargetRow> = contract_indicator_targets::table
        .filter(contract_indicator_targets::contract_indicator_id.eq_any(ids))
        .order((contract_indicator_targets::contract_indicator_id, contract_indicator_targets::period))
        .select(TargetRow::as_select())
        .load(conn)?;
    let mut out: HashMap<Uuid, Vec<TargetRow>> = HashMap::new();
    for row in rows {
        out.entry(row.contract_indicator_id).or_default().push(row);
    }
    Ok(out)
}

/// The rows, in their order, each with its targets.
fn with_targets(conn: &mut DbConnection, rows: Vec<ContractIndicatorRow>) -> QueryResult<Vec<Followed>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut targets = targets_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let targets = targets.remove(&row.id).unwrap_or_default();
            (row, targets)
        })
        .collect())
}

/// Every indicator the contract follows, by indicator, level and place, with its targets.
pub fn list(conn: &mut DbConnection, contract: &ScopedContract) -> QueryResult<Vec<Followed>> {
    let rows = contract_indicators::table
        .filter(contract_indicators::contract_id.eq(contract.id()))
        .order((contract_indicators::indicator, contract_indicators::geo_level, contract_indicators::geo_code))
        .select(ContractIndicatorRow::as_select())
        .load(conn)?;
    with_targets(conn, rows)
}

pub fn find(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<Followed>> {
    let row = contract_indicators::table
        .filter(contract_indicators::contract_id.eq(contract.id()))
        .filter(contract_indicators::id.eq(id.to_string()))
        .select(ContractIndicatorRow::as_select())
        .first(conn)
        .optional()?;
    Ok(with_targets(conn, row.into_iter().collect())?.pop())
}

/// Whether the contract already follows this indicator at this place.
pub fn already_followed(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    indicator: &str,
    geo_level: GeoLevel,
    geo_code: &str,
) -> QueryResult<bool> {
    let followed = contract_indicators::table
        .filter(contract_indicators::contract_id.eq(contract.id()))
        .filter(contract_indicators::indicator.eq(indicator))
        .filter(contract_indicators::geo_level.eq(geo_level.as_str()))
        .filter(contract_indicators::geo_code.eq(geo_code));
    diesel::select(exists(followed)).get_result(conn)
}

/// Whether the contract's perimeter covers the commune `insee`: named in it, or a member of one
/// of its EPCI.
pub fn covers_commune(conn: &mut DbConnection, contract_id: &str, insee: &str) -> QueryResult<bool> {
    let named = contract_communes::table
        .filter(contract_communes::contract_id.eq(contract_id))
        .filter(contract_communes::insee.eq(insee));
    let epci_of_commune =
        communes::table.filter(communes::insee.eq(insee.to_owned())).select(communes::epci_siren.assume_not_null());
    let through_epci = contract_epcis::table
        .filter(contract_epcis::contract_id.eq(contract_id))
        .filter(contract_epcis::epci_siren.eq_any(epci_of_commune));
    diesel::select(exists(named).or(exists(through_epci))).get_result(conn)
}

/// Whether the contract's perimeter reaches the EPCI `siren`: named in it, or the EPCI of one of
/// the communes it names.
pub fn reaches_epci(conn: &mut DbConnection, contract_id: &str, siren: &str) -> QueryResult<bool> {
    let named = contract_epcis::table
        .filter(contract_epcis::contract_id.eq(contract_id))
        .filter(contract_epcis::epci_siren.eq(siren));
    let named_communes = contract_communes::table
        .filter(contract_communes::contract_id.eq(contract_id))
        .select(contract_communes::insee);
    let member = communes::table.filter(communes::insee.eq_any(named_communes)).filter(communes::epci_siren.eq(siren));
    diesel::select(exists(named).or(exists(member))).get_result(conn)
}

fn write_targets(conn: &mut DbConnection, id: Uuid, targets: &[TargetRow]) -> QueryResult<()> {
    let of_this = contract_indicator_targets::contract_indicator_id.eq(id.to_string());
    diesel::delete(contract_indicator_targets::table.filter(of_this)).execute(conn)?;
    // At most 40 rows: one statement each keeps to what both backends insert alike.
    for target in targets {
        diesel::insert_into(contract_indicator_targets::table).values(target.clone()).execute(conn)?;
    }
    Ok(())
}

/// Adds a followed indicator, with its targets, to `contract`.
pub fn insert(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &ContractIndicatorRow,
    targets: &[TargetRow],
) -> QueryResult<()> {
    let row = ContractIndicatorRow { contract_id: stored_uuid(contract.id())?, ..row.clone() };
    diesel::insert_into(contract_indicators::table).values(row.clone()).execute(conn)?;
    write_targets(conn, row.id, targets)
}

/// Writes a followed indicator of `contract`, and replaces its targets when `targets` is given.
pub fn update(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &ContractIndicatorRow,
    targets: Option<&[TargetRow]>,
) -> QueryResult<()> {
    let followed = contract_indicators::table.filter(contract_indicators::contract_id.eq(contract.id()));
    diesel::update(followed.filter(contract_indicators::id.eq(row.id.to_string()))).set(row.clone()).execute(conn)?;
    if let Some(targets) = targets {
        write_targets(conn, row.id, targets)?;
    }
    Ok(())
}

/// Removes a followed indicator of `contract` and its targets.
pub fn delete(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let followed = contract_indicators::table.filter(contract_indicators::contract_id.eq(contract.id()));
    if diesel::delete(followed.filter(contract_indicators::id.eq(id.to_string()))).execute(conn)? == 1 {
        // The foreign key cascades too; said here so the rule does not hang on a pragma.
        write_targets(conn, id, &[])?;
    }
    Ok(())
}
