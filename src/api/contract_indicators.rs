//! The indicators a contract follows, in the IATI pattern: a baseline from the diagnostic, then a
//! target per period, read with the observed actual of that period and the progress towards the
//! target. Admins and CAF agents write them; whoever reaches the contract reads them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::problems::{ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, UpdateProblems};
use crate::db::contract_indicators::{self as repo, ContractIndicatorRow, TargetRow};
use crate::db::contracts::ContractRow;
use crate::db::indicators::IndicatorRow;
use crate::db::{self, DbConnection, indicators, observations, territories};
use crate::domain::indicators::{GeoLevel, Periodicity, Unit};
use crate::domain::observations::ObservationOrigin;
use crate::domain::progress::{
    PlaceFacts, Point, check_order, check_place, periods, read_against, read_point, read_targets,
};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::Page;
use crate::http::requests::{CreateUnder, Parts, Read, Remove, Update};
use crate::write::{self, Access, Resource};

/// What a client may read back and send again, but never set: the server's fields and what is
/// copied from the catalogue.
const READ_ONLY_ON_CREATE: &[&str] = &["id", "version", "created_at", "updated_at", "contract_id", "unit", "ascending"];
/// The same, and what the follow-up is of: another indicator or place is another follow-up.
const READ_ONLY_ON_PATCH: &[&str] = &[
    "id",
    "version",
    "created_at",
    "updated_at",
    "contract_id",
    "unit",
    "ascending",
    "indicator",
    "geo_level",
    "geo_code",
];

/// A baseline: the value measured for one period before the contract acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorBaseline {
    /// `2024` or `2024-Q2`, as the indicator's periodicity allows.
    #[schema(example = "2022")]
    pub period: String,
    /// An exact decimal with at most 4 decimals, as a string.
    #[schema(example = "48.2")]
    pub value: String,
}

/// A target: the value the contract aims at for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorTarget {
    /// `2024` or `2024-Q2`, as the indicator's periodicity allows, inside the contract's years.
    #[schema(example = "2026")]
    pub period: String,
    /// An exact decimal with at most 4 decimals, as a string.
    #[schema(example = "55")]
    pub value: String,
}

