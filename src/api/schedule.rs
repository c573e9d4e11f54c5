//! The payment schedule (échéancier) of a commitment and its payments. Each year's lines add up to
//! the year's amount to the cent; payments keep each year's paid total between zero and the amount
//! committed for it, under any concurrency, and are recorded once per `Idempotency-Key`.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::evidence::missing_evidence;
use super::funding::{find_commitment, regenerate, stored_rule};
use super::problems::{ChildListProblems, CreateChildProblems, GuardedChildProblems, ReadProblems};
use crate::db::DbConnection;
pub use crate::db::funding::PaymentRow as PaymentView;
use crate::db::funding::{self as repo, CommitmentRow, StoredRule};
use crate::domain::commitments;
use crate::domain::evidence::{self as evidence_rules, Stage};
use crate::domain::funding::{CommitmentStatus, LineKind, LineStatus, check_payment, check_payment_request};
use crate::domain::schedule::{self, YearSums};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::RequestBody;
use crate::http::idempotency::IdempotentJson;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::ApiQuery;
use crate::http::requests::{CreateUnder, ListUnder, Read, Transition};
use crate::write::{self, Access};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleLineView {
    pub id: Uuid,
    pub year: i64,
    pub kind: LineKind,
    pub due_on: NaiveDate,
    /// Negative for a planned recovery.
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub status: LineStatus,
    /// Why the line exists, when the schedule alone does not say it: a recovery's reason.
    pub reason: Option<String>,
}

/// What a year of a commitment adds up to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct YearTotals {
    pub year: i64,
    pub committed_cents: i64,
    pub scheduled_cents: i64,
    pub paid_cents: i64,
    /// Committed minus paid.
    pub remaining_cents: i64,
}

