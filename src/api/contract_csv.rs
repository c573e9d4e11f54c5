//! The contract list as CSV, for departmental schema tools and spreadsheets: one row per contract
//! with its main fields and perimeter counts, same filters, order and scope as the JSON list,
//! streamed in chunks (UTF-8 with BOM, `;` between fields; lists inside a field use `,`).

use std::sync::Arc;

use actix_web::HttpResponse;
use chrono::NaiveDate;

use super::contract_view::{ContractView, summarised_view};
use crate::auth::Scope;
use crate::db::DbPool;
use crate::db::contracts::{self as repo, ContractFilter, ContractOrder};
use crate::error::ApiResult;
use crate::http::csv;

/// Contracts read per query while streaming.
const ROWS_PER_QUERY: i64 = 100;

pub const COLUMNS: [&str; 21] = [
    "id",
    "reference",
    "kind",
    "status",
    "title",
    "department",
    "start_date",
    "end_date",
    "signed_on",
    "ended_on",
    "fields",
    "perimeter_epcis",
    "perimeter_communes",
    "epci_count",
    "commune_count",
    "covered_communes",
    "covered_population",
    "predecessor_ids",
    "version",
    "created_at",
    "updated_at",
];

fn row(view: ContractView) -> Vec<String> {
    let text = |value: Option<NaiveDate>| value.map(|date| date.to_string()).unwrap_or_default();
    let fields: Vec<&str> = view.fields.iter().map(|field| field.as_str()).collect();
    let predecessors: Vec<String> = view.predecessor_ids.iter().map(ToString::to_string).collect();
    vec![
        view.id.to_string(),
        view.reference,
        view.kind.as_str().to_owned(),
        view.status.as_str().to_owned(),
        view.title,
        view.department,
        view.start_date.to_string(),
        view.end_date.to_string(),
        text(view.signed_on),
        text(view.ended_on),
        fields.join(","),
        view.perimeter.epcis.join(","),
        view.perimeter.communes.join(","),
        view.perimeter.epcis.len().to_string(),
        view.perimeter.communes.len().to_string(),
        view.perimeter.covered_communes.to_string(),
        view.perimeter.covered_population.to_string(),
        predecessors.join(","),
        view.version.to_string(),
        view.created_at,
        view.updated_at,
    ]
}

/// Every contract of the selection, in the list's order, as a CSV download, each built from the
/// view the JSON list shows, so that both show a contract alike.
pub async fn answer(
    pool: Arc<DbPool>,
    scope: Scope,
    filter: ContractFilter,
    order: ContractOrder,
) -> ApiResult<HttpResponse> {
    let today = chrono::Utc::now().date_naive();
    csv::streamed(pool, &COLUMNS, "contracts.csv", move |conn, cursor: Option<(String, String)>| {
        let rows = repo::list(conn, &scope, &filter, today, order, cursor.as_ref(), ROWS_PER_QUERY)?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == ROWS_PER_QUERY;
        let next = rows.last().filter(|_| full).map(|(last, _)| (repo::sort_value(last, order.key), last.id.clone()));
        let lines =
            rows.into_iter().map(|(contract, summary)| summarised_view(contract, Some(&summary), today).map(row));
        Ok((lines.collect::<ApiResult<_>>()?, next))
    })
    .await
}
