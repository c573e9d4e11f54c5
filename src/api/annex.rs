//! `GET /v1/contracts/{id}/annex`: the financial annex of a contract, the table annexed to a
//! signed CTG. Per facility, manager, programme and origin: the places and, year by year, the
//! amounts committed (and still in draft), forecast, actual and paid; totals per year and origin.
//! As JSON, or as CSV a French spreadsheet opens as is with `Accept: text/csv`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::funding_summary::{euros, json_cells};
use super::problems::ReportProblems;
use crate::auth::Caller;
use crate::db::{self, DbConnection, DbPool, equipments, funding as repo, organisations};
use crate::domain::annex::{self, AnnexCommitment, AnnexFigures, YearMoney};
use crate::domain::contract::{ContractKind, ContractStatus};
use crate::domain::funding::{Basis, MoneyOrigin, Programme, money_origin};
use crate::domain::organisation::EquipmentType;
use crate::error::{ApiError, ApiResult};
use crate::http::csv::{CsvTable, wants_csv};
use crate::http::query::{ApiQuery, NoParameters};
use crate::write;

/// The figures of a line, a year or a total, in cents.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct AnnexAmounts {
    /// Yearly amounts of committed and closed commitments.
    pub committed_cents: i64,
    /// Yearly amounts of commitments still in draft, such as the bonus territoire a signature
    /// creates until the CAF commits it.
    pub draft_cents: i64,
    /// Sum of the forecast entitlements recorded; null when none is.
    pub forecast_cents: Option<i64>,
    /// Sum of the actual entitlements recorded; null when none is.
    pub actual_cents: Option<i64>,
    /// Paid, recoveries subtracted.
    pub paid_cents: i64,
}

