//! The territory reference: départements, EPCI and communes, readable by every role.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problems::{ListProblems, ReadProblems};
use super::stored_code;
use crate::auth::Caller;
use crate::db::territories::{self as repo, CommuneFilter, CommuneRow, DepartmentRow, EpciFilter, EpciRow};
use crate::db::{self, DbPool};
use crate::domain::reference::{CommuneKind, EpciKind, Zone};
use crate::domain::territory::{fold_for_search, is_caf_department};
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::{Page, PageParams, PageRequest, PageTokenKey};
use crate::http::query::ApiQuery;

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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EpciView {
    #[serde(flatten)]
    pub summary: EpciSummary,
    pub members: Vec<CommuneView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommuneView {
    #[schema(example = "74042")]
    pub insee: String,
    #[schema(example = "Bonneville")]
    pub name: String,
    pub kind: CommuneKind,
    pub department: String,
    pub region: Option<String>,
    /// SIREN of the commune as a legal person (municipal arrondissements have none).
    pub siren: Option<String>,
    /// SIREN of the EPCI it belongs to.
    pub epci_siren: Option<String>,
    /// For a municipal arrondissement, the INSEE code of its commune.
    pub parent_insee: Option<String>,
    pub postal_codes: Vec<String>,
    /// Municipal population.
    pub population: Option<i64>,
}

impl TryFrom<DepartmentRow> for DepartmentView {
    type Error = ApiError;

    fn try_from(row: DepartmentRow) -> ApiResult<Self> {
        Ok(Self {
            has_caf: is_caf_department(&row.code),
            code: row.code,
            name: row.name,
            region: row.region,
            chef_lieu: row.chef_lieu,
            zone: stored_code(&row.zone)?,
            population: row.population,
            commune_count: row.commune_count,
        })
    }
}

impl TryFrom<CommuneRow> for CommuneView {
    type Error = ApiError;

    fn try_from(row: CommuneRow) -> ApiResult<Self> {
        Ok(Self {
            insee: row.insee,
            name: row.name,
            kind: stored_code(&row.kind)?,
            department: row.department,
            region: row.region,
            siren: row.siren,
            epci_siren: row.epci_siren,
            parent_insee: row.parent_insee,
            postal_codes: row.postal_codes.split(',').filter(|code| !code.is_empty()).map(str::to_owned).collect(),
            population: row.population,
        })
    }
}

fn epci_summary(row: EpciRow, stats: Option<(i64, Vec<String>)>) -> ApiResult<EpciSummary> {
    let (member_count, departments) = stats.unwrap_or_default();
    Ok(EpciSummary {
        siren: row.siren,
        name: row.name,
        kind: stored_code(&row.kind)?,
        financing_mode: row.financing_mode,
        population: row.population,
        departments,
        member_count,
    })
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
#[utoipa::path(
    tag = "territories",
    params(DepartmentListQuery),
    responses((status = 200, body = Page<DepartmentView>), ListProblems),
    security(("bearer" = []))
)]
#[get("/departments")]
pub async fn list_departments(
    caller: Caller,
    ApiQuery(query): ApiQuery<DepartmentListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
) -> ApiResult<HttpResponse> {
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let page = PageRequest::new(&tokens, &params, format!("departments|{}", caller.fingerprint()))?;
    let page = db::run(&pool, move |conn| {
        let rows = repo::list_departments(conn, page.after.as_deref(), page.fetch_limit())?;
        page.try_finish(&tokens, rows, |row| row.code.clone(), DepartmentView::try_from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One département by its code (`74`, `2A`, `974`).
#[utoipa::path(
    tag = "territories",
    params(("code" = String, Path, description = "Département code")),
    responses((status = 200, body = DepartmentView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/departments/{code}")]
pub async fn get_department(
    _caller: Caller,
    code: web::Path<String>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let row = db::run(&pool, move |conn| repo::find_department(conn, &code)?.ok_or(ApiError::NotFound)).await?;
    Ok(HttpResponse::Ok().json(DepartmentView::try_from(row)?))
}

/// List the EPCI (intercommunalités), by SIREN.
#[utoipa::path(
    tag = "territories",
    params(EpciListQuery),
    responses((status = 200, body = Page<EpciSummary>), ListProblems),
    security(("bearer" = []))
)]
#[get("/epcis")]
pub async fn list_epcis(
    caller: Caller,
    ApiQuery(query): ApiQuery<EpciListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
) -> ApiResult<HttpResponse> {
    let filter = EpciFilter { department: query.department, q: search_term(query.q.as_deref()) };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("epcis|{:?}|{:?}|{}", filter.department, filter.q, caller.fingerprint());
    let page = PageRequest::new(&tokens, &params, binding)?;
    let page = db::run(&pool, move |conn| {
        let rows = repo::list_epcis(conn, &filter, page.after.as_deref(), page.fetch_limit())?;
        let sirens: Vec<String> = rows.iter().map(|row| row.siren.clone()).collect();
        let mut stats = repo::epci_member_stats(conn, &sirens)?;
        page.try_finish(
            &tokens,
            rows,
            |row| row.siren.clone(),
            |row| {
                let row_stats = stats.remove(&row.siren);
                epci_summary(row, row_stats)
            },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One EPCI by its SIREN, with its member communes.
#[utoipa::path(
    tag = "territories",
    params(("siren" = String, Path, description = "SIREN of the EPCI", example = "200000172")),
    responses((status = 200, body = EpciView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/epcis/{siren}")]
pub async fn get_epci(_caller: Caller, siren: web::Path<String>, pool: web::Data<DbPool>) -> ApiResult<HttpResponse> {
    let siren = siren.into_inner();
    let view = db::run(&pool, move |conn| {
        let row = repo::find_epci(conn, &siren)?.ok_or(ApiError::NotFound)?;
        let members: Vec<CommuneView> =
            repo::epci_members(conn, &siren)?.into_iter().map(CommuneView::try_from).collect::<ApiResult<_>>()?;
        let mut departments: Vec<String> = members.iter().map(|member| member.department.clone()).collect();
        departments.sort();
        departments.dedup();
        let stats = (i64::try_from(members.len()).unwrap_or(i64::MAX), departments);
        Ok(EpciView { summary: epci_summary(row, Some(stats))?, members })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// List the communes and municipal arrondissements, by INSEE code.
#[utoipa::path(
    tag = "territories",
    params(CommuneListQuery),
    responses((status = 200, body = Page<CommuneView>), ListProblems),
    security(("bearer" = []))
)]
#[get("/communes")]
pub async fn list_communes(
    caller: Caller,
    ApiQuery(query): ApiQuery<CommuneListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
) -> ApiResult<HttpResponse> {
    let filter = CommuneFilter { department: query.department, epci: query.epci, q: search_term(query.q.as_deref()) };
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("communes|{:?}|{:?}|{:?}|{}", filter.department, filter.epci, filter.q, caller.fingerprint());
    let page = PageRequest::new(&tokens, &params, binding)?;
    let page = db::run(&pool, move |conn| {
        let rows = repo::list_communes(conn, &filter, page.after.as_deref(), page.fetch_limit())?;
        page.try_finish(&tokens, rows, |row| row.insee.clone(), CommuneView::try_from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One commune or municipal arrondissement by its INSEE code.
#[utoipa::path(
    tag = "territories",
    params(("insee" = String, Path, description = "INSEE code", example = "74042")),
    responses((status = 200, body = CommuneView), ReadProblems),
    security(("bearer" = []))
)]
#[get("/communes/{insee}")]
pub async fn get_commune(
    _caller: Caller,
    insee: web::Path<String>,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let insee = insee.into_inner();
    let row = db::run(&pool, move |conn| repo::find_commune(conn, &insee)?.ok_or(ApiError::NotFound)).await?;
    Ok(HttpResponse::Ok().json(CommuneView::try_from(row)?))
}
