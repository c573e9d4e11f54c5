//! `GET /v1/departments/{code}/summary`: a département at a glance for departmental schema tools
//! (SDSF, animation de la vie sociale): territory covered by active CTGs against the reference,
//! CEJs still to renew, contracts by status and field, funding per year and programme, and the
//! latest coverage rate of each EPCI. As JSON, or as CSV sections with `Accept: text/csv`.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::funding_summary::{FundingSummaryRow, OriginSummaryRow, euros, funding_tables, json_cells};
use super::problems::ReportProblems;
use crate::auth::{Caller, Scope};
use crate::db::department_summary::{self as repo, TerritoryCoverage as CoverageView};
use crate::db::{self, DbConnection, DbPool, territories};
use crate::domain::contract::{ContractKind, ContractStatus, Field, RecordedStatus};
use crate::error::{ApiError, ApiResult};
use crate::http::csv::{CsvTable, wants_csv};
use crate::http::query::{ApiQuery, NoParameters};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusCount {
    pub kind: ContractKind,
    pub status: ContractStatus,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldCount {
    pub field: Field,
    /// Contracts of the département covering the field, cancelled and superseded ones aside.
    pub count: i64,
}

/// A CEJ running, or ended without a CTG that replaced it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CejToRenew {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub status: ContractStatus,
    pub end_date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatestCoverageRate {
    pub epci_siren: String,
    pub epci_name: String,
    pub period: String,
    /// Exact decimal as a string; null when suppressed.
    pub value: Option<String>,
    pub suppressed: bool,
    pub source: String,
    pub millesime: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentSummary {
    pub department: String,
    pub name: String,
    /// The day `active` and "in force" are judged on.
    pub as_of: NaiveDate,
    pub coverage: CoverageView,
    pub contracts_by_status: Vec<StatusCount>,
    pub contracts_by_field: Vec<FieldCount>,
    pub cej_to_renew: Vec<CejToRenew>,
    /// Committed, scheduled, paid and remaining money of the département's contracts.
    pub funding: Vec<FundingSummaryRow>,
    /// The same money per year and origin (`ex_cej`, `new_places`, `other`), with the places
    /// funded.
    pub funding_by_origin: Vec<OriginSummaryRow>,
    /// The latest `taux_couverture_eaje_epci` observation of each EPCI of the département.
    pub latest_coverage_rates: Vec<LatestCoverageRate>,
}

/// 403 for a role without départements, 404 for a département outside the caller's (as for an
/// unknown code).
fn check_scope(caller: &Caller, department: &str) -> ApiResult<()> {
    match caller.scope() {
        Scope::Everything => Ok(()),
        Scope::Departments(departments) if departments.contains(department) => Ok(()),
        Scope::Departments(_) => Err(ApiError::NotFound),
        Scope::PartyTo(_) => {
            Err(ApiError::Forbidden("departmental summaries are for CAF agents and integrations".into()))
        }
    }
}

fn summarise(conn: &mut DbConnection, code: &str, today: NaiveDate) -> ApiResult<DepartmentSummary> {
    let department = territories::find_department(conn, code)?.ok_or(ApiError::NotFound)?;
    let contracts = repo::contracts_of(conn, code)?;
    let mut by_status: BTreeMap<(ContractKind, ContractStatus), i64> = BTreeMap::new();
    let mut by_field: BTreeMap<Field, i64> = BTreeMap::new();
    let mut cej_to_renew = Vec::new();
    for contract in &contracts {
        let (kind, recorded) = (contract.kind, contract.status);
        let status = recorded.seen_on(today, contract.start_date, contract.end_date);
        *by_status.entry((kind, status)).or_default() += 1;
        if !matches!(recorded, RecordedStatus::Cancelled | RecordedStatus::Superseded) {
            for field in contract.fields.iter().copied() {
                *by_field.entry(field).or_default() += 1;
            }
        }
        let running_or_ended = matches!(
            status,
            ContractStatus::Signed | ContractStatus::Active | ContractStatus::Expired | ContractStatus::Terminated
        );
        if kind == ContractKind::Cej && running_or_ended {
            cej_to_renew.push(CejToRenew {
                id: contract.id.clone(),
                reference: contract.reference.clone(),
                title: contract.title.clone(),
                status,
                end_date: contract.end_date,
            });
        }
    }
    let ids: Vec<String> = contracts.iter().map(|contract| contract.id.clone()).collect();
    let funding = funding_tables(conn, &ids)?;
    let latest_coverage_rates = repo::latest_coverage_rates(conn, code)?
        .into_iter()
        .map(|(row, epci_name)| LatestCoverageRate {
            epci_siren: row.geo_code,
            epci_name,
            period: row.period,
            value: row.value,
            suppressed: row.suppressed,
            source: row.source,
            millesime: row.millesime,
        })
        .collect();
    Ok(DepartmentSummary {
        department: department.code,
        name: department.name,
        as_of: today,
        coverage: repo::territory_coverage(conn, code, today)?,
        contracts_by_status: by_status
            .into_iter()
            .map(|((kind, status), count)| StatusCount { kind, status, count })
            .collect(),
        contracts_by_field: by_field.into_iter().map(|(field, count)| FieldCount { field, count }).collect(),
        cej_to_renew,
        funding: funding.by_programme,
        funding_by_origin: funding.by_origin,
        latest_coverage_rates,
    })
}

/// The summary of a département for departmental schema tools.
///
/// Admins read every département, CAF agents and integrations their own; collectivities have no
/// départements (403). With `Accept: text/csv`, the tables as sections of one CSV file (UTF-8 with
/// BOM, `;`): each section starts with a line `# name` and its header, and ends with an empty line.
/// Who may call it: admins, and CAF agents and integrations of the département (another one answers
/// 404); collectivities get 403.
#[utoipa::path(
    tag = "territories",
    params(("code" = String, Path, description = "Département code, e.g. 74 or 2A")),
    responses(
        (status = 200, description = "The summary", content((DepartmentSummary = "application/json"), (String = "text/csv"))),
        (status = 403, description = "A collectivity has no departmental summary (`FORBIDDEN`)", body = crate::error::Problem, content_type = "application/problem+json"),
        ReportProblems
    ),
    security(("bearer" = []))
)]
#[get("/departments/{code}/summary")]
pub async fn get_department_summary(
    caller: Caller,
    code: web::Path<String>,
    _query: ApiQuery<NoParameters>,
    pool: web::Data<DbPool>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    check_scope(&caller, &code)?;
    let today = chrono::Utc::now().date_naive();
    let summary = db::run(&pool, move |conn| summarise(conn, &code, today)).await?;
    if !wants_csv(&req) {
        return Ok(HttpResponse::Ok().json(summary));
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"summary-{}-{}.csv\"", summary.department, summary.as_of),
        ))
        .content_type("text/csv; charset=utf-8")
        .body(csv_sections(&summary)))
}

