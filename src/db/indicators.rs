//! The indicator catalogue: readable by every role, written by admins.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::indicators;
use super::stored::{NullableText, rfc3339_json};
use super::{DbConnection, versioned};
use crate::domain::contract::Field;
use crate::domain::indicators::{GeoLevel, Periodicity, Unit};

/// An indicator of the catalogue: what is measured, at which level, how often.
// `treat_none_as_default_value = false`: a `field` of `None` is written as NULL, as Insertable
// cannot otherwise write an `Option` that goes through `NullableText`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = indicators, treat_none_as_null = true, treat_none_as_default_value = false)]
#[schema(as = IndicatorView)]
pub struct IndicatorRow {
    /// A lowercase slug.
    #[schema(example = "taux_couverture_eaje_epci")]
    pub code: String,
    pub label: String,
    pub description: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub unit: Unit,
    /// Whether a higher value is better.
    pub ascending: bool,
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub field: Option<Field>,
    pub source: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub geo_level: GeoLevel,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub periodicity: Periodicity,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(IndicatorRow);

#[derive(Debug, Default)]
pub struct IndicatorFilter {
    pub field: Option<Field>,
    pub geo_level: Option<GeoLevel>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &IndicatorFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<IndicatorRow>> {
    let mut query =
        indicators::table.select(IndicatorRow::as_select()).order(indicators::code).limit(limit).into_boxed();
    if let Some(field) = filter.field {
        query = query.filter(indicators::field.eq(field.as_str()));
    }
    if let Some(level) = filter.geo_level {
        query = query.filter(indicators::geo_level.eq(level.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(indicators::code.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, code: &str) -> QueryResult<Option<IndicatorRow>> {
    indicators::table.find(code).select(IndicatorRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, row: &IndicatorRow) -> QueryResult<()> {
    diesel::insert_into(indicators::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; returns the rows written.
pub fn update(conn: &mut DbConnection, row: &IndicatorRow, expected_version: i64) -> QueryResult<usize> {
    let unchanged =
        indicators::table.filter(indicators::code.eq(&row.code)).filter(indicators::version.eq(expected_version));
    diesel::update(unchanged).set(row.clone()).execute(conn)
}

/// Deletes the entry if the stored version is still `expected_version`; returns the rows deleted.
pub fn delete(conn: &mut DbConnection, code: &str, expected_version: i64) -> QueryResult<usize> {
    let unchanged =
        indicators::table.filter(indicators::code.eq(code)).filter(indicators::version.eq(expected_version));
    diesel::delete(unchanged).execute(conn)
}