/// A target with what was observed for its period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorTargetView {
    #[schema(example = "2026")]
    pub period: String,
    #[schema(example = "55")]
    pub value: String,
    /// The observed value for exactly this period and place; `null` when there is none or it is
    /// suppressed for statistical secrecy.
    #[schema(example = "52.1")]
    pub actual: Option<String>,
    /// Whether an observation exists for the period but its value is suppressed.
    pub actual_suppressed: bool,
    /// Share of the way from the baseline to the target covered by the actual, in percent rounded
    /// half away from zero to one decimal (`"62.5"`, `"100"`, `"-12.5"`, above 100 past the
    /// target); `null` without a baseline or an actual, or when the target equals the baseline.
    #[schema(example = "57.1")]
    pub progress_percent: Option<String>,
    /// Whether the actual meets the target in the indicator's direction (at or above it when
    /// `ascending`, at or below it otherwise); `null` without an actual.
    pub achieved: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContractIndicatorView {
    pub id: Uuid,
    pub contract_id: Uuid,
    /// The catalogue code.
    #[schema(example = "taux_couverture_eaje_epci")]
    pub indicator: String,
    pub geo_level: GeoLevel,
    /// INSEE code of a commune, SIREN of an EPCI or code of a département.
    #[schema(example = "200000172")]
    pub geo_code: String,
    /// The indicator's unit, from the catalogue.
    pub unit: Unit,
    /// Whether a higher value is better, from the catalogue.
    pub ascending: bool,
    pub baseline: Option<IndicatorBaseline>,
    /// By period.
    pub targets: Vec<IndicatorTargetView>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Resource for ContractIndicatorView {
    const NAME: &'static str = "contract_indicator";

    fn id(&self) -> String {
        self.id.to_string()
    }

    fn version(&self) -> Option<i64> {
        Some(self.version)
    }

    fn location(&self) -> String {
        format!("/v1/contracts/{}/indicators/{}", self.contract_id, self.id)
    }

    /// What the follow-up's writers set, without what is read from the catalogue and the
    /// observations, which change without this resource changing.
    fn recorded(&self) -> ApiResult<serde_json::Value> {
        let targets: Vec<IndicatorTarget> = self
            .targets
            .iter()
            .map(|target| IndicatorTarget { period: target.period.clone(), value: target.value.clone() })
            .collect();
        Ok(serde_json::json!({
            "id": self.id,
            "contract_id": self.contract_id,
            "indicator": self.indicator,
            "geo_level": self.geo_level,
            "geo_code": self.geo_code,
            "baseline": self.baseline,
            "targets": targets,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }))
    }
}

/// The view of a follow-up: its targets by period, each with the observation of its period.
fn view(
    conn: &mut DbConnection,
    row: ContractIndicatorRow,
    targets: Vec<TargetRow>,
    indicator: &IndicatorRow,
) -> ApiResult<ContractIndicatorView> {
    let periods: Vec<String> = targets.iter().map(|target| target.period.to_string()).collect();
    let observed: HashMap<String, Option<String>> =
        // A contract is judged on the official figures; a collectivity's own stand beside them.
        observations::for_periods(conn, ObservationOrigin::Official, &row.indicator, row.geo_level, &row.geo_code, &periods)?
            .into_iter()
            .map(|observation| (observation.period, observation.value.filter(|_| !observation.suppressed)))
            .collect();
    Ok(view_observed(row, targets, indicator, &observed))
}

/// The view of a follow-up as it is about to go, for the history, which keeps only what its
/// writers set (`recorded`): the observations are not read.
fn unobserved_view(
    row: ContractIndicatorRow,
    targets: Vec<TargetRow>,
    indicator: &IndicatorRow,
) -> ContractIndicatorView {
    view_observed(row, targets, indicator, &HashMap::new())
}

/// The view of a follow-up with the observation `observed` holds for each target's period.
fn view_observed(
    row: ContractIndicatorRow,
    mut targets: Vec<TargetRow>,
    indicator: &IndicatorRow,
    observed: &HashMap<String, Option<String>>,
) -> ContractIndicatorView {
    targets.sort_by_key(|target| target.period);
    let periods: Vec<String> = targets.iter().map(|target| target.period.to_string()).collect();
    let targets = targets
        .into_iter()
        .zip(&periods)
        .map(|(target, period)| {
            let observation = observed.get(period).map(Option::as_deref);
            let reading = read_against(indicator.ascending, row.baseline_value, target.value, observation);
            IndicatorTargetView {
                actual: reading.actual,
                actual_suppressed: reading.actual_suppressed,
                progress_percent: reading.progress_percent.map(|percent| percent.to_string()),
                achieved: reading.achieved,
                period: period.clone(),
                value: target.value.to_string(),
            }
        })
        .collect();
    let baseline = row
        .baseline_period
        .zip(row.baseline_value)
        .map(|(period, value)| IndicatorBaseline { period: period.to_string(), value: value.to_string() });
    ContractIndicatorView {
        id: row.id,
        contract_id: row.contract_id,
        geo_level: row.geo_level,
        unit: indicator.unit,
        ascending: indicator.ascending,
        indicator: row.indicator,
        geo_code: row.geo_code,
        baseline,
        targets,
        version: row.version,
        created_at: db::rfc3339(row.created_at),
        updated_at: db::rfc3339(row.updated_at),
    }
}

/// The catalogue entry of a followed indicator, which its foreign key keeps in place.
fn indicator_of(conn: &mut DbConnection, code: &str) -> ApiResult<IndicatorRow> {
    indicators::find(conn, code)?.ok_or_else(|| ApiError::internal(format!("followed indicator {code} is missing")))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContractIndicator {
    /// A code of the indicator catalogue.
    #[schema(example = "taux_couverture_eaje_epci")]
    pub indicator: String,
    /// The level the indicator is published at.
    pub geo_level: GeoLevel,
    /// INSEE code of a commune the contract covers, SIREN of an EPCI of its perimeter (named, or
    /// holding a commune it names), or the contract's département.
    #[schema(example = "200000172")]
    pub geo_code: String,
    pub baseline: Option<IndicatorBaseline>,
    /// At most 40, one per period, inside the contract's years and after the baseline.
    #[serde(default)]
    pub targets: Vec<IndicatorTarget>,
}

impl RequestBody for CreateContractIndicator {
    const READ_ONLY: &'static [&'static str] = READ_ONLY_ON_CREATE;
}

/// Changes to a follow-up: its baseline (`null` removes it) and its targets (the list sent
/// replaces the whole list). What is followed, and where, stays.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIndicatorPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub baseline: Option<Option<IndicatorBaseline>>,
    /// Replaces every target.
    pub targets: Option<Vec<IndicatorTarget>>,
}

