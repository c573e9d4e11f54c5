//! Observed values of indicators per territory and period. Values are exact decimals kept as
//! text; a suppressed value is NULL, never 0.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::observations;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = observations, treat_none_as_default_value = false)]
pub struct ObservationRow {
    pub indicator: String,
    pub geo_level: String,
    pub geo_code: String,
    pub period: String,
    pub value: Option<String>,
    pub suppressed: bool,
    pub source: String,
    pub millesime: Option<String>,
    pub ingest_id: String,
    pub ingest_line: i64,
    pub updated_at: NaiveDateTime,
}

/// The observations of one indicator at one place for the given periods, in period order.
pub fn for_periods(
    conn: &mut DbConnection,
    indicator: &str,
    geo_level: &str,
    geo_code: &str,
    periods: &[String],
) -> QueryResult<Vec<ObservationRow>> {
    observations::table
        .filter(observations::indicator.eq(indicator))
        .filter(observations::geo_level.eq(geo_level))
        .filter(observations::geo_code.eq(geo_code))
        .filter(observations::period.eq_any(periods))
        .order(observations::period)
        .select(ObservationRow::as_select())
        .load(conn)
}
