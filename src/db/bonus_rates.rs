//! The bonus rate table: per year, a per-place amount for new places per bonus territoire
//! programme and band. Reference data: every role reads it, admins replace a year's table whole.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{bonus_rate_years, bonus_rates};
use super::stored::rfc3339_json;
use super::{DbConnection, versioned};
use crate::domain::funding::Programme;

/// One rate: the amount per new place for a bonus programme in a band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = bonus_rates)]
#[schema(as = BonusRateView)]
pub struct RateRow {
    #[diesel(deserialize_as = String)]
    #[schema(example = "bonus_territoire_eaje")]
    pub programme: Programme,
    /// The territory's band, 1 to 20, as set on the contract (`bonus_band`).
    #[schema(example = 1)]
    pub band: i64,
    #[schema(example = 360_000)]
    pub per_place_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bonus_rate_years)]
struct YearRow {
    year: i64,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A year's rate table, versioned as a whole: the rates by programme and band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = BonusRateTableView)]
pub struct RateTable {
    #[schema(example = 2025)]
    pub year: i32,
    pub rates: Vec<RateRow>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(RateTable);

/// The table of `year`, its rates by programme and band; `None` when no table was ever set.
pub fn find(conn: &mut DbConnection, year: i32) -> QueryResult<Option<RateTable>> {
    let Some(row) =
        bonus_rate_years::table.find(i64::from(year)).select(YearRow::as_select()).first(conn).optional()?
    else {
        return Ok(None);
    };
    let rates = bonus_rates::table
        .filter(bonus_rates::year.eq(row.year))
        .order((bonus_rates::programme, bonus_rates::band))
        .select(RateRow::as_select())
        .load(conn)?;
    Ok(Some(RateTable { year, rates, version: row.version, created_at: row.created_at, updated_at: row.updated_at }))
}

/// Writes `table` in place of the year's rates: a new year when `expected_version` is `None`,
/// else only if the stored version is still the one read; returns the year rows written.
pub fn replace(conn: &mut DbConnection, table: &RateTable, expected_version: Option<i64>) -> QueryResult<usize> {
    let year = i64::from(table.year);
    let row = YearRow { year, version: table.version, created_at: table.created_at, updated_at: table.updated_at };
    let written = match expected_version {
        None => diesel::insert_into(bonus_rate_years::table).values(&row).execute(conn)?,
        Some(version) => {
            let unchanged = bonus_rate_years::table
                .filter(bonus_rate_years::year.eq(year))
                .filter(bonus_rate_years::version.eq(version));
            diesel::update(unchanged).set(&row).execute(conn)?
        }
    };
    if written != 1 {
        return Ok(written);
    }
    diesel::delete(bonus_rates::table.filter(bonus_rates::year.eq(year))).execute(conn)?;
    for rate in &table.rates {
        diesel::insert_into(bonus_rates::table)
            .values((
                bonus_rates::year.eq(year),
                bonus_rates::programme.eq(rate.programme.as_str()),
                bonus_rates::band.eq(rate.band),
                bonus_rates::per_place_cents.eq(rate.per_place_cents),
            ))
            .execute(conn)?;
    }
    Ok(written)
}

/// The per-place rates of `programme` at `band`, by year, over every year's table.
pub fn rates_of(conn: &mut DbConnection, programme: Programme, band: i64) -> QueryResult<BTreeMap<i32, i64>> {
    let rows: Vec<(i64, i64)> = bonus_rates::table
        .filter(bonus_rates::programme.eq(programme.as_str()))
        .filter(bonus_rates::band.eq(band))
        .select((bonus_rates::year, bonus_rates::per_place_cents))
        .load(conn)?;
    // A stored year is one a table was set for, within the years the route accepts.
    Ok(rows.into_iter().filter_map(|(year, cents)| Some((i32::try_from(year).ok()?, cents))).collect())
}
