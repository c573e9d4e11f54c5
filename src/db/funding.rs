//! Funding commitments, their yearly amounts, schedule lines and payments. A commitment is reached
//! through its contract, so the contract's scope decides who sees it.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::contracts::{ContractRow, ScopedContract, find as find_contract};
use super::schema::{funding_commitments, funding_years, payments, schedule_lines};
use super::{DbConnection, versioned};
use crate::auth::Scope;
use crate::domain::funding::{Basis, CommitmentStatus, LineKind, LineStatus, Origin, Programme};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = funding_commitments, treat_none_as_null = true)]
pub struct CommitmentRow {
    pub id: String,
    pub contract_id: String,
    pub payee_id: String,
    pub equipment_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub programme: Programme,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub basis: Basis,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub origin: Origin,
    pub unit_amount_cents: Option<i64>,
    pub units: Option<i64>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: CommitmentStatus,
    pub decision_date: Option<NaiveDate>,
    pub advance_percent: i64,
    pub advance_splits: String,
    pub balance_due: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

versioned!(CommitmentRow);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = schedule_lines, treat_none_as_null = true)]
pub struct LineRow {
    pub id: String,
    pub commitment_id: String,
    pub year: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: LineKind,
    pub due_on: NaiveDate,
    pub amount_cents: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: LineStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: String,
    pub commitment_id: String,
    pub schedule_line_id: String,
    pub year: i64,
    pub paid_on: NaiveDate,
    pub amount_cents: i64,
    pub reference: String,
    pub created_at: NaiveDateTime,
}

/// The commitment `id` and its contract, if the contract is in `scope`.
pub fn find(conn: &mut DbConnection, scope: &Scope, id: &str) -> QueryResult<Option<(CommitmentRow, ContractRow)>> {
    let Some(commitment) =
        funding_commitments::table.find(id).select(CommitmentRow::as_select()).first(conn).optional()?
    else {
        return Ok(None);
    };
    Ok(find_contract(conn, scope, &commitment.contract_id)?.map(|contract| (commitment, contract)))
}

pub fn list(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<CommitmentRow>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq_any(contract_ids))
        .order((funding_commitments::contract_id, funding_commitments::created_at, funding_commitments::id))
        .select(CommitmentRow::as_select())
        .load(conn)
}

/// (id, programme, status) of the commitments of some contracts: what sums need.
pub fn programmes(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<(String, String, String)>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq_any(contract_ids))
        .select((funding_commitments::id, funding_commitments::programme, funding_commitments::status))
        .load(conn)
}

/// The yearly amounts of each commitment, by year.
pub fn years(conn: &mut DbConnection, commitment_ids: &[String]) -> QueryResult<HashMap<String, BTreeMap<i64, i64>>> {
    let rows: Vec<(String, i64, i64)> = funding_years::table
        .filter(funding_years::commitment_id.eq_any(commitment_ids))
        .select((funding_years::commitment_id, funding_years::year, funding_years::amount_cents))
        .load(conn)?;
    let mut out: HashMap<String, BTreeMap<i64, i64>> = HashMap::new();
    for (id, year, amount) in rows {
        out.entry(id).or_default().insert(year, amount);
    }
    Ok(out)
}

/// The contract a commitment belongs to, before any scope is known: the write pipeline locks that
/// contract, then reads the commitment through it with [`find_in`].
pub fn contract_of(conn: &mut DbConnection, commitment_id: &str) -> QueryResult<Option<String>> {
    funding_commitments::table.find(commitment_id).select(funding_commitments::contract_id).first(conn).optional()
}

/// The commitment `id` of `contract`.
pub fn find_in(conn: &mut DbConnection, contract: &ScopedContract, id: &str) -> QueryResult<Option<CommitmentRow>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq(contract.id()))
        .filter(funding_commitments::id.eq(id))
        .select(CommitmentRow::as_select())
        .first(conn)
        .optional()
}

