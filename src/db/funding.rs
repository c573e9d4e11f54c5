//! Funding commitments, their yearly amounts, schedule lines and payments. A commitment is reached
//! through its contract, so the contract's scope decides who sees it.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::{ContractRow, ScopedContract, find as find_contract};
use super::schema::{
    funding_commitments, funding_continuations, funding_evidence, funding_years, payments, schedule_lines,
};
use super::stored::rfc3339_json;
use super::{DbConnection, versioned};
use crate::auth::Scope;
use crate::domain::funding::{
    Basis, CommitmentStatus, LineKind, LineStatus, Origin, Programme, ScheduleRule, format_month_day,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = funding_commitments, treat_none_as_null = true)]
pub struct CommitmentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub payee_id: Uuid,
    #[diesel(deserialize_as = crate::db::stored::NullableText, serialize_as = crate::db::stored::NullableText)]
    pub equipment_id: Option<Uuid>,
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
    #[diesel(embed)]
    pub rule: StoredRule,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

versioned!(CommitmentRow);

/// The schedule rule of a commitment in its three columns, as [`ScheduleRule::from_text`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = funding_commitments)]
pub struct StoredRule {
    advance_percent: i64,
    advance_splits: String,
    balance_due: String,
}

impl StoredRule {
    /// The rule; `None` when a stored part of it is out of range.
    pub fn read(&self) -> Option<ScheduleRule> {
        ScheduleRule::from_text(self.advance_percent, &self.advance_splits, &self.balance_due)
    }
}

impl From<&ScheduleRule> for StoredRule {
    fn from(rule: &ScheduleRule) -> Self {
        Self {
            advance_percent: i64::from(rule.advance_percent),
            advance_splits: rule.splits_text(),
            balance_due: format_month_day(rule.balance_due),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = schedule_lines, treat_none_as_null = true)]
pub struct LineRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub commitment_id: Uuid,
    pub year: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: LineKind,
    pub due_on: NaiveDate,
    pub amount_cents: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: LineStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Why the line exists, when the schedule alone does not say it (a recovery).
    pub reason: Option<String>,
}

/// Money paid on a schedule line; it never changes once recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = payments)]
#[schema(as = PaymentView)]
pub struct PaymentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub commitment_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub schedule_line_id: Uuid,
    pub year: i64,
    pub paid_on: NaiveDate,
    /// Negative for a recovery of an overpayment.
    pub amount_cents: i64,
    pub reference: String,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
}

/// What sums need of a commitment: what it funds, where the money comes from, how many places.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = funding_commitments)]
pub struct CommitmentProgramme {
    #[diesel(deserialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String)]
    pub programme: Programme,
    #[diesel(deserialize_as = String)]
    pub status: CommitmentStatus,
    #[diesel(deserialize_as = String)]
    pub basis: Basis,
    #[diesel(deserialize_as = String)]
    pub origin: Origin,
    pub units: Option<i64>,
    #[diesel(deserialize_as = crate::db::stored::NullableText)]
    pub equipment_id: Option<Uuid>,
}

/// What sums need of a schedule line, without the dates and timestamps whose parsing dominates
/// reading many lines.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = schedule_lines)]
pub struct LineAmount {
    #[diesel(deserialize_as = String)]
    pub commitment_id: Uuid,
    pub year: i64,
    pub amount_cents: i64,
    #[diesel(deserialize_as = String)]
    pub status: LineStatus,
}

/// The stored form of some ids, for `IN (…)`.
fn texts(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

/// The commitment `id` and its contract, if the contract is in `scope`.
pub fn find(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> QueryResult<Option<(CommitmentRow, ContractRow)>> {
    let Some(commitment) =
        funding_commitments::table.find(id.to_string()).select(CommitmentRow::as_select()).first(conn).optional()?
    else {
        return Ok(None);
    };
    Ok(find_contract(conn, scope, &commitment.contract_id.to_string())?.map(|contract| (commitment, contract)))
}

pub fn list(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<CommitmentRow>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq_any(contract_ids))
        .order((funding_commitments::contract_id, funding_commitments::created_at, funding_commitments::id))
        .select(CommitmentRow::as_select())
        .load(conn)
}

/// The programme and status of the commitments of some contracts: what sums need.
pub fn programmes(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<CommitmentProgramme>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq_any(contract_ids))
        .select(CommitmentProgramme::as_select())
        .load(conn)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = funding_years)]
