//! The forecast and actual entitlement of a commitment's year
//! (`/v1/funding-commitments/{id}/years/{year}`). Advances are computed from the forecast; the
//! actual entitlement settles the year: its balance is `actual − paid`, a recovery when negative.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, patch};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::evidence::require_evidence;
use super::funding::{CommitmentParts, CommitmentView, commitment_view, regenerate, stored_rule};
use super::problems::UpdateProblems;
use crate::db::DbConnection;
use crate::db::funding::{self as repo, CommitmentRow, YearFigures};
use crate::domain::evidence::Stage;
use crate::domain::funding::CommitmentStatus;
use crate::domain::schedule;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::Retry;
use crate::http::requests::Update;
use crate::write::{self, Access};

/// The entitlements of one year; either or both, `null` clears one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementPatch {
    /// The forecast entitlement ("droit prévisionnel"), at most the year's committed amount; the
    /// advances are computed from it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[schema(value_type = Option<i64>, example = 1_400_000)]
    pub forecast_cents: Option<Option<i64>>,
    /// The actual entitlement ("droit réel"), at most the year's committed amount: recorded on a
    /// committed commitment once every kind of evidence its programme requires is received; it
    /// settles the year.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[schema(value_type = Option<i64>, example = 1_350_000)]
    pub actual_cents: Option<Option<i64>>,
}

impl RequestBody for EntitlementPatch {
    const READ_ONLY: &'static [&'static str] = &["year", "amount_cents"];
}

/// Record the forecast and/or actual entitlement of one of the commitment's years (`If-Match`: the
/// commitment's ETag; admins and CAF agents).
///
/// Both stay at most the committed amount (`ABOVE_COMMITTED`: correct the commitment first). A new
/// forecast generates the unpaid lines of the year again from it. The actual entitlement needs a
/// committed commitment and every kind of evidence the programme requires received for the year
/// (409 listing the missing kinds); it settles the year: unpaid advances are cancelled, a partly
/// paid line closes at what it paid, and the balance becomes `actual − paid`, or, when negative, a
/// recovery (`adjustment` with its `reason`) that a negative payment takes back. The year's live
/// lines then add up to the actual entitlement. Who may call it: admins and CAF agents of the
/// contract's département; an integration or a collectivity that reaches the contract gets 403, and
/// another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("year" = i64, Path), ("If-Match" = String, Header, description = "The commitment's ETag last read")), request_body = EntitlementPatch, responses((status = 200, body = CommitmentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/funding-commitments/{id}/years/{year}")]
pub async fn update_entitlement(
    (caller, ids, if_match, patch, pool): Update<(Uuid, i64), EntitlementPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (id, year) = ids.into_inner();
    if patch.forecast_cents.is_none() && patch.actual_cents.is_none() {
        let detail = "send forecast_cents, actual_cents or both";
        return Err(ApiError::validation(vec![FieldError::at_pointer("", "EMPTY_CHANGE", detail)]));
    }
    write::change_commitment(&pool, caller, Retry::none(), id, Access::Manage, move |change, current| {
        let parts = CommitmentParts::of(change.conn, current.id)?;
        let figures = parts.years.get(&year).copied().ok_or(ApiError::NotFound)?;
        change.ready(&if_match, current.version)?;
        if current.status == CommitmentStatus::Closed {
            return Err(ApiError::Conflict("the commitment is closed".into()));
        }
        let records_actual = matches!(patch.actual_cents, Some(Some(_)));
        if records_actual && current.status != CommitmentStatus::Committed {
            return Err(ApiError::Conflict(format!(
                "the actual entitlement is recorded on a committed commitment; this one is {}",
                current.status
            )));
        }
        let after = YearFigures {
            forecast_cents: patch.forecast_cents.unwrap_or(figures.forecast_cents),
            actual_cents: patch.actual_cents.unwrap_or(figures.actual_cents),
            ..figures
        };
        check_figures(change.conn, &current, year, &after)?;
        if records_actual {
            require_evidence(change.conn, &current, year, Stage::Received, "the actual entitlement")?;
        }
        repo::set_entitlement(change.conn, current.id, year, after.forecast_cents, after.actual_cents)?;
        let schedules_change =
            after.forecast_cents != figures.forecast_cents || after.actual_cents != figures.actual_cents;
        if schedules_change && !repo::lines(change.conn, current.id)?.is_empty() {
            let amounts = parts.amounts();
            regenerate(change.conn, &current, &amounts, &BTreeSet::from([year]), &stored_rule(&current)?)?;
        }
        let before = commitment_view(&current, &parts)?;
        let mut years: BTreeMap<i64, YearFigures> = parts.years.clone();
        years.insert(year, after);
        let row = change.next(current);
        repo::update(change.conn, &change.contract, &row, None)?;
        change.updated(&before, &commitment_view(&row, &CommitmentParts { years, ..parts })?, None)
    })
    .await
}

/// 422 unless the year's figures stay within its committed amount and, while the year is not
/// settled, its forecast stays at or above what was already paid for it (the advances paid
/// above a forecast are settled by the actual entitlement, as a recovery).
fn check_figures(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    year: i64,
    figures: &YearFigures,
) -> ApiResult<()> {
    let mut errors = schedule::check_entitlement(&figures.entitlement()).err().unwrap_or_default();
    if let (Some(forecast), None) = (figures.forecast_cents, figures.actual_cents) {
        let paid = repo::paid_totals(conn, &[commitment.id])?.by_year.get(&(commitment.id, year)).copied().unwrap_or(0);
        if forecast < paid {
            let detail = format!(
                "{} is already paid for {year}: record the actual entitlement to settle the year",
                schedule::format_euros(paid)
            );
            errors.push(FieldError::at_pointer("/forecast_cents", "BELOW_PAID", detail));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}