impl YearTotals {
    fn of(year: i64, sums: YearSums) -> Self {
        Self {
            year,
            committed_cents: sums.committed,
            scheduled_cents: sums.scheduled,
            paid_cents: sums.paid,
            remaining_cents: sums.committed - sums.paid,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    pub commitment_id: Uuid,
    pub lines: Vec<ScheduleLineView>,
    pub years: Vec<YearTotals>,
}

write::resource!(
    ScheduleView, "schedule", |view| id: view.commitment_id,
    location: format!("/v1/funding-commitments/{}/schedule", view.commitment_id),
);

write::resource!(
    PaymentView, "payment", |view| id: view.id,
    location: format!("/v1/funding-commitments/{}/payments/{}", view.commitment_id, view.id),
);

fn schedule_view(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    years: &BTreeMap<i64, i64>,
) -> ApiResult<ScheduleView> {
    let lines = repo::lines(conn, commitment.id)?;
    let paid = repo::paid_totals(conn, &[commitment.id])?;
    let paid_by_year = paid.by_year.iter().map(|((_, year), &amount)| (*year, amount)).collect();
    let statuses = lines.iter().map(|line| (line.year, line.amount_cents, line.status));
    let totals = schedule::year_sums(years, &paid_by_year, statuses);
    let today = chrono::Utc::now().date_naive();
    let lines = lines
        .into_iter()
        .map(|line| {
            let paid_cents = paid.by_line.get(&line.id).copied().unwrap_or(0);
            ScheduleLineView {
                id: line.id,
                year: line.year,
                kind: line.kind,
                due_on: line.due_on,
                amount_cents: line.amount_cents,
                paid_cents,
                status: schedule::seen_status(line.status, line.amount_cents, paid_cents, line.due_on, today),
                reason: line.reason,
            }
        })
        .collect();
    let years = totals.into_iter().map(|(year, sums)| YearTotals::of(year, sums)).collect();
    Ok(ScheduleView { commitment_id: commitment.id, lines, years })
}

/// The schedule of a commitment, with each line's paid amount and each year's totals.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = ScheduleView), ReadProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}/schedule")]
pub async fn get_schedule((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    write::read_commitment(&pool, caller, id.into_inner(), |conn, commitment| {
        let years = repo::years_of(conn, commitment.id)?;
        Ok(Some(schedule_view(conn, &commitment, &years)?))
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSchedule {
    /// Share of each year paid in advances; default 70.
    #[validate(range(max = 100, message = "must be between 0 and 100"))]
    #[schema(maximum = 100)]
    pub advance_percent: Option<u8>,
    /// `MM-DD` dates of the advances; default `["03-01", "10-01"]`.
    #[validate(length(max = 12, message = "at most 12 advances a year"))]
    #[schema(max_items = 12)]
    pub advance_splits: Option<Vec<String>>,
    /// `MM-DD` date of the balance the following year; default `05-31`.
    pub balance_due: Option<String>,
}

impl RequestBody for GenerateSchedule {}

/// Build each year's advances and balance.
///
/// The advances total `advance_percent` of the year, rounded down to the cent, in equal shares on
/// the given dates, the cents that do not divide evenly going to the earliest advances; the balance
/// is the rest, due the following year. Lines that already have payments are kept as they are, and
/// the balance absorbs the difference. The new rule changes the commitment, so `If-Match` carries
/// the commitment's ETag. Who may call it: admins and CAF agents of the contract's département; an
/// integration or a collectivity that reaches the contract gets 403, and another contract answers
/// 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The commitment's ETag last read"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")), request_body = GenerateSchedule, responses((status = 200, body = ScheduleView), GuardedChildProblems), security(("bearer" = [])))]
#[post("/funding-commitments/{id}/schedule/generate")]
pub async fn generate_schedule(
    (caller, id, if_match, request, pool): Transition<Uuid, GenerateSchedule>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    write::change_commitment(&pool, caller, retry, id.into_inner(), Access::Manage, move |change, current| {
        change.ready(&if_match, current.version)?;
        if current.status == CommitmentStatus::Closed {
            return Err(ApiError::Conflict("the commitment is closed".into()));
        }
        let splits = body.advance_splits.as_deref();
        let rule = stored_rule(&current)?
            .changed(body.advance_percent, splits, body.balance_due.as_deref())
            .map_err(ApiError::validation)?;
        let years = repo::years_of(change.conn, current.id)?;
        let before = schedule_view(change.conn, &current, &years)?;
        let all_years: BTreeSet<i64> = years.keys().copied().chain(before.lines.iter().map(|line| line.year)).collect();
        regenerate(change.conn, &current, &years, &all_years, &rule)?;
        let row = change.next(CommitmentRow { rule: StoredRule::from(&rule), ..current });
        repo::update(change.conn, &change.contract, &row, None)?;
        let after = schedule_view(change.conn, &row, &years)?;
        change.updated(&before, &after, None)
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    pub schedule_line_id: Uuid,
    pub paid_on: NaiveDate,
    /// Negative for a recovery of an overpayment.
    #[validate(range(min = -1_000_000_000_000_i64, max = 1_000_000_000_000_i64, message = "must be between -10^12 and 10^12 cents"))]
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub amount_cents: i64,
    /// The accounting reference of the payment order.
    #[validate(length(min = 1, max = 100, message = "must have 1 to 100 characters"))]
    #[schema(min_length = 1, max_length = 100)]
    pub reference: String,
    /// Why money is recovered; required for a negative amount.
    #[validate(length(min = 1, max = 2000, message = "must have 1 to 2000 characters"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: Option<String>,
}

impl RequestBody for CreatePayment {
    const READ_ONLY: &'static [&'static str] =
        &["id", "version", "status", "created_at", "updated_at", "commitment_id", "year"];
}

/// Record a payment on a schedule line of a committed commitment (a negative amount recovers an
/// overpayment).
///
/// `Idempotency-Key` is required: a retry with the same key and body answers the first answer again
/// without paying twice. The paid total of a year never exceeds what is committed for it. Who may
/// call it: admins and CAF agents of the contract's département; an integration or a collectivity
/// that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(
    tag = "funding",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Required: makes a retry safe")),
    request_body = CreatePayment,
    responses((status = 201, body = PaymentView, headers(("Location" = String))), CreateChildProblems),
    security(("bearer" = []))
)]
#[post("/funding-commitments/{id}/payments")]
pub async fn create_payment((caller, id, request, pool): CreateUnder<Uuid, CreatePayment>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body: payment, retry } = request;
    let retry = retry.required()?;
    check_payment_request(payment.amount_cents, payment.reason.is_some()).map_err(ApiError::validation)?;
    write::change_commitment(&pool, caller, retry, id.into_inner(), Access::Manage, move |change, commitment| {
        if !commitments::accepts_payments(commitment.status) {
            return Err(ApiError::Conflict(format!(
                "payments need a committed commitment; this one is {}",
                commitment.status
            )));
        }
        let Some(line) = repo::find_line(change.conn, commitment.id, payment.schedule_line_id)?
            .filter(|line| line.status != LineStatus::Cancelled)
        else {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/schedule_line_id",
                "UNKNOWN_SCHEDULE_LINE",
                "no line of this commitment's schedule has this id",
            )]));
        };
        if evidence_rules::needs_validated_evidence(line.kind, line.amount_cents, payment.amount_cents) {
            require_settlement(change.conn, &commitment, line.year)?;
        }
        let committed = repo::years_of(change.conn, commitment.id)?.get(&line.year).copied().unwrap_or(0);
        let (year_paid, line_paid) = repo::paid_in_year(change.conn, commitment.id, line.year, line.id)?;
        check_payment(payment.amount_cents, committed, year_paid, line.amount_cents, line_paid)
            .map_err(|refusal| ApiError::Conflict(refusal.explain(payment.amount_cents)))?;
        let row = PaymentView {
            id: Uuid::new_v4(),
            commitment_id: commitment.id,
            schedule_line_id: line.id,
            year: line.year,
            paid_on: payment.paid_on,
            amount_cents: payment.amount_cents,
            reference: payment.reference.trim().to_owned(),
            created_at: change.at,
        };
        let status = schedule::status_after_payment(line.amount_cents, line_paid + payment.amount_cents);
        repo::set_line_status(change.conn, line.id, status, change.at)?;
        repo::insert_payment(change.conn, &change.contract, &commitment, &row)?;
        change.created_with_reason(&row, payment.reason.as_deref())
    })
    .await
}

