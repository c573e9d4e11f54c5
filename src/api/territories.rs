//! The territory reference: départements, EPCI and communes, readable by every role.

use actix_web::{HttpResponse, get};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problems::{ListProblems, ReadProblems};
pub use crate::db::territories::CommuneRow as CommuneView;
use crate::db::territories::{self as repo, CommuneFilter, DepartmentRow, EpciFilter, EpciRow};
use crate::db::{self, DbConnection, DbPool};
use crate::domain::reference::{EpciKind, Zone};
use crate::domain::territory::{fold_for_search, is_caf_department};
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::{Page, PageParams};
use crate::http::query::ApiQuery;
use crate::http::requests::{List, Read};
use crate::write;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepartmentView {
    #[schema(example = "74")]
    pub code: String,
    #[schema(example = "Haute-Savoie")]
    pub name: String,
    /// INSEE code of the région.
    #[schema(example = "84")]
    pub region: String,
    /// INSEE code of the prefecture commune.
    pub chef_lieu: Option<String>,
    pub zone: Zone,
    /// Whether a CAF serves it (the collectivités d'outre-mer have none).
    pub has_caf: bool,
    /// Municipal population of its current communes.
    pub population: i64,
    pub commune_count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EpciSummary {
    #[schema(example = "200000172")]
    pub siren: String,
    #[schema(example = "CC Faucigny - Glières")]
    pub name: String,
    pub kind: EpciKind,
    /// FPU (fiscalité professionnelle unique) or FA (fiscalité additionnelle).
    pub financing_mode: Option<String>,
    /// Municipal population.
    pub population: Option<i64>,
    /// Départements of its member communes.
    pub departments: Vec<String>,
    pub member_count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EpciView {
    #[serde(flatten)]
    pub summary: EpciSummary,
    pub members: Vec<CommuneView>,
}

impl From<DepartmentRow> for DepartmentView {
    fn from(row: DepartmentRow) -> Self {
        Self {
            has_caf: is_caf_department(&row.code),
            code: row.code,
            name: row.name,
            region: row.region,
            chef_lieu: row.chef_lieu,
            zone: row.zone,
            population: row.population,
            commune_count: row.commune_count,
        }
    }
}

/// An EPCI with the member count and the départements of `stats` (none when it has no members).
fn epci_summary(row: EpciRow, stats: Option<(i64, Vec<String>)>) -> EpciSummary {
    let (member_count, departments) = stats.unwrap_or_default();
    EpciSummary {
        siren: row.siren,
        name: row.name,
        kind: row.kind,
        financing_mode: row.financing_mode,
        population: row.population,
        departments,
        member_count,
    }
}

/// 200 with one entry of the reference (which has no versions, so no `ETag`); 404 when `load`
/// finds none.
async fn read_reference<T, F>(pool: &DbPool, load: F) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection) -> QueryResult<Option<T>> + Send + 'static,
{
    let entry = db::run(pool, move |conn| load(conn)?.ok_or(ApiError::NotFound)).await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// Folds `q` for search; a `q` with nothing searchable in it filters nothing.
fn search_term(q: Option<&str>) -> Option<String> {
    q.map(fold_for_search).filter(|folded| !folded.is_empty())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DepartmentListQuery {
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EpciListQuery {
    /// EPCI with at least one member commune in this département.
    pub department: Option<String>,
    /// Part of the name (case, accents and punctuation ignored), or the start of the SIREN.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommuneListQuery {
    pub department: Option<String>,
    /// SIREN of the EPCI the communes belong to.
    pub epci: Option<String>,
    /// Part of the name (case, accents and punctuation ignored), or the start of the INSEE code.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// List the départements, by code.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(DepartmentListQuery),
    responses((status = 200, body = Page<DepartmentView>), ListProblems),
    security(("bearer" = []))
)]
#[get("/departments")]
pub async fn list_departments((caller, query, pool, tokens): List<DepartmentListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("departments|{}", caller.fingerprint());
    let cursor_of = |view: &DepartmentView| view.code.clone();
    write::read_page(&pool, tokens, params, binding, cursor_of, |conn, after, limit| {
        Ok(repo::list_departments(conn, after, limit)?.into_iter().map(DepartmentView::from).collect())
    })
    .await
}

/// One département by its code (`74`, `2A`, `974`).
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(("code" = String, Path, description = "Département code")),
    responses((status = 200, body = DepartmentView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/departments/{code}")]
pub async fn get_department((_caller, code, _no_parameters, pool): Read<String>) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    read_reference(&pool, move |conn| Ok(repo::find_department(conn, &code)?.map(DepartmentView::from))).await
}

/// List the EPCI (intercommunalités), by SIREN.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(EpciListQuery),
    responses((status = 200, body = Page<EpciSummary>), ListProblems),
    security(("bearer" = []))
)]
#[get("/epcis")]
pub async fn list_epcis((caller, query, pool, tokens): List<EpciListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let filter = EpciFilter { department: query.department, q: search_term(query.q.as_deref()) };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("epcis|{:?}|{:?}|{}", filter.department, filter.q, caller.fingerprint());
    let cursor_of = |view: &EpciSummary| view.siren.clone();
    write::read_page(&pool, tokens, params, binding, cursor_of, move |conn, after, limit| {
        let rows = repo::list_epcis(conn, &filter, after, limit)?;
        let sirens: Vec<String> = rows.iter().map(|row| row.siren.clone()).collect();
        let mut stats = repo::epci_member_stats(conn, &sirens)?;
        let summary = |row: EpciRow| {
            let row_stats = stats.remove(&row.siren);
            epci_summary(row, row_stats)
        };
        Ok(rows.into_iter().map(summary).collect())
    })
    .await
}

/// One EPCI by its SIREN, with its member communes.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(("siren" = String, Path, description = "SIREN of the EPCI", example = "200000172", pattern = r"^[0-9]{9}$")),
    responses((status = 200, body = EpciView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/epcis/{siren}")]
pub async fn get_epci((_caller, siren, _no_parameters, pool): Read<String>) -> ApiResult<HttpResponse> {
    let siren = siren.into_inner();
    read_reference(&pool, move |conn| {
        let Some(row) = repo::find_epci(conn, &siren)? else { return Ok(None) };
        let members = repo::epci_members(conn, &siren)?;
        let mut departments: Vec<String> = members.iter().map(|member| member.department.clone()).collect();
        departments.sort();
        departments.dedup();
        let stats = (i64::try_from(members.len()).unwrap_or(i64::MAX), departments);
        Ok(Some(EpciView { summary: epci_summary(row, Some(stats)), members }))
    })
    .await
}

/// List the communes and municipal arrondissements, by INSEE code.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(CommuneListQuery),
    responses((status = 200, body = Page<CommuneView>), ListProblems),
    security(("bearer" = []))
)]
#[get("/communes")]
pub async fn list_communes((caller, query, pool, tokens): List<CommuneListQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let filter = CommuneFilter { department: query.department, epci: query.epci, q: search_term(query.q.as_deref()) };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("communes|{:?}|{:?}|{:?}|{}", filter.department, filter.epci, filter.q, caller.fingerprint());
    let cursor_of = |row: &CommuneView| row.insee.clone();
    write::read_page(&pool, tokens, params, binding, cursor_of, move |conn, after, limit| {
        Ok(repo::list_communes(conn, &filter, after, limit)?)
    })
    .await
}

/// One commune or municipal arrondissement by its INSEE code.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "territories",
    params(("insee" = String, Path, description = "INSEE code", example = "74042", pattern = r"^([0-9]{2}|2[AB])[0-9]{3}$")),
    responses((status = 200, body = CommuneView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/communes/{insee}")]
pub async fn get_commune((_caller, insee, _no_parameters, pool): Read<String>) -> ApiResult<HttpResponse> {
    let insee = insee.into_inner();
    read_reference(&pool, move |conn| repo::find_commune(conn, &insee)).await
}
