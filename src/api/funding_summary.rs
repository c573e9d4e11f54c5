//! What a contract's funding adds up to, per year and programme: committed, scheduled, paid and
//! remaining. As JSON, or as CSV for a spreadsheet with `Accept: text/csv`.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::problems::ReadProblems;
use crate::auth::Caller;
use crate::db::funding as repo;
use crate::db::{self, DbConnection, DbPool};
use crate::domain::funding::{CommitmentStatus, LineStatus, Programme};
use crate::error::ApiResult;
use crate::http::csv::{CsvTable, wants_csv};
use crate::write;

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

/// Funding figures by (year, programme code, programme).
type FiguresTable = BTreeMap<(i64, &'static str, Programme), FundingFigures>;

/// Adds up the money of the commitments of some contracts per year and programme, in the order
/// of the year, then of the programme's code; with the yearly amounts of those still in draft.
pub(crate) fn figures_by_year_and_programme(
    conn: &mut DbConnection,
    contract_ids: &[String],
) -> ApiResult<(Vec<FundingSummaryRow>, i64)> {
    let (counted, drafts): (Vec<_>, Vec<_>) =
        repo::programmes(conn, contract_ids)?.into_iter().partition(|c| c.status != CommitmentStatus::Draft);
    let ids: Vec<Uuid> = counted.iter().map(|c| c.id).collect();
    let draft_ids: Vec<Uuid> = drafts.iter().map(|c| c.id).collect();
    let draft_cents = repo::years(conn, &draft_ids)?.values().flat_map(|years| years.values()).sum();
    let programme_of: HashMap<Uuid, Programme> = counted.iter().map(|c| (c.id, c.programme)).collect();
    let mut table = FiguresTable::new();
    let key = |id: &Uuid, year: i64| {
        let programme = programme_of.get(id).copied().unwrap_or(Programme::Other);
        // Keyed by the code before the programme, so that the rows keep the order of the codes.
        (year, programme.as_str(), programme)
    };
    for (id, years) in &repo::years(conn, &ids)? {
        for (&year, &amount) in years {
            let entry = table.entry(key(id, year)).or_default();
            entry.committed_cents += amount;
            entry.remaining_cents += amount;
        }
    }
    for line in repo::line_amounts(conn, &ids)?.iter().filter(|line| line.status != LineStatus::Cancelled) {
        table.entry(key(&line.commitment_id, line.year)).or_default().scheduled_cents += line.amount_cents;
    }
    for (&(id, year), amount) in &repo::paid_totals(conn, &ids)?.by_year {
        let entry = table.entry(key(&id, year)).or_default();
        entry.paid_cents += amount;
        entry.remaining_cents -= amount;
    }
    let rows = table.into_iter().map(|((year, _, programme), figures)| FundingSummaryRow { year, programme, figures });
    Ok((rows.collect(), draft_cents))
}

/// Euros with a decimal comma, from cents, exactly: `-1234,05`.
pub(crate) fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{},{:02}", cents / 100, cents % 100)
}

/// The `columns` of a record as it is written in JSON: strings as they are, numbers and booleans
/// as JSON writes them, an absent value as an empty cell.
pub(crate) fn json_cells(record: &impl Serialize, columns: &[&str]) -> Vec<String> {
    // The records are plain structs of strings, numbers, dates and codes, which always serialize.
    let json = serde_json::to_value(record).unwrap_or_default();
    let cell = |column: &&str| match &json[*column] {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text.clone(),
        value => value.to_string(),
    };
    columns.iter().map(cell).collect()
}

/// The columns of the CSV in cents, as the JSON names them.
const CENTS_COLUMNS: [&str; 6] =
    ["year", "programme", "committed_cents", "scheduled_cents", "paid_cents", "remaining_cents"];

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
    let contract_id = id.into_inner();
    let csv = wants_csv(&req);
    let summary = db::run(&pool, move |conn| {
        write::scoped(conn, &caller, contract_id)?;
        let id = contract_id.to_string();
        let (rows, draft_cents) = figures_by_year_and_programme(conn, &[id])?;
        let mut totals = FundingFigures::default();
        for row in &rows {
            totals.add(&row.figures);
        }
        Ok(FundingSummary { contract_id, rows, totals, draft_cents })
    })
    .await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(summary));
    }
    let mut table =
        CsvTable::new(&[CENTS_COLUMNS.as_slice(), &["committed_eur", "paid_eur", "remaining_eur"]].concat());
    for row in &summary.rows {
        let f = &row.figures;
        let in_euros = [euros(f.committed_cents), euros(f.paid_cents), euros(f.remaining_cents)];
        table.row(&[json_cells(row, &CENTS_COLUMNS), in_euros.to_vec()].concat());
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
    use super::{euros, json_cells};

    #[test]
    fn euros_are_exact_with_a_decimal_comma() {
        assert_eq!(euros(0), "0,00");
        assert_eq!(euros(5), "0,05");
        assert_eq!(euros(123_405), "1234,05");
        assert_eq!(euros(-123_405), "-1234,05");
        assert_eq!(euros(1_000_000_000_000), "10000000000,00");
    }

    #[test]
    fn cells_read_a_record_as_json_writes_it() {
        let record = serde_json::json!({"value": null, "suppressed": true, "count": -3, "title": "Faucigny; Glières"});
        let columns = ["value", "suppressed", "count", "title", "absent"];
        assert_eq!(json_cells(&record, &columns), ["", "true", "-3", "Faucigny; Glières", ""]);
    }
}
