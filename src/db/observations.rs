//! Observed values of indicators per territory and period. Values are exact decimals kept as
//! text; a suppressed value is NULL, never 0.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::DbConnection;
use super::schema::{communes, departments, epcis, indicators, observations};
use super::stored::rfc3339_json;
use crate::domain::indicators::{GeoLevel, Periodicity};
use crate::domain::observations::{IndicatorRule, ObservationOrigin, Places, Territory, ValidRow};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = observations, treat_none_as_default_value = false)]
#[schema(as = ObservationView)]
pub struct ObservationRow {
    pub indicator: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub geo_level: GeoLevel,
    pub geo_code: String,
    /// `2024` or `2024-Q2`.
    #[schema(example = "2024")]
    pub period: String,
    /// Exact decimal as a string; null when suppressed for statistical secrecy (never 0).
    #[schema(example = "57.3")]
    pub value: Option<String>,
    pub suppressed: bool,
    pub source: String,
    /// The vintage of the value (provisional, final…), as the source names it.
    pub millesime: Option<String>,
    /// The bulk ingestion that last wrote this observation.
    pub ingest_id: String,
    /// The line of the ingested file it came from: for reporting repeated keys, never answered.
    #[serde(skip)]
    pub ingest_line: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
    /// Who published it: the official figure, or the collectivity's own beside it.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub origin: ObservationOrigin,
}

/// The observations of one origin, of one indicator at one place for the given periods, in
/// period order.
pub fn for_periods(
    conn: &mut DbConnection,
    origin: ObservationOrigin,
    indicator: &str,
    geo_level: GeoLevel,
    geo_code: &str,
    periods: &[String],
) -> QueryResult<Vec<ObservationRow>> {
    observations::table
        .filter(observations::origin.eq(origin.as_str()))
        .filter(observations::indicator.eq(indicator))
        .filter(observations::geo_level.eq(geo_level.as_str()))
        .filter(observations::geo_code.eq(geo_code))
        .filter(observations::period.eq_any(periods))
        .order(observations::period)
        .select(ObservationRow::as_select())
        .load(conn)
}

/// What rows need to know of each indicator of the catalogue.
pub fn indicator_rules(conn: &mut DbConnection) -> QueryResult<HashMap<String, IndicatorRule>> {
    let rows: Vec<(String, String, String)> =
        indicators::table.select((indicators::code, indicators::geo_level, indicators::periodicity)).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(code, level, periodicity)| {
            let rule =
                IndicatorRule { geo_level: GeoLevel::parse(&level)?, periodicity: Periodicity::parse(&periodicity)? };
            Some((code, rule))
        })
        .collect())
}

/// Every commune, EPCI and département of the reference, for checking a file's codes in memory.
pub fn places(conn: &mut DbConnection) -> QueryResult<Places> {
    let communes: Vec<(String, String, Option<String>, Option<String>)> = communes::table
        .select((communes::insee, communes::department, communes::siren, communes::epci_siren))
        .load(conn)?;
    let mut places = Places::default();
    for siren in epcis::table.select(epcis::siren).load::<String>(conn)? {
        places.epcis.insert(siren, Vec::new());
    }
    places.departments = departments::table.select(departments::code).load::<String>(conn)?.into_iter().collect();
    for (insee, department, siren, epci) in communes {
        if let Some(found) = epci.and_then(|epci| places.epcis.get_mut(&epci))
            && !found.contains(&department)
        {
            found.push(department.clone());
        }
        places.communes.insert(insee, (department, siren));
    }
    Ok(places)
}

/// Whether one of `sirens` is a commune or an EPCI of the reference.
pub fn names_a_place(conn: &mut DbConnection, sirens: &[String]) -> QueryResult<bool> {
    let communes: i64 = communes::table.filter(communes::siren.eq_any(sirens.to_vec())).count().get_result(conn)?;
    if communes > 0 {
        return Ok(true);
    }
    let epcis: i64 = epcis::table.filter(epcis::siren.eq_any(sirens.to_vec())).count().get_result(conn)?;
    Ok(epcis > 0)
}

