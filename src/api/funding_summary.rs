//! What a contract's funding adds up to, per year and programme: committed, scheduled, paid and
//! remaining. As JSON, or as CSV for a spreadsheet with `Accept: text/csv`.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::find_in_scope;
use super::problems::ReadProblems;
use super::{stored_code, stored_id};
use crate::auth::Caller;
use crate::db::funding as repo;
use crate::db::{self, DbPool};
use crate::domain::funding::{CommitmentStatus, Programme};
use crate::error::ApiResult;
use crate::http::csv::{CsvTable, wants_csv};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FundingFigures {
    /// Sum of the yearly amounts of committed and closed commitments.
    pub committed_cents: i64,
    /// Sum of their schedule lines.
    pub scheduled_cents: i64,
    /// Sum of their payments (recoveries subtracted).
    pub paid_cents: i64,
    /// Committed minus paid.
    pub remaining_cents: i64,
}

impl FundingFigures {
    fn add(&mut self, other: &Self) {
        self.committed_cents += other.committed_cents;
        self.scheduled_cents += other.scheduled_cents;
        self.paid_cents += other.paid_cents;
        self.remaining_cents += other.remaining_cents;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FundingSummaryRow {
    pub year: i64,
    pub programme: Programme,
    #[serde(flatten)]
    pub figures: FundingFigures,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FundingSummary {
    pub contract_id: Uuid,
    pub rows: Vec<FundingSummaryRow>,
    pub totals: FundingFigures,
    /// Sum of the yearly amounts of commitments still in draft, not counted above.
    pub draft_cents: i64,
}

/// Funding figures keyed by (year, programme code).
pub(crate) type FiguresByYearAndProgramme = BTreeMap<(i64, String), FundingFigures>;

/// Adds up the money of some commitments per (year, programme).
pub(crate) fn figures_by_year_and_programme(
    conn: &mut crate::db::DbConnection,
    contract_ids: &[String],
) -> ApiResult<(FiguresByYearAndProgramme, i64)> {
    let commitments = repo::programmes(conn, contract_ids)?;
    let (counted, drafts): (Vec<_>, Vec<_>) =
        commitments.into_iter().partition(|(.., status)| status != CommitmentStatus::Draft.as_str());
    let ids: Vec<String> = counted.iter().map(|(id, ..)| id.clone()).collect();
    let draft_ids: Vec<String> = drafts.iter().map(|(id, ..)| id.clone()).collect();
    let years = repo::years(conn, &ids)?;
    let draft_cents = repo::years(conn, &draft_ids)?.values().flat_map(|years| years.values()).sum();
    let lines = repo::line_amounts(conn, &ids)?;
    let paid = repo::paid_totals(conn, &ids)?;
    let programme_of: BTreeMap<&str, &str> =
        counted.iter().map(|(id, programme, _)| (id.as_str(), programme.as_str())).collect();
    let mut table: BTreeMap<(i64, String), FundingFigures> = BTreeMap::new();
    for (id, years) in &years {
        let programme = programme_of.get(id.as_str()).copied().unwrap_or("other").to_owned();
        for (&year, &amount) in years {
            let entry = table.entry((year, programme.clone())).or_default();
            entry.committed_cents += amount;
            entry.remaining_cents += amount;
        }
    }
    for (commitment_id, year, amount_cents, _) in lines.iter().filter(|(.., status)| status != "cancelled") {
        let programme = programme_of.get(commitment_id.as_str()).copied().unwrap_or("other").to_owned();
        table.entry((*year, programme)).or_default().scheduled_cents += amount_cents;
    }
    for ((id, year), amount) in &paid.by_year {
        let programme = programme_of.get(id.as_str()).copied().unwrap_or("other").to_owned();
        let entry = table.entry((*year, programme)).or_default();
        entry.paid_cents += amount;
        entry.remaining_cents -= amount;
    }
    Ok((table, draft_cents))
}

/// Euros with a decimal comma, from cents, exactly: `-1234,05`.
pub(crate) fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{},{:02}", cents / 100, cents % 100)
}

/// The funding of a contract per year and programme. With `Accept: text/csv`, the same rows as a
/// semicolon-separated UTF-8 file with a BOM, amounts in cents and in euros with a decimal comma.
#[utoipa::path(
    tag = "funding",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The summary", content((FundingSummary = "application/json"), (String = "text/csv"))), ReadProblems),
    security(("bearer" = []))
)]
#[get("/contracts/{id}/funding-summary")]
pub async fn get_funding_summary(
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let csv = wants_csv(&req);
    let summary = db::run(&pool, move |conn| {
        find_in_scope(conn, &caller, &id)?;
        let (table, draft_cents) = figures_by_year_and_programme(conn, std::slice::from_ref(&id))?;
        let mut totals = FundingFigures::default();
        let rows = table
            .into_iter()
            .map(|((year, programme), figures)| {
                totals.add(&figures);
                Ok(FundingSummaryRow { year, programme: stored_code(&programme)?, figures })
            })
            .collect::<ApiResult<_>>()?;
        Ok(FundingSummary { contract_id: stored_id(&id)?, rows, totals, draft_cents })
    })
    .await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(summary));
    }
    let mut table = CsvTable::new(&[
        "year",
        "programme",
        "committed_cents",
        "scheduled_cents",
        "paid_cents",
        "remaining_cents",
        "committed_eur",
        "paid_eur",
        "remaining_eur",
    ]);
    for row in &summary.rows {
        let f = &row.figures;
        table.row(&[
            row.year.to_string(),
            row.programme.as_str().to_owned(),
            f.committed_cents.to_string(),
            f.scheduled_cents.to_string(),
            f.paid_cents.to_string(),
            f.remaining_cents.to_string(),
            euros(f.committed_cents),
            euros(f.paid_cents),
            euros(f.remaining_cents),
        ]);
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"funding-{}.csv\"", summary.contract_id),
        ))
        .content_type("text/csv; charset=utf-8")
        .body(table.finish()))
}

#[cfg(test)]
mod tests {
    use super::euros;

    #[test]
    fn euros_are_exact_with_a_decimal_comma() {
        assert_eq!(euros(0), "0,00");
        assert_eq!(euros(5), "0,05");
        assert_eq!(euros(123_405), "1234,05");
        assert_eq!(euros(-123_405), "-1234,05");
        assert_eq!(euros(1_000_000_000_000), "10000000000,00");
    }
}