/// A balance is `actual − paid`: it is paid once the year's actual entitlement is recorded and
/// every kind of evidence the programme requires for that year is validated; otherwise 409
/// listing each condition unmet.
fn require_settlement(conn: &mut DbConnection, commitment: &CommitmentRow, year: i64) -> ApiResult<()> {
    let missing = missing_evidence(conn, commitment, year, Stage::Validated)?;
    let actual_known = repo::year_figures_of(conn, commitment.id)?.get(&year).is_some_and(|f| f.actual_cents.is_some());
    let mut unmet = evidence_rules::unmet(year, &missing, Stage::Validated);
    if !actual_known {
        let detail =
            format!("the actual entitlement of {year} is not recorded: the balance is the actual minus what was paid");
        unmet.insert(0, FieldError::condition("ACTUAL_NOT_RECORDED", detail));
    }
    if unmet.is_empty() {
        return Ok(());
    }
    Err(ApiError::ConflictUnmet {
        detail: format!("paying the balance of {year}: {} condition(s) unmet", unmet.len()),
        unmet,
    })
}

/// The payments of a commitment, oldest first.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = Page<PaymentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}/payments")]
pub async fn list_payments((caller, id, query, pool, tokens): ListUnder<Uuid, PageQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let id = id.into_inner();
    let binding = format!("payments|{id}|{}", caller.fingerprint());
    write::read_page(&pool, tokens, query.params(), binding, repo::payment_cursor, move |conn, after, limit| {
        find_commitment(conn, &caller, id)?;
        Ok(repo::payments(conn, id, after, limit)?)
    })
    .await
}

/// One payment.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("payment_id" = Uuid, Path)), responses((status = 200, body = PaymentView), ReadProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}/payments/{payment_id}")]
pub async fn get_payment((caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (id, payment_id) = ids.into_inner();
    write::read_commitment(&pool, caller, id, move |conn, commitment| {
        Ok(repo::find_payment(conn, commitment.id, payment_id)?)
    })
    .await
}