/// What every row of one ingestion shares.
#[derive(Debug, Clone, Copy)]
pub struct Ingestion<'a> {
    pub id: &'a str,
    pub at: NaiveDateTime,
    pub origin: ObservationOrigin,
}

/// What one ingestion did to the stored observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Rows under a key the table did not hold for that origin.
    pub inserted: u64,
    /// Rows that replaced the observation of the same origin under the same key.
    pub updated: u64,
}

/// SQLite: inserts the rows of the attached `staging` file (see `db::run_write_beside`), or
/// replaces the observation of the same origin already stored under the same key, in one
/// statement: SQLite copies from file to file in key order, several times faster than bound
/// batches, which keeps the write lock short (an `UPDATE … FROM` then an insert of the missing
/// keys, as on PostgreSQL, took twice as long). The table is counted before and after, which
/// SQLite does from its index pages.
pub fn upsert_staged(conn: &mut DbConnection, ingestion: Ingestion<'_>) -> QueryResult<Written> {
    let count = |conn: &mut DbConnection| -> QueryResult<u64> {
        let rows: i64 = observations::table.count().get_result(conn)?;
        Ok(u64::try_from(rows).unwrap_or(0))
    };
    let before = count(conn)?;
    // `WHERE true` settles SQLite's parsing of ON CONFLICT after a SELECT.
    let written = diesel::sql_query(
        "INSERT INTO observations (indicator, geo_level, geo_code, period, value, suppressed, source, millesime, \
         ingest_line, ingest_id, updated_at, origin) \
         SELECT indicator, geo_level, geo_code, period, value, suppressed, source, millesime, line, ?, ?, ? \
         FROM staging.rows WHERE true \
         ON CONFLICT (indicator, geo_level, geo_code, period, origin) DO UPDATE SET value = excluded.value, \
         suppressed = excluded.suppressed, source = excluded.source, millesime = excluded.millesime, \
         ingest_id = excluded.ingest_id, ingest_line = excluded.ingest_line, updated_at = excluded.updated_at",
    )
    .bind::<Text, _>(ingestion.id)
    .bind::<Timestamp, _>(ingestion.at)
    .bind::<Text, _>(ingestion.origin.as_str())
    .execute(conn)?;
    let inserted = count(conn)?.saturating_sub(before);
    let written = u64::try_from(written).unwrap_or(u64::MAX);
    Ok(Written { inserted, updated: written.saturating_sub(inserted) })
}

/// PostgreSQL: writes every row of `observations_incoming` as `ingestion`: first replaces the
/// observations of the same origin already stored under one of its keys, then inserts the rows
/// whose key is still missing. Two set statements rather than one `INSERT … ON CONFLICT`, which
/// checks for a conflict row by row before each insertion and took 1.6 times as long for a first
/// file of a million rows; the counts come out of the statements, where counting the table before
/// and after would read all of it twice. The caller holds the bulk writers' lock
/// (`ingest::apply`), and nothing else writes observations, so no key can appear between the two.
fn update_then_insert_incoming(pg: &mut PgConnection, ingestion: Ingestion<'_>) -> QueryResult<Written> {
    const SAME_KEY: &str = "observations.indicator = incoming.indicator AND observations.geo_level = incoming.geo_level \
         AND observations.geo_code = incoming.geo_code AND observations.period = incoming.period \
         AND observations.origin = $3";
    let updated = diesel::sql_query(format!(
        "UPDATE observations SET value = incoming.value, suppressed = incoming.suppressed, \
         source = incoming.source, millesime = incoming.millesime, ingest_id = $1, ingest_line = incoming.line, \
         updated_at = $2 FROM observations_incoming AS incoming WHERE {SAME_KEY}"
    ))
    .bind::<Text, _>(ingestion.id)
    .bind::<Timestamp, _>(ingestion.at)
    .bind::<Text, _>(ingestion.origin.as_str())
    .execute(pg)?;
    let inserted = diesel::sql_query(format!(
        "INSERT INTO observations (indicator, geo_level, geo_code, period, value, suppressed, source, millesime, \
         ingest_line, ingest_id, updated_at, origin) \
         SELECT indicator, geo_level, geo_code, period, value, suppressed, source, millesime, line, $1, $2, $3 \
         FROM observations_incoming AS incoming WHERE NOT EXISTS (SELECT 1 FROM observations WHERE {SAME_KEY})"
    ))
    .bind::<Text, _>(ingestion.id)
    .bind::<Timestamp, _>(ingestion.at)
    .bind::<Text, _>(ingestion.origin.as_str())
    .execute(pg)?;
    let count = |rows: usize| u64::try_from(rows).unwrap_or(u64::MAX);
    Ok(Written { inserted: count(inserted), updated: count(updated) })
}