impl RequestBody for ContractIndicatorPatch {
    const READ_ONLY: &'static [&'static str] = READ_ONLY_ON_PATCH;
}

/// Reads the targets a body sends, within the contract's years.
fn read_sent_targets(
    targets: &[IndicatorTarget],
    contract: &ContractRow,
    periodicity: Option<Periodicity>,
    errors: &mut Vec<FieldError>,
) -> Vec<Option<Point>> {
    let sent: Vec<(&str, &str)> =
        targets.iter().map(|target| (target.period.as_str(), target.value.as_str())).collect();
    read_targets(&sent, contract.start_date.year()..=contract.end_date.year(), periodicity, errors)
}

/// Where the place a new follow-up is about stands: the level the catalogue publishes its
/// indicator at, whether the territory reference has it, whether the contract's perimeter holds it.
fn place_facts(
    conn: &mut DbConnection,
    contract: &ContractRow,
    indicator: Option<&IndicatorRow>,
    level: GeoLevel,
    code: &str,
) -> ApiResult<PlaceFacts> {
    let known = match level {
        GeoLevel::Commune => territories::find_commune(conn, code)?.is_some(),
        GeoLevel::Epci => territories::find_epci(conn, code)?.is_some(),
        GeoLevel::Department => territories::find_department(conn, code)?.is_some(),
    };
    let inside = match level {
        _ if !known => false,
        GeoLevel::Commune => repo::covers_commune(conn, &contract.id, code)?,
        GeoLevel::Epci => repo::reaches_epci(conn, &contract.id, code)?,
        GeoLevel::Department => contract.department == code,
    };
    Ok(PlaceFacts { published_at: indicator.map(|indicator| indicator.geo_level), level, known, inside })
}

/// The rows to store for the targets read, by period. Every target reads once the checks passed.
fn target_rows(id: Uuid, read: Vec<Option<Point>>) -> Vec<TargetRow> {
    let mut rows: Vec<TargetRow> = read
        .into_iter()
        .flatten()
        .map(|(period, value)| TargetRow { contract_indicator_id: id, period, value })
        .collect();
    rows.sort_by_key(|row| row.period);
    rows
}

fn refuse_if_any(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// The indicators a contract follows, with their progress.
///
/// The indicators a contract follows, by indicator and place, each with its baseline, its targets
/// and, per target, the observed actual and the progress towards it. Who may call it: whoever
/// reaches the contract (admins, CAF agents and integrations of its département, collectivities
/// party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = Page<ContractIndicatorView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/indicators")]
pub async fn list_contract_indicators((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| {
        let mut catalogue: HashMap<String, IndicatorRow> = HashMap::new();
        let mut items = Vec::new();
        for (row, targets) in repo::list(conn, contract)? {
            let indicator = match catalogue.entry(row.indicator.clone()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(indicator_of(conn, &row.indicator)?),
            };
            items.push(view(conn, row, targets, indicator)?);
        }
        Ok(items)
    })
    .await
}

/// One indicator the contract follows.
///
/// Its `ETag` versions the baseline and targets; the actuals move with the observations without
/// changing it. Who may call it: whoever reaches the contract (admins, CAF agents and integrations
/// of its département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("follow_id" = Uuid, Path)), responses((status = 200, body = ContractIndicatorView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/indicators/{follow_id}")]
pub async fn get_contract_indicator(
    (caller, ids, _no_parameters, pool): Read<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::read_part(&pool, caller, contract_id, move |conn, contract| {
        let Some((row, targets)) = repo::find(conn, contract, id)? else { return Ok(None) };
        let indicator = indicator_of(conn, &row.indicator)?;
        view(conn, row, targets, &indicator).map(Some)
    })
    .await
}

/// Follow an indicator of the catalogue at a place of the contract's perimeter, with its baseline
/// and targets.
///
/// A contract follows an indicator at a place once. Who may call it: admins and CAF agents of the
/// contract's département; an integration or a collectivity that reaches the contract gets 403, and
/// another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), request_body = CreateContractIndicator, responses((status = 201, body = ContractIndicatorView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/indicators")]
pub async fn create_contract_indicator(
    (caller, id, request, pool): CreateUnder<Uuid, CreateContractIndicator>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let contract = change.contract.row();
        let indicator = indicators::find(change.conn, &body.indicator)?;
        let place = place_facts(change.conn, contract, indicator.as_ref(), body.geo_level, &body.geo_code)?;
        let mut errors = check_place(&body.indicator, &place);
        let periodicity = indicator.as_ref().map(|indicator| indicator.periodicity);
        let baseline = body
            .baseline
            .as_ref()
            .and_then(|baseline| read_point("/baseline", &baseline.period, &baseline.value, periodicity, &mut errors));
        let targets = read_sent_targets(&body.targets, contract, periodicity, &mut errors);
        check_order(baseline.map(|(period, _)| period), true, &periods(&targets), &mut errors);
        refuse_if_any(errors)?;
        let Some(indicator) = indicator else {
            return Err(ApiError::internal("an unknown indicator passed the checks"));
        };
        if repo::already_followed(change.conn, &change.contract, &indicator.code, body.geo_level, &body.geo_code)? {
            return Err(ApiError::Conflict(format!(
                "the contract already follows {} at {} {}",
                indicator.code, body.geo_level, body.geo_code
            )));
        }
        let (baseline_period, baseline_value) = baseline.unzip();
        let row = ContractIndicatorRow {
            id: Uuid::new_v4(),
            contract_id,
            indicator: indicator.code.clone(),
            geo_level: body.geo_level,
            geo_code: body.geo_code,
            baseline_period,
            baseline_value,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        let target_rows = target_rows(row.id, targets);
        repo::insert(change.conn, &change.contract, &row, &target_rows)?;
        let view = view(change.conn, row, target_rows, &indicator)?;
        change.created(&view)
    })
    .await
}