/// CSV sections: `# name`, a header and rows each, an empty line between sections.
struct Sections {
    text: String,
}

impl Sections {
    fn add(&mut self, name: &str, columns: &[&str], rows: impl Iterator<Item = Vec<String>>) {
        let mut table = CsvTable::continuation();
        if !self.text.is_empty() {
            table.row(&[String::new()]);
        }
        table.row(&[format!("# {name}")]);
        table.row(&columns.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>());
        for row in rows {
            table.row(&row);
        }
        self.text.push_str(&table.finish());
    }

    /// A section whose columns are fields of the JSON answer's records, so that both forms of
    /// the summary say the same thing by construction.
    fn add_records<T: Serialize>(&mut self, name: &str, columns: &[&str], records: &[T]) {
        self.add(name, columns, records.iter().map(|record| json_cells(record, columns)));
    }
}

const FUNDING_CENTS: [&str; 5] = ["year", "programme", "committed_cents", "paid_cents", "remaining_cents"];

fn csv_sections(summary: &DepartmentSummary) -> String {
    let mut sections = Sections { text: String::new() };
    let coverage = [
        "communes_total",
        "communes_covered",
        "population_total",
        "population_covered",
        "epcis_total",
        "epcis_covered",
    ];
    sections.add_records("coverage", &coverage, std::slice::from_ref(&summary.coverage));
    sections.add_records("contracts_by_status", &["kind", "status", "count"], &summary.contracts_by_status);
    sections.add_records("contracts_by_field", &["field", "count"], &summary.contracts_by_field);
    let cej = ["id", "reference", "title", "status", "end_date"];
    sections.add_records("cej_to_renew", &cej, &summary.cej_to_renew);
    let funding_columns = [FUNDING_CENTS.as_slice(), &["committed_euros", "paid_euros"]].concat();
    sections.add(
        "funding",
        &funding_columns,
        summary.funding.iter().map(|row| {
            let euros_of = [euros(row.figures.committed_cents), euros(row.figures.paid_cents)];
            [json_cells(row, &FUNDING_CENTS), euros_of.to_vec()].concat()
        }),
    );
    let by_origin = ["year", "money_origin", "committed_cents", "paid_cents", "remaining_cents", "places"];
    sections.add_records("funding_by_origin", &by_origin, &summary.funding_by_origin);
    let rates = ["epci_siren", "epci_name", "period", "value", "suppressed", "source", "millesime"];
    sections.add_records("latest_coverage_rates", &rates, &summary.latest_coverage_rates);
    format!("\u{feff}{}", sections.text)
}