diesel::table! {
    /// The rows of one bulk file on their way in, on PostgreSQL: a temporary table of the
    /// transaction ([`copy_and_upsert`]), not part of the schema.
    observations_incoming (indicator, geo_level, geo_code, period) {
        indicator -> Text,
        geo_level -> Text,
        geo_code -> Text,
        period -> Text,
        value -> Nullable<Text>,
        suppressed -> Bool,
        source -> Text,
        millesime -> Nullable<Text>,
        line -> BigInt,
    }
}

/// PostgreSQL: streams `batches` into a temporary table with `COPY … FROM STDIN`, then writes
/// them all into observations with [`update_then_insert_incoming`]. COPY skips the per-statement parsing and
/// binding of batched INSERTs, and the set statements let PostgreSQL write the table and its index
/// in bulk. The temporary table goes with the transaction, committed or rolled back. Keys are
/// unique within `batches` (the staging file refuses a repeated one), so each row updates or
/// inserts one observation.
pub fn copy_and_upsert(
    conn: &mut DbConnection,
    batches: impl Iterator<Item = Vec<ValidRow>>,
    ingestion: Ingestion<'_>,
) -> QueryResult<Written> {
    use diesel::connection::SimpleConnection;
    let DbConnection::Pg(pg) = conn else {
        return Err(diesel::result::Error::QueryBuilderError("COPY is PostgreSQL's".into()));
    };
    pg.batch_execute(
        "CREATE TEMPORARY TABLE observations_incoming (indicator TEXT NOT NULL, geo_level TEXT NOT NULL, \
         geo_code TEXT NOT NULL, period TEXT NOT NULL, value TEXT, suppressed BOOLEAN NOT NULL, \
         source TEXT NOT NULL, millesime TEXT, line BIGINT NOT NULL) ON COMMIT DROP",
    )?;
    let batches = std::cell::RefCell::new(batches);
    diesel::copy_from(observations_incoming::table)
        .from_raw_data(observations_incoming::table, |out| {
            let mut text = Vec::new();
            for batch in &mut *batches.borrow_mut() {
                text.clear();
                for row in &batch {
                    copy_text_line(&mut text, row);
                }
                out.write_all(&text).map_err(super::copy::stream_error)?;
            }
            Ok::<(), diesel::result::Error>(())
        })
        .execute(pg)?;
    update_then_insert_incoming(pg, ingestion)
}

/// One row in COPY's text format, in the order of `observations_incoming`'s columns.
fn copy_text_line(out: &mut Vec<u8>, row: &ValidRow) {
    let line_number = row.line.to_string();
    super::copy::line(
        out,
        &[
            Some(row.indicator.as_str()),
            Some(row.geo_level.as_str()),
            Some(row.geo_code.as_str()),
            Some(row.period.as_str()),
            row.value.as_deref(),
            Some(if row.suppressed { "t" } else { "f" }),
            Some(row.source.as_str()),
            row.millesime.as_deref(),
            Some(&line_number),
        ],
    );
}