/// Change the baseline (`null` removes it) or the targets (the list sent replaces them all) of a
/// followed indicator.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("follow_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = ContractIndicatorPatch, responses((status = 200, body = ContractIndicatorView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/indicators/{follow_id}")]
pub async fn update_contract_indicator(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), ContractIndicatorPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let (current, current_targets) = repo::find(change.conn, &change.contract, id)?.ok_or(ApiError::NotFound)?;
        change.ready(&if_match, current.version)?;
        let indicator = indicator_of(change.conn, &current.indicator)?;
        let periodicity = Some(indicator.periodicity);
        let mut errors = Vec::new();
        let baseline = match &patch.baseline {
            None => current.baseline_period.zip(current.baseline_value),
            Some(None) => None,
            Some(Some(baseline)) => {
                read_point("/baseline", &baseline.period, &baseline.value, periodicity, &mut errors)
            }
        };
        let (target_periods, new_targets) = match &patch.targets {
            None => (current_targets.iter().map(|target| Some(target.period)).collect(), None),
            Some(targets) => {
                let read = read_sent_targets(targets, change.contract.row(), periodicity, &mut errors);
                (periods(&read), Some(target_rows(id, read)))
            }
        };
        let baseline_sent = matches!(patch.baseline, Some(Some(_)));
        check_order(baseline.map(|(period, _)| period), baseline_sent, &target_periods, &mut errors);
        refuse_if_any(errors)?;
        let (baseline_period, baseline_value) = baseline.unzip();
        let before = unobserved_view(current.clone(), current_targets.clone(), &indicator);
        let row = change.next(ContractIndicatorRow { baseline_period, baseline_value, ..current });
        let targets = new_targets.unwrap_or(current_targets);
        let replaced = patch.targets.is_some().then_some(targets.as_slice());
        repo::update(change.conn, &change.contract, &row, replaced)?;
        let after = view(change.conn, row, targets, &indicator)?;
        change.updated(&before, &after, None)
    })
    .await
}

/// Stop following an indicator, with its baseline and targets.
///
/// The observations stay. Who may call it: admins and CAF agents of the contract's département; an
/// integration or a collectivity that reaches the contract gets 403, and another contract answers
/// 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("follow_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/indicators/{follow_id}")]
pub async fn delete_contract_indicator((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Manage, move |change| {
        let (current, targets) = repo::find(change.conn, &change.contract, id)?.ok_or(ApiError::NotFound)?;
        change.ready(&if_match, current.version)?;
        let indicator = indicator_of(change.conn, &current.indicator)?;
        let before = unobserved_view(current, targets, &indicator);
        repo::delete(change.conn, &change.contract, id)?;
        change.deleted(&before)
    })
    .await
}