impl From<AnnexFigures> for AnnexAmounts {
    fn from(figures: AnnexFigures) -> Self {
        Self {
            committed_cents: figures.committed_cents,
            draft_cents: figures.draft_cents,
            forecast_cents: figures.forecast_cents,
            actual_cents: figures.actual_cents,
            paid_cents: figures.paid_cents,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnexYear {
    pub year: i64,
    #[serde(flatten)]
    pub amounts: AnnexAmounts,
}

/// The money of one facility (or none), manager, programme and origin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnexLineView {
    pub equipment_id: Option<Uuid>,
    pub equipment_name: Option<String>,
    pub equipment_type: Option<EquipmentType>,
    /// The manager paid: the commitments' payee.
    pub manager_id: Uuid,
    pub manager_name: String,
    pub programme: Programme,
    /// `ex_cej` (carried from a CEJ), `new_places` or `other`.
    pub money_origin: MoneyOrigin,
    /// Places paid per place, plus the facility's capacity for money not paid per place.
    pub places: Option<i64>,
    pub years: Vec<AnnexYear>,
    pub total: AnnexAmounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnexTotal {
    pub year: i64,
    pub money_origin: MoneyOrigin,
    #[serde(flatten)]
    pub amounts: AnnexAmounts,
}

/// The financial annex of a contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnexView {
    pub contract_id: Uuid,
    pub reference: String,
    pub kind: ContractKind,
    pub status: ContractStatus,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub lines: Vec<AnnexLineView>,
    /// Per year and origin.
    pub totals: Vec<AnnexTotal>,
    pub total: AnnexAmounts,
}

/// Reads the commitments of the contract with what the annex shows of them, and sums them.
fn read_annex(conn: &mut DbConnection, caller: &Caller, contract_id: Uuid) -> ApiResult<AnnexView> {
    let contract = write::scoped(conn, caller, contract_id)?;
    let row = contract.row();
    let commitments = repo::list(conn, std::slice::from_ref(&row.id))?;
    let ids: Vec<Uuid> = commitments.iter().map(|c| c.id).collect();
    let mut years = repo::year_figures(conn, &ids)?;
    let paid = repo::paid_totals(conn, &ids)?.by_year;
    let equipment_ids: Vec<Uuid> = commitments.iter().filter_map(|c| c.equipment_id).collect();
    let facilities: HashMap<Uuid, _> =
        equipments::find_many(conn, &equipment_ids)?.into_iter().map(|equipment| (equipment.id, equipment)).collect();
    let manager_ids: Vec<Uuid> = commitments.iter().map(|c| c.payee_id).collect();
    let managers: HashMap<Uuid, String> = organisations::find_many(conn, &manager_ids)?
        .into_iter()
        .map(|organisation| (organisation.id, organisation.name))
        .collect();
    let facts: Vec<AnnexCommitment<Uuid>> = commitments
        .iter()
        .map(|c| AnnexCommitment {
            equipment: c.equipment_id,
            manager: c.payee_id,
            programme: c.programme,
            origin: money_origin(c.programme, c.basis, c.origin),
            status: c.status,
            places_paid: if c.basis == Basis::PerPlace { c.units } else { None },
            facility_capacity: c.equipment_id.and_then(|id| facilities.get(&id)).and_then(|e| e.capacity_places),
            years: years
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(year, figures)| {
                    let money = YearMoney {
                        amount_cents: figures.amount_cents,
                        forecast_cents: figures.forecast_cents,
                        actual_cents: figures.actual_cents,
                        paid_cents: paid.get(&(c.id, year)).copied().unwrap_or(0),
                    };
                    (year, money)
                })
                .collect(),
        })
        .collect();
    let sums = annex::annex(&facts);
    let lines = sums
        .lines
        .into_iter()
        .map(|line| {
            let facility = line.key.equipment.and_then(|id| facilities.get(&id));
            Ok(AnnexLineView {
                equipment_id: line.key.equipment,
                equipment_name: facility.map(|e| e.name.clone()),
                equipment_type: facility.map(|e| e.equipment_type),
                manager_id: line.key.manager,
                manager_name: managers
                    .get(&line.key.manager)
                    .cloned()
                    .ok_or_else(|| ApiError::internal(format!("payee {} has no organisation", line.key.manager)))?,
                programme: line.key.programme,
                money_origin: line.key.origin,
                places: line.places,
                years: line
                    .years
                    .into_iter()
                    .map(|(year, figures)| AnnexYear { year, amounts: figures.into() })
                    .collect(),
                total: line.total.into(),
            })
        })
        .collect::<ApiResult<_>>()?;
    let today = chrono::Utc::now().date_naive();
    Ok(AnnexView {
        contract_id,
        reference: row.reference.clone(),
        kind: row.kind,
        status: row.status.seen_on(today, row.start_date, row.end_date),
        start_date: row.start_date,
        end_date: row.end_date,
        lines,
        totals: sums
            .totals
            .into_iter()
            .map(|((year, money_origin), figures)| AnnexTotal { year, money_origin, amounts: figures.into() })
            .collect(),
        total: sums.total.into(),
    })
}

/// The columns of the CSV as the JSON names them; `row` says whether a row is a line of the
/// annex (`line`) or a total per year and origin (`total`).
const CSV_COLUMNS: [&str; 15] = [
    "row",
    "equipment_name",
    "equipment_type",
    "equipment_id",
    "manager_name",
    "manager_id",
    "programme",
    "money_origin",
    "places",
    "year",
    "committed_cents",
    "draft_cents",
    "forecast_cents",
    "actual_cents",
    "paid_cents",
];

const EURO_COLUMNS: [&str; 5] = ["committed_eur", "draft_eur", "forecast_eur", "actual_eur", "paid_eur"];

fn euro_cells(amounts: &AnnexAmounts) -> Vec<String> {
    let optional = |cents: Option<i64>| cents.map(euros).unwrap_or_default();
    vec![
        euros(amounts.committed_cents),
        euros(amounts.draft_cents),
        optional(amounts.forecast_cents),
        optional(amounts.actual_cents),
        euros(amounts.paid_cents),
    ]
}

/// One row per line and year, then one per year and origin; amounts in cents and in euros with
/// a decimal comma, UTF-8 with a BOM and `;` between fields.
fn annex_csv(view: &AnnexView) -> String {
    let mut table = CsvTable::new(&[CSV_COLUMNS.as_slice(), EURO_COLUMNS.as_slice()].concat());
    for line in &view.lines {
        for year in &line.years {
            let mut record = serde_json::to_value(line).unwrap_or_default();
            record["row"] = "line".into();
            record["year"] = year.year.into();
            if let (Some(record), Ok(serde_json::Value::Object(amounts))) =
                (record.as_object_mut(), serde_json::to_value(year.amounts))
            {
                record.extend(amounts);
            }
            table.row(&[json_cells(&record, &CSV_COLUMNS), euro_cells(&year.amounts)].concat());
        }
    }
    for total in &view.totals {
        let mut record = serde_json::to_value(total).unwrap_or_default();
        record["row"] = "total".into();
        table.row(&[json_cells(&record, &CSV_COLUMNS), euro_cells(&total.amounts)].concat());
    }
    table.finish()
}

/// The financial annex of a contract.
///
/// The financial annex of a contract: per facility, manager, programme and origin (`ex_cej`,
/// `new_places`, `other`), the places and, per year, the amounts committed, still in draft,
/// forecast, actual and paid, with totals per year and origin. With `Accept: text/csv`, one row per
/// line and year then one per total (`row` = `line` or `total`), semicolon-separated UTF-8 with a
/// BOM, amounts in cents and in euros with a decimal comma. Who may call it: whoever reaches the
/// contract (admins, CAF agents and integrations of its département, collectivities party to it);
/// another contract answers 404, as an unknown id.
#[utoipa::path(
    tag = "funding",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The annex", content((AnnexView = "application/json"), (String = "text/csv"))), ReportProblems),
    security(("bearer" = []))
)]
#[get("/contracts/{id}/annex")]
pub async fn get_annex(
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    _query: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let contract_id = id.into_inner();
    let view = db::run(&pool, move |conn| read_annex(conn, &caller, contract_id)).await?;
    if !wants_csv(&req) {
        return Ok(HttpResponse::Ok().json(view));
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"annex-{}.csv\"", view.reference.replace('"', "")),
        ))
        .content_type("text/csv; charset=utf-8")
        .body(annex_csv(&view)))
}