fn write_years(conn: &mut DbConnection, commitment_id: &str, years: &BTreeMap<i64, i64>) -> QueryResult<()> {
    diesel::delete(funding_years::table.filter(funding_years::commitment_id.eq(commitment_id))).execute(conn)?;
    for (year, amount) in years {
        diesel::insert_into(funding_years::table)
            .values((
                funding_years::commitment_id.eq(commitment_id),
                funding_years::year.eq(year),
                funding_years::amount_cents.eq(amount),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a commitment, with its yearly amounts, to `contract`.
pub fn insert(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &CommitmentRow,
    years: &BTreeMap<i64, i64>,
) -> QueryResult<()> {
    let row = CommitmentRow { contract_id: contract.id().to_owned(), ..row.clone() };
    diesel::insert_into(funding_commitments::table).values(row.clone()).execute(conn)?;
    write_years(conn, &row.id, years)
}

/// Writes a commitment of `contract` (and its years when given), under the contract's lock.
pub fn update(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &CommitmentRow,
    years: Option<&BTreeMap<i64, i64>>,
) -> QueryResult<()> {
    let of_contract = funding_commitments::table.filter(funding_commitments::contract_id.eq(contract.id()));
    diesel::update(of_contract.filter(funding_commitments::id.eq(&row.id))).set(row.clone()).execute(conn)?;
    if let Some(years) = years {
        write_years(conn, &row.id, years)?;
    }
    Ok(())
}

/// Deletes a commitment of `contract` that has no payment, with its years and schedule.
pub fn delete(conn: &mut DbConnection, contract: &ScopedContract, id: &str) -> QueryResult<()> {
    let of_contract = funding_commitments::table.filter(funding_commitments::contract_id.eq(contract.id()));
    let Some(id) = of_contract
        .filter(funding_commitments::id.eq(id))
        .select(funding_commitments::id)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(());
    };
    diesel::delete(schedule_lines::table.filter(schedule_lines::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_years::table.filter(funding_years::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_commitments::table.filter(funding_commitments::id.eq(&id))).execute(conn).map(|_| ())
}

pub fn lines(conn: &mut DbConnection, commitment_id: &str) -> QueryResult<Vec<LineRow>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq(commitment_id))
        .order((schedule_lines::year, schedule_lines::due_on, schedule_lines::kind, schedule_lines::id))
        .select(LineRow::as_select())
        .load(conn)
}

/// (commitment, year, amount, status) of every schedule line of some commitments: what sums need,
/// without the dates and timestamps whose parsing dominates reading many lines.
pub fn line_amounts(
    conn: &mut DbConnection,
    commitment_ids: &[String],
) -> QueryResult<Vec<(String, i64, i64, String)>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq_any(commitment_ids))
        .select((
            schedule_lines::commitment_id,
            schedule_lines::year,
            schedule_lines::amount_cents,
            schedule_lines::status,
        ))
        .load(conn)
}

pub fn find_line(conn: &mut DbConnection, commitment_id: &str, id: &str) -> QueryResult<Option<LineRow>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq(commitment_id))
        .filter(schedule_lines::id.eq(id))
        .select(LineRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces the schedule of one year: deletes `remove` (lines without payments) and inserts `add`.
pub fn replace_lines(conn: &mut DbConnection, remove: &[String], add: Vec<LineRow>) -> QueryResult<()> {
    if !remove.is_empty() {
        diesel::delete(schedule_lines::table.filter(schedule_lines::id.eq_any(remove))).execute(conn)?;
    }
    for line in add {
        diesel::insert_into(schedule_lines::table).values(line).execute(conn)?;
    }
    Ok(())
}

pub fn set_line_status(conn: &mut DbConnection, id: &str, status: LineStatus, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(schedule_lines::table.filter(schedule_lines::id.eq(id)))
        .set((schedule_lines::status.eq(status.as_str()), schedule_lines::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Paid totals of some commitments: by (commitment, year) and by schedule line.
#[derive(Debug, Default)]
pub struct PaidTotals {
    pub by_year: HashMap<(String, i64), i64>,
    pub by_line: HashMap<String, i64>,
}

pub fn paid_totals(conn: &mut DbConnection, commitment_ids: &[String]) -> QueryResult<PaidTotals> {
    let rows: Vec<(String, String, i64, i64)> = payments::table
        .filter(payments::commitment_id.eq_any(commitment_ids))
        .select((payments::commitment_id, payments::schedule_line_id, payments::year, payments::amount_cents))
        .load(conn)?;
    let mut totals = PaidTotals::default();
    for (commitment_id, line_id, year, amount) in rows {
        *totals.by_year.entry((commitment_id, year)).or_default() += amount;
        *totals.by_line.entry(line_id).or_default() += amount;
    }
    Ok(totals)
}

pub fn payments(
    conn: &mut DbConnection,
    commitment_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PaymentRow>> {
    let mut query = payments::table
        .filter(payments::commitment_id.eq(commitment_id))
        .order((payments::created_at, payments::id))
        .limit(limit)
        .select(PaymentRow::as_select())
        .into_boxed();
    let cursor = after.and_then(|cursor| cursor.split_once('|'));
    if let Some((at, id)) = cursor
        && let Ok(at) = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.6f")
    {
        query = query
            .filter(payments::created_at.gt(at).or(payments::created_at.eq(at).and(payments::id.gt(id.to_owned()))));
    }
    query.load(conn)
}

pub fn count_payments(conn: &mut DbConnection, commitment_id: &str) -> QueryResult<i64> {
    payments::table.filter(payments::commitment_id.eq(commitment_id)).count().get_result(conn)
}

/// Records a payment on a commitment of `contract`.
pub fn insert_payment(conn: &mut DbConnection, contract: &ScopedContract, row: &PaymentRow) -> QueryResult<()> {
    let Some(_) = find_in(conn, contract, &row.commitment_id)? else {
        return Err(diesel::result::Error::NotFound);
    };
    diesel::insert_into(payments::table).values(row).execute(conn).map(|_| ())
}

/// Where the payee or equipment of some commitment is used, for delete guards.
pub fn commitments_using(
    conn: &mut DbConnection,
    payee_id: Option<&str>,
    equipment_id: Option<&str>,
) -> QueryResult<i64> {
    let mut query = funding_commitments::table.into_boxed();
    if let Some(payee_id) = payee_id {
        query = query.filter(funding_commitments::payee_id.eq(payee_id.to_owned()));
    }
    if let Some(equipment_id) = equipment_id {
        query = query.filter(funding_commitments::equipment_id.eq(equipment_id.to_owned()));
    }
    query.count().get_result(conn)
}

pub fn find_payment(conn: &mut DbConnection, commitment_id: &str, id: &str) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::commitment_id.eq(commitment_id))
        .filter(payments::id.eq(id))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()
}

/// What was paid on one year of a commitment: in total, and on one of its lines.
pub fn paid_in_year(conn: &mut DbConnection, commitment_id: &str, year: i64, line_id: &str) -> QueryResult<(i64, i64)> {
    let rows: Vec<(String, i64)> = payments::table
        .filter(payments::commitment_id.eq(commitment_id))
        .filter(payments::year.eq(year))
        .select((payments::schedule_line_id, payments::amount_cents))
        .load(conn)?;
    let year_paid = rows.iter().map(|(_, amount)| amount).sum();
    let line_paid = rows.iter().filter(|(line, _)| line == line_id).map(|(_, amount)| amount).sum();
    Ok((year_paid, line_paid))
}