struct YearRow {
    #[diesel(deserialize_as = String)]
    commitment_id: Uuid,
    year: i64,
    #[diesel(embed)]
    figures: YearFigures,
}

/// What one year of a commitment holds: the amount committed, the forecast entitlement the
/// advances are computed from, and the actual entitlement the balance settles, once known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = funding_years)]
pub struct YearFigures {
    pub amount_cents: i64,
    pub forecast_cents: Option<i64>,
    pub actual_cents: Option<i64>,
}

impl YearFigures {
    /// The year's figures as the schedule's rules read them.
    pub fn entitlement(self) -> crate::domain::schedule::Entitlement {
        crate::domain::schedule::Entitlement {
            committed: self.amount_cents,
            forecast: self.forecast_cents,
            actual: self.actual_cents,
        }
    }
}

/// The figures of each year of each commitment, by year.
pub fn year_figures(
    conn: &mut DbConnection,
    commitment_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, BTreeMap<i64, YearFigures>>> {
    let rows: Vec<YearRow> = funding_years::table
        .filter(funding_years::commitment_id.eq_any(texts(commitment_ids)))
        .select(YearRow::as_select())
        .load(conn)?;
    let mut out: HashMap<Uuid, BTreeMap<i64, YearFigures>> = HashMap::new();
    for row in rows {
        out.entry(row.commitment_id).or_default().insert(row.year, row.figures);
    }
    Ok(out)
}

/// The figures of each year of one commitment, by year.
pub fn year_figures_of(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<BTreeMap<i64, YearFigures>> {
    Ok(year_figures(conn, &[commitment_id])?.remove(&commitment_id).unwrap_or_default())
}

/// The yearly amounts of each commitment, by year.
pub fn years(conn: &mut DbConnection, commitment_ids: &[Uuid]) -> QueryResult<HashMap<Uuid, BTreeMap<i64, i64>>> {
    Ok(year_figures(conn, commitment_ids)?
        .into_iter()
        .map(|(id, years)| (id, years.into_iter().map(|(year, figures)| (year, figures.amount_cents)).collect()))
        .collect())
}

/// Records the forecast and actual entitlement of one year of a commitment.
pub fn set_entitlement(
    conn: &mut DbConnection,
    commitment_id: Uuid,
    year: i64,
    forecast_cents: Option<i64>,
    actual_cents: Option<i64>,
) -> QueryResult<()> {
    diesel::update(
        funding_years::table
            .filter(funding_years::commitment_id.eq(commitment_id.to_string()))
            .filter(funding_years::year.eq(year)),
    )
    .set((funding_years::forecast_cents.eq(forecast_cents), funding_years::actual_cents.eq(actual_cents)))
    .execute(conn)
    .map(|_| ())
}

/// Links a commitment to the commitments it continues (a bonus territoire to the CEJ's).
pub fn link_continuations(conn: &mut DbConnection, commitment_id: Uuid, continues: &[Uuid]) -> QueryResult<()> {
    for continued in continues {
        diesel::insert_into(funding_continuations::table)
            .values((
                funding_continuations::commitment_id.eq(commitment_id.to_string()),
                funding_continuations::continues_id.eq(continued.to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The commitments each of some commitments continues, in the order of their ids.
pub fn continuations(conn: &mut DbConnection, commitment_ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows: Vec<(String, String)> = funding_continuations::table
        .filter(funding_continuations::commitment_id.eq_any(texts(commitment_ids)))
        .order((funding_continuations::commitment_id, funding_continuations::continues_id))
        .select((funding_continuations::commitment_id, funding_continuations::continues_id))
        .load(conn)?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, continued) in rows {
        let (Ok(id), Ok(continued)) = (id.parse(), continued.parse()) else {
            return Err(diesel::result::Error::DeserializationError("a stored commitment id is not a UUID".into()));
        };
        out.entry(id).or_default().push(continued);
    }
    Ok(out)
}

/// The yearly amounts of one commitment, by year.
pub fn years_of(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<BTreeMap<i64, i64>> {
    Ok(years(conn, &[commitment_id])?.remove(&commitment_id).unwrap_or_default())
}

/// The contract a commitment belongs to, before any scope is known: the write pipeline locks that
/// contract, then reads the commitment through it with [`find_in`].
pub fn contract_of(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<Option<String>> {
    funding_commitments::table
        .find(commitment_id.to_string())
        .select(funding_commitments::contract_id)
        .first(conn)
        .optional()
}

/// The commitment `id` of `contract`.
pub fn find_in(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<CommitmentRow>> {
    funding_commitments::table
        .filter(funding_commitments::contract_id.eq(contract.id()))
        .filter(funding_commitments::id.eq(id.to_string()))
        .select(CommitmentRow::as_select())
        .first(conn)
        .optional()
}

/// Writes the yearly amounts of a commitment: a year no longer named goes, with its
/// entitlements; a year kept keeps its forecast and actual entitlement.
fn write_years(conn: &mut DbConnection, commitment_id: Uuid, years: &BTreeMap<i64, i64>) -> QueryResult<()> {
    let commitment_id = commitment_id.to_string();
    let of_commitment = funding_years::table.filter(funding_years::commitment_id.eq(&commitment_id));
    diesel::delete(of_commitment.filter(funding_years::year.ne_all(years.keys().copied().collect::<Vec<_>>())))
        .execute(conn)?;
    let kept: Vec<i64> = of_commitment.select(funding_years::year).load(conn)?;
    for (year, amount) in years {
        if kept.contains(year) {
            diesel::update(of_commitment.filter(funding_years::year.eq(year)))
                .set(funding_years::amount_cents.eq(amount))
                .execute(conn)?;
        } else {
            diesel::insert_into(funding_years::table)
                .values((
                    funding_years::commitment_id.eq(&commitment_id),
                    funding_years::year.eq(year),
                    funding_years::amount_cents.eq(amount),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Adds a commitment of `contract`, with its yearly amounts; a row naming another contract is
/// not written.
pub fn insert(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &CommitmentRow,
    years: &BTreeMap<i64, i64>,
) -> QueryResult<()> {
    if row.contract_id.to_string() != contract.id() {
        return Err(diesel::result::Error::NotFound);
    }
    diesel::insert_into(funding_commitments::table).values(row.clone()).execute(conn)?;
    insert_years(conn, row.id, years)
}

/// The years of a new commitment, in one statement: a signature creates dozens of commitments
/// in its transaction, and on PostgreSQL every statement is a round trip.
fn insert_years(conn: &mut DbConnection, commitment_id: Uuid, years: &BTreeMap<i64, i64>) -> QueryResult<()> {
    let commitment_id = commitment_id.to_string();
    let rows: Vec<_> = years
        .iter()
        .map(|(&year, &amount)| {
            (
                funding_years::commitment_id.eq(commitment_id.clone()),
                funding_years::year.eq(year),
                funding_years::amount_cents.eq(amount),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Multi-row INSERTs are rendered by each backend, not by the multi-connection enum.
    match conn {
        DbConnection::Pg(pg) => diesel::insert_into(funding_years::table).values(rows).execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(funding_years::table).values(rows).execute(sqlite)?,
    };
    Ok(())
}

/// Writes a commitment of `contract` (and its years when given), under the contract's lock.
pub fn update(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    row: &CommitmentRow,
    years: Option<&BTreeMap<i64, i64>>,
) -> QueryResult<()> {
    let of_contract = funding_commitments::table.filter(funding_commitments::contract_id.eq(contract.id()));
    diesel::update(of_contract.filter(funding_commitments::id.eq(row.id.to_string())))
        .set(row.clone())
        .execute(conn)?;
    if let Some(years) = years {
        write_years(conn, row.id, years)?;
    }
    Ok(())
}

/// Deletes a commitment of `contract` that has no payment, with its years and schedule.
pub fn delete(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<()> {
    let of_contract = funding_commitments::table.filter(funding_commitments::contract_id.eq(contract.id()));
    let Some(id) = of_contract
        .filter(funding_commitments::id.eq(id.to_string()))
        .select(funding_commitments::id)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(());
    };
    diesel::delete(schedule_lines::table.filter(schedule_lines::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_years::table.filter(funding_years::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_evidence::table.filter(funding_evidence::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_continuations::table.filter(funding_continuations::commitment_id.eq(&id))).execute(conn)?;
    diesel::delete(funding_commitments::table.filter(funding_commitments::id.eq(&id))).execute(conn).map(|_| ())
}

pub fn lines(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<Vec<LineRow>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq(commitment_id.to_string()))
        .order((schedule_lines::year, schedule_lines::due_on, schedule_lines::kind, schedule_lines::id))
        .select(LineRow::as_select())
        .load(conn)
}

/// The amounts of every schedule line of some commitments: what sums need.
pub fn line_amounts(conn: &mut DbConnection, commitment_ids: &[Uuid]) -> QueryResult<Vec<LineAmount>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq_any(texts(commitment_ids)))
        .select(LineAmount::as_select())
        .load(conn)
}

pub fn find_line(conn: &mut DbConnection, commitment_id: Uuid, id: Uuid) -> QueryResult<Option<LineRow>> {
    schedule_lines::table
        .filter(schedule_lines::commitment_id.eq(commitment_id.to_string()))
        .filter(schedule_lines::id.eq(id.to_string()))
        .select(LineRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces the schedule of one year: deletes `remove` (lines without payments) and inserts `add`.
pub fn replace_lines(conn: &mut DbConnection, remove: &[Uuid], add: Vec<LineRow>) -> QueryResult<()> {
    if !remove.is_empty() {
        diesel::delete(schedule_lines::table.filter(schedule_lines::id.eq_any(texts(remove)))).execute(conn)?;
    }
    for line in add {
        diesel::insert_into(schedule_lines::table).values(line).execute(conn)?;
    }
    Ok(())
}

/// Cancels lines without payments: a settled year keeps them as its record.
pub fn cancel_lines(conn: &mut DbConnection, ids: &[Uuid], at: NaiveDateTime) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(schedule_lines::table.filter(schedule_lines::id.eq_any(texts(ids))))
        .set((schedule_lines::status.eq(LineStatus::Cancelled.as_str()), schedule_lines::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Gives lines a new amount and the status that goes with what was paid on them.
pub fn resize_lines(conn: &mut DbConnection, lines: &[(Uuid, i64, LineStatus)], at: NaiveDateTime) -> QueryResult<()> {
    for (id, amount, status) in lines {
        diesel::update(schedule_lines::table.filter(schedule_lines::id.eq(id.to_string())))
            .set((
                schedule_lines::amount_cents.eq(amount),
                schedule_lines::status.eq(status.as_str()),
                schedule_lines::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_line_status(conn: &mut DbConnection, id: Uuid, status: LineStatus, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(schedule_lines::table.filter(schedule_lines::id.eq(id.to_string())))
        .set((schedule_lines::status.eq(status.as_str()), schedule_lines::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Paid totals of some commitments: by (commitment, year) and by schedule line.
#[derive(Debug, Default)]
pub struct PaidTotals {
    pub by_year: HashMap<(Uuid, i64), i64>,
    pub by_line: HashMap<Uuid, i64>,
}

/// What totals need of a payment.
#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
struct PaidAmount {
    #[diesel(deserialize_as = String)]
    commitment_id: Uuid,
    #[diesel(deserialize_as = String)]
    schedule_line_id: Uuid,
    year: i64,
    amount_cents: i64,
}

pub fn paid_totals(conn: &mut DbConnection, commitment_ids: &[Uuid]) -> QueryResult<PaidTotals> {
    let rows: Vec<PaidAmount> = payments::table
        .filter(payments::commitment_id.eq_any(texts(commitment_ids)))
        .select(PaidAmount::as_select())
        .load(conn)?;
    let mut totals = PaidTotals::default();
    for row in rows {
        *totals.by_year.entry((row.commitment_id, row.year)).or_default() += row.amount_cents;
        *totals.by_line.entry(row.schedule_line_id).or_default() += row.amount_cents;
    }
    Ok(totals)
}

/// How a payment's creation time is written in the cursor of a list of payments.
const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// Where a list of payments continues after `row`: payments are listed by creation, then id.
pub fn payment_cursor(row: &PaymentRow) -> String {
    format!("{}|{}", row.created_at.format(CURSOR_TIME), row.id)
}

/// Up to `limit` payments of a commitment after the [`payment_cursor`] `after`, oldest first.
pub fn payments(
    conn: &mut DbConnection,
    commitment_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PaymentRow>> {
    let mut query = payments::table
        .filter(payments::commitment_id.eq(commitment_id.to_string()))
        .order((payments::created_at, payments::id))
        .limit(limit)
        .select(PaymentRow::as_select())
        .into_boxed();
    let cursor = after.and_then(|cursor| cursor.split_once('|'));
    if let Some((at, id)) = cursor
        && let Ok(at) = NaiveDateTime::parse_from_str(at, CURSOR_TIME)
    {
        query = query
            .filter(payments::created_at.gt(at).or(payments::created_at.eq(at).and(payments::id.gt(id.to_owned()))));
    }
    query.load(conn)
}

pub fn count_payments(conn: &mut DbConnection, commitment_id: Uuid) -> QueryResult<i64> {
    payments::table.filter(payments::commitment_id.eq(commitment_id.to_string())).count().get_result(conn)
}

/// Records a payment on `commitment`, read through `contract` (as the write pipeline hands it
/// over): the payment must name that commitment, and the commitment belong to that contract.
/// Both are checked on the rows in hand, without reading the commitment again.
pub fn insert_payment(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    commitment: &CommitmentRow,
    row: &PaymentRow,
) -> QueryResult<()> {
    if row.commitment_id != commitment.id || commitment.contract_id.to_string() != contract.id() {
        return Err(diesel::result::Error::NotFound);
    }
    diesel::insert_into(payments::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Where the payee or equipment of some commitment is used, for delete guards.
pub fn commitments_using(
    conn: &mut DbConnection,
    payee_id: Option<Uuid>,
    equipment_id: Option<Uuid>,
) -> QueryResult<i64> {
    let mut query = funding_commitments::table.into_boxed();
    if let Some(payee_id) = payee_id {
        query = query.filter(funding_commitments::payee_id.eq(payee_id.to_string()));
    }
    if let Some(equipment_id) = equipment_id {
        query = query.filter(funding_commitments::equipment_id.eq(equipment_id.to_string()));
    }
    query.count().get_result(conn)
}

pub fn find_payment(conn: &mut DbConnection, commitment_id: Uuid, id: Uuid) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::commitment_id.eq(commitment_id.to_string()))
        .filter(payments::id.eq(id.to_string()))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()
}

/// What was paid on one year of a commitment: in total, and on one of its lines.
pub fn paid_in_year(conn: &mut DbConnection, commitment_id: Uuid, year: i64, line_id: Uuid) -> QueryResult<(i64, i64)> {
    let rows: Vec<(String, i64)> = payments::table
        .filter(payments::commitment_id.eq(commitment_id.to_string()))
        .filter(payments::year.eq(year))
        .select((payments::schedule_line_id, payments::amount_cents))
        .load(conn)?;
    let line_id = line_id.to_string();
    let year_paid = rows.iter().map(|(_, amount)| amount).sum();
    let line_paid = rows.iter().filter(|(line, _)| *line == line_id).map(|(_, amount)| amount).sum();
    Ok((year_paid, line_paid))
}