/// `(indicator, geo_level, geo_code, period, value, suppressed, source, millesime, line), (…)`:
/// the rows of a batch as bound values, in the order every INSERT of rows lists its columns.
pub fn push_rows<'b, DB>(out: &mut AstPass<'_, 'b, DB>, rows: &'b [ValidRow]) -> QueryResult<()>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Bool> + HasSqlType<BigInt> + HasSqlType<Nullable<Text>>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    i64: ToSql<BigInt, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    for (index, row) in rows.iter().enumerate() {
        out.push_sql(if index == 0 { "(" } else { ", (" });
        out.push_bind_param::<Text, str>(&row.indicator)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(row.geo_level.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&row.geo_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&row.period)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&row.value)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, bool>(&row.suppressed)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&row.source)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&row.millesime)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&row.line)?;
        out.push_sql(")");
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct ObservationFilter {
    pub origin: ObservationOrigin,
    pub geo_code: Option<String>,
    pub ingest_id: Option<String>,
    /// Inclusive lower bound, canonical period text.
    pub period_from: Option<String>,
    /// Exclusive upper bound, canonical period text (`2025` to end with 2024's last quarter).
    pub period_before: Option<String>,
}

/// One indicator's observations inside `territory`, by place then period, after the (place,
/// period) cursor `after`.
pub fn list(
    conn: &mut DbConnection,
    indicator: &str,
    level: GeoLevel,
    territory: &Territory,
    filter: &ObservationFilter,
    after: Option<(&str, &str)>,
    limit: i64,
) -> QueryResult<Vec<ObservationRow>> {
    let mut query = observations::table
        .filter(observations::origin.eq(filter.origin.as_str()))
        .filter(observations::indicator.eq(indicator.to_owned()))
        .filter(observations::geo_level.eq(level.as_str()))
        .select(ObservationRow::as_select())
        .order((observations::geo_code, observations::period))
        .limit(limit)
        .into_boxed();
    match (territory, level) {
        (Territory::Everywhere, _) => {}
        (Territory::Departments(departments), GeoLevel::Commune) => {
            let inside =
                communes::table.filter(communes::department.eq_any(departments.clone())).select(communes::insee);
            query = query.filter(observations::geo_code.eq_any(inside));
        }
        (Territory::Departments(departments), GeoLevel::Epci) => {
            let inside = communes::table
                .filter(communes::department.eq_any(departments.clone()))
                .filter(communes::epci_siren.is_not_null())
                .select(communes::epci_siren.assume_not_null());
            query = query.filter(observations::geo_code.eq_any(inside));
        }
        (Territory::Departments(departments), GeoLevel::Department) => {
            query = query.filter(observations::geo_code.eq_any(departments.clone()));
        }
        (Territory::OwnPlaces(sirens), GeoLevel::Commune) => {
            let own = communes::table.filter(communes::siren.eq_any(sirens.clone())).select(communes::insee);
            query = query.filter(observations::geo_code.eq_any(own));
        }
        (Territory::OwnPlaces(sirens), GeoLevel::Epci) => {
            query = query.filter(observations::geo_code.eq_any(sirens.clone()));
        }
        (Territory::OwnPlaces(_), GeoLevel::Department) => return Ok(Vec::new()),
    }
    if let Some(code) = &filter.geo_code {
        query = query.filter(observations::geo_code.eq(code.clone()));
    }
    if let Some(ingest_id) = &filter.ingest_id {
        query = query.filter(observations::ingest_id.eq(ingest_id.clone()));
    }
    if let Some(from) = &filter.period_from {
        query = query.filter(observations::period.ge(from.clone()));
    }
    if let Some(before) = &filter.period_before {
        query = query.filter(observations::period.lt(before.clone()));
    }
    if let Some((code, period)) = after {
        query = query.filter(
            observations::geo_code
                .gt(code.to_owned())
                .or(observations::geo_code.eq(code.to_owned()).and(observations::period.gt(period.to_owned()))),
        );
    }
    query.load(conn)
}
