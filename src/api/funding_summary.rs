//! What a contract's funding adds up to, per year and programme: committed, scheduled, paid and
//! remaining. As JSON, or as CSV for a spreadsheet with `Accept: text/csv`.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::problems::ReadProblems;
use crate::auth::Caller;
use crate::db::funding as repo;
use crate::db::{self, DbConnection, DbPool, equipments};
use crate::domain::funding::{Basis, CommitmentStatus, LineStatus, MoneyOrigin, Programme, money_origin};
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
    /// Per year and programme.
    pub rows: Vec<FundingSummaryRow>,
    /// The same money per year and origin (`ex_cej`, `new_places`, `other`), with the places.
    pub by_origin: Vec<OriginSummaryRow>,
    pub totals: FundingFigures,
    /// Sum of the yearly amounts of commitments still in draft, not counted above.
    pub draft_cents: i64,
}

/// The money of one year from one origin, with the places it funds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OriginSummaryRow {
    pub year: i64,
    /// Carried from a CEJ, new places, or other funding.
    pub money_origin: MoneyOrigin,
    #[serde(flatten)]
    pub figures: FundingFigures,
    /// Places funded that year by the counted commitments of this origin: the units of those
    /// paid per place, plus the capacity of each facility funded otherwise, once.
    pub places: i64,
}

/// The money of some contracts per year and programme, per year and origin, and in draft.
pub(crate) struct FundingTables {
    pub by_programme: Vec<FundingSummaryRow>,
    pub by_origin: Vec<OriginSummaryRow>,
    /// Sum of the yearly amounts of commitments still in draft, not counted in the tables.
    pub draft_cents: i64,
}

/// One commitment as the tables count it.
struct Counted {
    programme: Programme,
    origin: MoneyOrigin,
    /// The places it pays for, when it pays per place.
    places_paid: Option<i64>,
    /// The facility it names and its capacity, counted once per year and origin for money not
    /// paid per place.
    facility: Option<(Uuid, i64)>,
}

/// Adds up the money of the commitments of some contracts per year and programme (in the order
/// of the year, then of the programme's code) and per year and origin, counting places; with
/// the yearly amounts of those still in draft.
pub(crate) fn funding_tables(conn: &mut DbConnection, contract_ids: &[String]) -> ApiResult<FundingTables> {
    let (counted, drafts): (Vec<_>, Vec<_>) =
        repo::programmes(conn, contract_ids)?.into_iter().partition(|c| c.status != CommitmentStatus::Draft);
    let ids: Vec<Uuid> = counted.iter().map(|c| c.id).collect();
    let draft_ids: Vec<Uuid> = drafts.iter().map(|c| c.id).collect();
    let draft_cents = repo::years(conn, &draft_ids)?.values().flat_map(|years| years.values()).sum();
    let equipment_ids: Vec<Uuid> = counted.iter().filter_map(|c| c.equipment_id).collect();
    let capacity: HashMap<Uuid, Option<i64>> = equipments::find_many(conn, &equipment_ids)?
        .into_iter()
        .map(|equipment| (equipment.id, equipment.capacity_places))
        .collect();
    let of: HashMap<Uuid, Counted> = counted
        .iter()
        .map(|c| {
            let facility = c.equipment_id.and_then(|id| Some((id, capacity.get(&id).copied().flatten()?)));
            let counted = Counted {
                programme: c.programme,
                origin: money_origin(c.programme, c.basis, c.origin),
                places_paid: if c.basis == Basis::PerPlace { c.units } else { None },
                facility,
            };
            (c.id, counted)
        })
        .collect();
    // Keyed by the codes before the values, so that the rows keep the order of the codes.
    let mut by_programme: BTreeMap<(i64, &'static str), (Programme, FundingFigures)> = BTreeMap::new();
    let mut by_origin: BTreeMap<(i64, &'static str), (MoneyOrigin, FundingFigures, i64)> = BTreeMap::new();
    let mut add = |id: &Uuid, year: i64, change: &dyn Fn(&mut FundingFigures)| {
        let Some(commitment) = of.get(id) else { return };
        let (programme, origin) = (commitment.programme, commitment.origin);
        change(&mut by_programme.entry((year, programme.as_str())).or_insert((programme, FundingFigures::default())).1);
        change(&mut by_origin.entry((year, origin.as_str())).or_insert((origin, FundingFigures::default(), 0)).1);
    };
    let years = repo::years(conn, &ids)?;
    for (id, years) in &years {
        for (&year, &amount) in years {
            add(id, year, &|figures| {
                figures.committed_cents += amount;
                figures.remaining_cents += amount;
            });
        }
    }
    for line in repo::line_amounts(conn, &ids)?.iter().filter(|line| line.status != LineStatus::Cancelled) {
        add(&line.commitment_id, line.year, &|figures| figures.scheduled_cents += line.amount_cents);
    }
    for (&(id, year), &amount) in &repo::paid_totals(conn, &ids)?.by_year {
        add(&id, year, &|figures| {
            figures.paid_cents += amount;
            figures.remaining_cents -= amount;
        });
    }
    // Places paid per place add up; a facility funded otherwise counts its capacity once per
    // year and origin, however many commitments fund it.
    let mut facilities_counted: HashSet<(i64, MoneyOrigin, Uuid)> = HashSet::new();
    for (id, years) in &years {
        let Some(commitment) = of.get(id) else { continue };
        for (&year, _) in years.iter().filter(|(_, amount)| **amount > 0) {
            let Some(entry) = by_origin.get_mut(&(year, commitment.origin.as_str())) else { continue };
            match (commitment.places_paid, commitment.facility) {
                (Some(places), _) => entry.2 += places,
                (None, Some((facility, capacity)))
                    if facilities_counted.insert((year, commitment.origin, facility)) =>
                {
                    entry.2 += capacity;
                }
                (None, _) => {}
            }
        }
    }
    Ok(FundingTables {
        by_programme: by_programme
            .into_iter()
            .map(|((year, _), (programme, figures))| FundingSummaryRow { year, programme, figures })
            .collect(),
        by_origin: by_origin
            .into_iter()
            .map(|((year, _), (money_origin, figures, places))| OriginSummaryRow {
                year,
                money_origin,
                figures,
                places,
            })
            .collect(),
        draft_cents,
    })
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

/// The funding of a contract per year and programme, and per year and origin with the places
/// funded.
///
/// With `Accept: text/csv`, the rows per year and programme as a semicolon-separated UTF-8 file
/// with a BOM, amounts in cents and in euros with a decimal comma (the financial annex, `GET
/// /v1/contracts/{id}/annex`, gives the split by origin as CSV). Who may call it: whoever reaches
/// the contract (admins, CAF agents and integrations of its département, collectivities party to
/// it); another contract answers 404, as an unknown id.
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
        let tables = funding_tables(conn, &[id])?;
        let mut totals = FundingFigures::default();
        for row in &tables.by_programme {
            totals.add(&row.figures);
        }
        Ok(FundingSummary {
            contract_id,
            rows: tables.by_programme,
            by_origin: tables.by_origin,
            totals,
            draft_cents: tables.draft_cents,
        })
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
