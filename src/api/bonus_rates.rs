//! The bonus rate table: per year, the amount per new place of each bonus territoire programme
//! in each band (by territory wealth). It is data, not code: admins replace a year's table whole
//! with one PUT; every role reads it, since new-places bonuses are computed from it.

use actix_web::{HttpResponse, get, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::problems::{ReadProblems, ReplaceProblems};
use crate::auth::{Caller, Role};
use crate::db::bonus_rates::{self as repo, RateRow};
pub use crate::db::bonus_rates::{RateRow as BonusRateView, RateTable as BonusRateTableView};
use crate::db::{self};
use crate::domain::funding::{Programme, RATE_YEARS, Rate, check_rate_table};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJson, RequestBody};
use crate::http::idempotency::Retry;
use crate::http::preconditions::with_etag;
use crate::http::requests::{Read, Replace};
use crate::write::{self, DirectoryChange};

write::resource!(
    BonusRateTableView, "bonus_rates", |view| id: view.year,
    location: format!("/v1/bonus-rates/{}", view.year),
    version: view.version,
);

/// A year of the rate table in the path: one of [`RATE_YEARS`]. Any other is no address of a
/// table, answered 404 before the body is read.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "i32")]
pub struct RateYear(i32);

impl TryFrom<i32> for RateYear {
    type Error = String;

    fn try_from(year: i32) -> Result<Self, String> {
        if RATE_YEARS.contains(&year) { Ok(Self(year)) } else { Err(format!("no rate table for {year}")) }
    }
}

/// One rate sent: the amount per new place for a bonus programme in a band.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BonusRateInput {
    /// One of the five bonus territoire programmes.
    #[schema(example = "bonus_territoire_eaje")]
    pub programme: Programme,
    /// 1 to 20.
    #[schema(example = 1, minimum = 1, maximum = 20)]
    pub band: i64,
    /// 1 cent to 10^12 cents.
    #[schema(example = 360_000, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub per_place_cents: i64,
}

/// A year's whole rate table: it replaces the rates the year had.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BonusRateTablePut {
    /// Each bonus programme and band at most once.
    #[validate(length(min = 1, max = 100, message = "name 1 to 100 rates"))]
    #[schema(min_items = 1, max_items = 100)]
    pub rates: Vec<BonusRateInput>,
}

impl RequestBody for BonusRateTablePut {
    const READ_ONLY: &'static [&'static str] = &["year", "version", "created_at", "updated_at"];
}

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins set the bonus rate table".into()))
    }
}

/// The bonus rates of a year, by programme and band.
///
/// Who may call it: every role.
#[utoipa::path(tag = "funding", params(("year" = i32, Path, minimum = 2000, maximum = 2100)), responses((status = 200, body = BonusRateTableView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/bonus-rates/{year}")]
pub async fn get_bonus_rates((_caller, year, _no_parameters, pool): Read<RateYear>) -> ApiResult<HttpResponse> {
    let RateYear(year) = year.into_inner();
    // Two statements (the year, its rates) in one read transaction.
    let table = db::run(&pool, move |conn| repo::find(conn, year)?.ok_or(ApiError::NotFound)).await?;
    Ok(with_etag(Some(table.version), &table))
}

/// Set a year's bonus rates, replacing the whole table (admins).
///
/// A year without a table is created without `If-Match` (201); an existing one is replaced with the
/// `If-Match` of its last read (200). Who may call it: admins; the other roles get 403.
#[utoipa::path(tag = "funding", params(("year" = i32, Path, minimum = 2000, maximum = 2100), ("If-Match" = Option<String>, Header, description = "The ETag last read; required once the year has a table, refused before")), request_body = BonusRateTablePut, responses((status = 200, body = BonusRateTableView, headers(("ETag" = String))), (status = 201, body = BonusRateTableView, headers(("ETag" = String), ("Location" = String))), ReplaceProblems), security(("bearer" = [])))]
#[put("/bonus-rates/{year}")]
pub async fn put_bonus_rates(
    (caller, year, if_match, body, pool): Replace<RateYear, BonusRateTablePut>,
) -> ApiResult<HttpResponse> {
    let ApiJson(body) = body;
    let RateYear(year) = year.into_inner();
    require_admin(&caller)?;
    let rates: Vec<Rate> = body
        .rates
        .iter()
        .map(|rate| Rate { programme: rate.programme, band: rate.band, per_place_cents: rate.per_place_cents })
        .collect();
    check_rate_table(&rates).map_err(ApiError::validation)?;
    let mut rows: Vec<RateRow> = rates
        .iter()
        .map(|rate| RateRow { programme: rate.programme, band: rate.band, per_place_cents: rate.per_place_cents })
        .collect();
    rows.sort_by_key(|rate| (rate.programme.as_str(), rate.band));
    write::change_directory(&pool, caller, Retry::none(), move |change| {
        let current = change.existing(&year.to_string(), &if_match, |conn| repo::find(conn, year))?;
        match current {
            None => {
                let table =
                    BonusRateTableView { year, rates: rows, version: 1, created_at: change.at, updated_at: change.at };
                DirectoryChange::written(repo::replace(change.conn, &table, None)?)?;
                change.created(&table)
            }
            Some(current) => {
                let read_version = current.version;
                let table = change.next(BonusRateTableView { rates: rows, ..current });
                DirectoryChange::written(repo::replace(change.conn, &table, Some(read_version))?)?;
                change.updated(&table)
            }
        }
    })
    .await
}
