//! Funding commitments: the CAF's multi-year money for a payee of a contract, yearly amounts in
//! cents inside the contract's period, draft → committed → closed. Admins and CAF agents write
//! them; everyone who reaches the contract reads them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::problems::{
    ChildListProblems, CreateChildProblems, DeleteProblems, ReadProblems, TransitionProblems, UpdateProblems,
};
use crate::auth::Caller;
use crate::config::DiagnosticAidCeiling;
use crate::db::contracts::ScopedContract;
use crate::db::funding::{self as repo, CommitmentRow, LineRow, StoredRule, YearFigures};
use crate::db::stored::rfc3339_json;
use crate::db::{self, DbConnection, bonus_rates, equipments, evidence, parties};
use crate::domain::commitments::{self, CommitmentAction, CommitmentFacts, EditRefusal};
use crate::domain::contract::PartyRole;
use crate::domain::evidence as evidence_rules;
use crate::domain::funding::{
    Amounts, Basis, CheckedTerms, CommitmentStatus, CommitmentTerms, EvidenceKind, LineStatus, MoneyOrigin,
    NamedEquipment, Origin, Programme, ScheduleRule, check_terms, money_origin,
};
use crate::domain::schedule::{self, Entitlement, StoredLine};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::Page;
use crate::http::requests::{CreateUnder, Parts, Read, Remove, Transition, Update};
use crate::write::{self, Access, ContractChange};

/// The amount committed for one calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearAmount {
    #[schema(example = 2025)]
    pub year: i32,
    /// Required, except for a new-places bonus (a bonus territoire, origin `new`, basis
    /// `per_place`), whose amounts the server computes from the rate table: `units` × the year's
    /// rate at the contract's `bonus_band`. Sent for one, it must equal that figure.
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[schema(example = 1_560_000)]
    pub amount_cents: Option<i64>,
}

/// One year of a commitment: the amount committed, the forecast entitlement ("droit
/// prévisionnel") the advances are computed from, and the actual entitlement ("droit réel") the
/// balance settles, once known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct YearView {
    #[schema(example = 2025)]
    pub year: i32,
    #[schema(example = 1_560_000)]
    pub amount_cents: i64,
    /// The forecast entitlement; when absent, advances are computed from `amount_cents`.
    pub forecast_cents: Option<i64>,
    /// The actual entitlement, recorded once the year's evidence is in.
    pub actual_cents: Option<i64>,
    /// The kinds of evidence the programme requires that no validated piece of this year is of
    /// yet: the balance waits for them (the actual entitlement only for them to be received).
    #[serde(default)]
    pub missing_evidence: Vec<EvidenceKind>,
}

/// The CAF's multi-year money for a payee of a contract: yearly amounts in cents, draft →
/// committed → closed.
// Not the row: the yearly amounts come from another table and the rule from three columns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitmentView {
    pub id: Uuid,
    pub contract_id: Uuid,
    /// The organisation paid: a party of the contract with the `payee` role.
    pub payee_id: Uuid,
    pub equipment_id: Option<Uuid>,
    pub programme: Programme,
    pub basis: Basis,
    pub origin: Origin,
    pub unit_amount_cents: Option<i64>,
    pub units: Option<i64>,
    pub years: Vec<YearView>,
    /// Sum of the yearly amounts.
    pub total_cents: i64,
    /// Where the money comes from: carried from a CEJ, new places, or other funding.
    pub money_origin: MoneyOrigin,
    /// The CEJ commitments this bonus territoire continues, when it was created at a CTG's
    /// signature.
    pub continues_ids: Vec<Uuid>,
    pub status: CommitmentStatus,
    /// Date of the CAF's decision (commission d'action sociale).
    pub decision_date: Option<NaiveDate>,
    pub schedule_rule: ScheduleRule,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

write::resource!(
    CommitmentView, "funding_commitment", |view| id: view.id,
    location: format!("/v1/funding-commitments/{}", view.id),
    version: view.version,
);

/// The stored schedule rule of a commitment; a stored value out of its range is a fault of the
/// database, answered 500, never replaced by the default rule.
pub(crate) fn stored_rule(row: &CommitmentRow) -> ApiResult<ScheduleRule> {
    row.rule.read().ok_or_else(|| ApiError::internal(format!("commitment {} has an unreadable schedule rule", row.id)))
}

/// What a commitment's view reads besides its row.
#[derive(Debug, Clone)]
pub(crate) struct CommitmentParts {
    pub years: BTreeMap<i64, YearFigures>,
    pub continues_ids: Vec<Uuid>,
    /// The kinds of evidence validated for each year.
    pub validated: BTreeMap<i64, Vec<EvidenceKind>>,
    /// The kinds of evidence each programme requires: a small table, read whole, so that a view
    /// after a change of programme is right.
    pub requirements: BTreeMap<Programme, Vec<EvidenceKind>>,
}

impl CommitmentParts {
    /// The parts of one commitment.
    pub(crate) fn of(conn: &mut DbConnection, id: Uuid) -> ApiResult<Self> {
        Self::of_many(conn, &[id])?
            .remove(&id)
            .ok_or_else(|| ApiError::internal(format!("the parts of commitment {id} went missing")))
    }

    /// The parts of a commitment just created: no year, no continuation, no evidence yet.
    pub(crate) fn of_new(conn: &mut DbConnection) -> ApiResult<Self> {
        Ok(Self {
            years: BTreeMap::new(),
            continues_ids: Vec::new(),
            validated: BTreeMap::new(),
            requirements: evidence::requirements(conn)?,
        })
    }

    /// The parts of some commitments, in four queries.
    pub(crate) fn of_many(conn: &mut DbConnection, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, Self>> {
        let mut years = repo::year_figures(conn, ids)?;
        let mut continuations = repo::continuations(conn, ids)?;
        let mut validated: HashMap<Uuid, BTreeMap<i64, Vec<EvidenceKind>>> = HashMap::new();
        for ((id, year), pieces) in evidence::kinds(conn, ids)? {
            let kinds = pieces.into_iter().filter(|&(_, is_validated)| is_validated).map(|(kind, _)| kind);
            validated.entry(id).or_default().entry(year).or_default().extend(kinds);
        }
        let requirements = evidence::requirements(conn)?;
        Ok(ids
            .iter()
            .map(|id| {
                let parts = Self {
                    years: years.remove(id).unwrap_or_default(),
                    continues_ids: continuations.remove(id).unwrap_or_default(),
                    validated: validated.remove(id).unwrap_or_default(),
                    requirements: requirements.clone(),
                };
                (*id, parts)
            })
            .collect())
    }

    /// These parts with other yearly amounts: a year kept keeps its entitlements.
    pub(crate) fn with_amounts(&self, amounts: &BTreeMap<i64, i64>) -> Self {
        let years = amounts
            .iter()
            .map(|(&year, &amount_cents)| {
                let kept = self.years.get(&year).copied().unwrap_or_default();
                (year, YearFigures { amount_cents, ..kept })
            })
            .collect();
        Self { years, ..self.clone() }
    }

    /// The yearly amounts, by year.
    pub(crate) fn amounts(&self) -> BTreeMap<i64, i64> {
        self.years.iter().map(|(&year, figures)| (year, figures.amount_cents)).collect()
    }

    /// The kinds of evidence `programme` requires that nothing validated for `year` is of.
    fn missing_evidence(&self, programme: Programme, year: i64) -> Vec<EvidenceKind> {
        let required = self.requirements.get(&programme).map_or(&[][..], Vec::as_slice);
        evidence_rules::missing(required, self.validated.get(&year).into_iter().flatten().copied())
    }
}

pub(crate) fn commitment_view(row: &CommitmentRow, parts: &CommitmentParts) -> ApiResult<CommitmentView> {
    Ok(CommitmentView {
        id: row.id,
        contract_id: row.contract_id,
        payee_id: row.payee_id,
        equipment_id: row.equipment_id,
        programme: row.programme,
        basis: row.basis,
        origin: row.origin,
        unit_amount_cents: row.unit_amount_cents,
        units: row.units,
        years: parts
            .years
            .iter()
            .map(|(&year, figures)| YearView {
                year: i32::try_from(year).unwrap_or_default(),
                amount_cents: figures.amount_cents,
                forecast_cents: figures.forecast_cents,
                actual_cents: figures.actual_cents,
                missing_evidence: parts.missing_evidence(row.programme, year),
            })
            .collect(),
        total_cents: parts.years.values().map(|figures| figures.amount_cents).sum(),
        money_origin: money_origin(row.programme, row.basis, row.origin),
        continues_ids: parts.continues_ids.clone(),
        status: row.status,
        decision_date: row.decision_date,
        schedule_rule: stored_rule(row)?,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The view of a commitment, with its years and continuations read.
pub(crate) fn view_of(conn: &mut DbConnection, row: &CommitmentRow) -> ApiResult<CommitmentView> {
    commitment_view(row, &CommitmentParts::of(conn, row.id)?)
}

const COMMITMENT_READ_ONLY: &[&str] =
    &["id", "version", "status", "created_at", "updated_at", "contract_id", "total_cents", "schedule_rule"];

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommitment {
    pub payee_id: Uuid,
    pub equipment_id: Option<Uuid>,
    pub programme: Programme,
    pub basis: Basis,
    pub origin: Origin,
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub unit_amount_cents: Option<i64>,
    #[validate(range(min = 0, max = 1_000_000, message = "must be between 0 and 1000000"))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub units: Option<i64>,
    #[validate(length(min = 1, message = "name at least one year"), nested)]
    #[schema(min_items = 1)]
    pub years: Vec<YearAmount>,
    pub decision_date: Option<NaiveDate>,
}

impl RequestBody for CreateCommitment {
    const READ_ONLY: &'static [&'static str] = COMMITMENT_READ_ONLY;
}

/// Changes to a commitment. Once committed, a change is a correction: it needs a `reason`, no
/// year may fall below what was already paid for it, and the unpaid schedule of the changed years
/// is generated again so that it still adds up.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentPatch {
    pub payee_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub equipment_id: Option<Option<Uuid>>,
    pub programme: Option<Programme>,
    pub basis: Option<Basis>,
    pub origin: Option<Origin>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64, message = "must be between 0 and 10^12 cents"))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub unit_amount_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 0, max = 1_000_000, message = "must be between 0 and 1000000"))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub units: Option<Option<i64>>,
    #[validate(length(min = 1, message = "name at least one year"), nested)]
    #[schema(min_items = 1)]
    pub years: Option<Vec<YearAmount>>,
    #[serde(default, deserialize_with = "nullable")]
    pub decision_date: Option<Option<NaiveDate>>,
    /// Why a committed commitment is corrected; required then.
    #[validate(length(min = 1, max = 2000, message = "must have 1 to 2000 characters"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: Option<String>,
}

impl RequestBody for CommitmentPatch {
    const READ_ONLY: &'static [&'static str] = COMMITMENT_READ_ONLY;
}

/// Reads who is paid and for what, then judges them and the years against the contract (see
/// [`check_terms`]); returns the years by year and the unit amount to store. With `from_rates`, a
/// new-places bonus has its amounts computed from the rate table.
fn check_commitment(
    conn: &mut DbConnection,
    scoped: &ScopedContract,
    row: &CommitmentRow,
    years: &[YearAmount],
    from_rates: bool,
) -> ApiResult<CheckedTerms> {
    let contract = scoped.row();
    let payee_roles = parties::list(conn, scoped)?
        .into_iter()
        .find(|(party, _)| party.organisation_id == row.payee_id)
        .map(|(party, _)| party.roles);
    let equipment = match row.equipment_id {
        None => NamedEquipment::NotNamed,
        Some(id) => equipments::find(conn, id)?.map_or(NamedEquipment::Unknown, |equipment| NamedEquipment::Found {
            facility_type: equipment.equipment_type,
            run_by_payee: equipment.manager_id == row.payee_id,
            capacity_places: equipment.capacity_places,
        }),
    };
    let amounts = if from_rates && money_origin(row.programme, row.basis, row.origin) == MoneyOrigin::NewPlaces {
        let rates = match contract.bonus_band {
            Some(band) => bonus_rates::rates_of(conn, row.programme, band)?,
            None => BTreeMap::new(),
        };
        Amounts::FromRates { band: contract.bonus_band, rates }
    } else {
        Amounts::Sent
    };
    let terms = CommitmentTerms {
        contract_kind: contract.kind,
        programme: row.programme,
        basis: row.basis,
        payee_is_party: payee_roles.is_some_and(|roles| roles.contains(&PartyRole::Payee)),
        equipment,
        unit_amount_cents: row.unit_amount_cents,
        units: row.units,
        contract_years: contract.start_date.year()..=contract.end_date.year(),
        amounts,
    };
    check_terms(&terms, years.iter().map(|entry| (entry.year, entry.amount_cents))).map_err(ApiError::validation)
}

/// The commitment `id` if its contract is in the caller's scope; 404 otherwise.
pub(crate) fn find_commitment(conn: &mut DbConnection, caller: &Caller, id: Uuid) -> ApiResult<CommitmentRow> {
    Ok(repo::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound)?.0)
}

/// Generates the schedule of the years in `only` again with `rule` (see [`schedule::replan`]),
/// for the committed `amounts` and the entitlements recorded for those years: advances from the
/// forecast, and a year whose actual entitlement is known settled.
pub(crate) fn regenerate(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    amounts: &BTreeMap<i64, i64>,
    only: &BTreeSet<i64>,
    rule: &ScheduleRule,
) -> ApiResult<()> {
    let recorded = repo::year_figures_of(conn, commitment.id)?;
    let years: BTreeMap<i64, Entitlement> = amounts
        .iter()
        .map(|(&year, &committed)| {
            let figures = recorded.get(&year).copied().unwrap_or_default();
            (year, Entitlement { committed, forecast: figures.forecast_cents, actual: figures.actual_cents })
        })
        .collect();
    let paid = repo::paid_totals(conn, &[commitment.id])?;
    let stored: Vec<StoredLine<Uuid>> = repo::lines(conn, commitment.id)?
        .into_iter()
        .map(|line| StoredLine {
            has_payments: paid.by_line.contains_key(&line.id),
            paid_cents: paid.by_line.get(&line.id).copied().unwrap_or(0),
            id: line.id,
            year: line.year,
            kind: line.kind,
            due_on: line.due_on,
            amount_cents: line.amount_cents,
            status: line.status,
        })
        .collect();
    let replan = schedule::replan(&stored, &years, only, rule);
    let now = db::now();
    let resize: Vec<(Uuid, i64, LineStatus)> = replan
        .resize
        .iter()
        .map(|&(id, amount)| {
            let paid_cents = paid.by_line.get(&id).copied().unwrap_or(0);
            (id, amount, schedule::status_after_payment(amount, paid_cents))
        })
        .collect();
    let add: Vec<LineRow> = replan
        .add
        .into_iter()
        .map(|new| LineRow {
            id: Uuid::new_v4(),
            commitment_id: commitment.id,
            year: new.year,
            kind: new.line.kind,
            due_on: new.line.due_on,
            amount_cents: new.line.amount_cents,
            status: LineStatus::Planned,
            created_at: now,
            updated_at: now,
            reason: new.reason,
        })
        .collect();
    repo::cancel_lines(conn, &replan.cancel, now)?;
    repo::resize_lines(conn, &resize, now)?;
    Ok(repo::replace_lines(conn, &replan.remove, add)?)
}

/// The entitlements recorded for each year of a commitment, by year.
pub(crate) fn entitlements_of(conn: &mut DbConnection, commitment_id: Uuid) -> ApiResult<BTreeMap<i64, Entitlement>> {
    Ok(repo::year_figures_of(conn, commitment_id)?
        .into_iter()
        .map(|(year, figures)| (year, figures.entitlement()))
        .collect())
}

/// After a correction of the yearly amounts: no year may fall below what was paid for it nor
/// below its recorded entitlements, none that holds evidence may go, and the schedule of the
/// changed years is generated again, if there is a schedule.
fn reschedule_after_correction(
    conn: &mut DbConnection,
    commitment: &CommitmentRow,
    old: &BTreeMap<i64, i64>,
    new: &BTreeMap<i64, i64>,
) -> ApiResult<()> {
    let paid = repo::paid_totals(conn, &[commitment.id])?;
    let paid_by_year: BTreeMap<i64, i64> = paid.by_year.iter().map(|((_, year), &amount)| (*year, amount)).collect();
    let mut errors = schedule::check_not_below_paid(&paid_by_year, new).err().unwrap_or_default();
    errors.extend(
        schedule::check_not_below_entitlement(&entitlements_of(conn, commitment.id)?, new).err().unwrap_or_default(),
    );
    let with_evidence: BTreeSet<i64> =
        evidence::kinds(conn, &[commitment.id])?.into_keys().map(|(_, year)| year).collect();
    errors.extend(evidence_rules::check_years_kept(with_evidence, new).err().unwrap_or_default());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if !repo::lines(conn, commitment.id)?.is_empty() {
        regenerate(conn, commitment, new, &schedule::changed_years(old, new), &stored_rule(commitment)?)?;
    }
    Ok(())
}

/// Sets the yearly amounts of `current`, a commitment of the contract `change` holds, as a
/// correction would (the same checks, the schedule of the changed years generated again), and
/// records it with `reason`: what an amendment changing the financial annex does to each
/// commitment it names. Returns the amounts by year before and after.
pub(crate) fn set_years(
    change: &mut ContractChange<'_>,
    current: CommitmentRow,
    years: &[YearAmount],
    reason: &str,
) -> ApiResult<(BTreeMap<i64, i64>, BTreeMap<i64, i64>)> {
    if current.status == CommitmentStatus::Closed {
        return Err(ApiError::Conflict("the commitment is closed".into()));
    }
    let parts = CommitmentParts::of(change.conn, current.id)?;
    let old_years = parts.amounts();
    let before = commitment_view(&current, &parts)?;
    let from_rates = money_origin(current.programme, current.basis, current.origin) == MoneyOrigin::NewPlaces;
    let mut row = change.next(current);
    if from_rates {
        row.unit_amount_cents = None;
    }
    let checked = check_commitment(change.conn, &change.contract, &row, years, from_rates)?;
    row.unit_amount_cents = checked.unit_amount_cents;
    let years = checked.years;
    let years_changed = years != old_years;
    if years_changed {
        reschedule_after_correction(change.conn, &row, &old_years, &years)?;
    }
    repo::update(change.conn, &change.contract, &row, years_changed.then_some(&years))?;
    change.updated(&before, &commitment_view(&row, &parts.with_amounts(&years))?, Some(reason))?;
    Ok((old_years, years))
}

/// The funding commitments of a contract.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = Page<CommitmentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/funding-commitments")]
pub async fn list_commitments((caller, id, _no_parameters, pool): Parts<Uuid>) -> ApiResult<HttpResponse> {
    write::read_parts(&pool, caller, id.into_inner(), |conn, contract| {
        let rows = repo::list(conn, std::slice::from_ref(&contract.row().id))?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let mut parts = CommitmentParts::of_many(conn, &ids)?;
        rows.iter()
            .map(|row| {
                let parts =
                    parts.remove(&row.id).ok_or_else(|| ApiError::internal("a listed commitment has no parts"))?;
                commitment_view(row, &parts)
            })
            .collect()
    })
    .await
}

/// One funding commitment.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), responses((status = 200, body = CommitmentView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/funding-commitments/{id}")]
pub async fn get_commitment((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    write::read_commitment(&pool, caller, id.into_inner(), |conn, row| Ok(Some(view_of(conn, &row)?))).await
}

/// Record a funding commitment in `draft` for a payee party of the contract, with its yearly
/// amounts inside the contract's period.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path)), request_body = CreateCommitment, responses((status = 201, body = CommitmentView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/funding-commitments")]
pub async fn create_commitment(
    (caller, id, request, pool): CreateUnder<Uuid, CreateCommitment>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let contract_id = id.into_inner();
    write::change_contract(&pool, caller, retry, contract_id, Access::Manage, move |change| {
        change.require_open()?;
        let mut row = CommitmentRow {
            id: Uuid::new_v4(),
            contract_id,
            payee_id: body.payee_id,
            equipment_id: body.equipment_id,
            programme: body.programme,
            basis: body.basis,
            origin: body.origin,
            unit_amount_cents: body.unit_amount_cents,
            units: body.units,
            status: CommitmentStatus::Draft,
            decision_date: body.decision_date,
            rule: StoredRule::from(&ScheduleRule::default()),
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        let checked = check_commitment(change.conn, &change.contract, &row, &body.years, true)?;
        row.unit_amount_cents = checked.unit_amount_cents;
        let years = checked.years;
        repo::insert(change.conn, &change.contract, &row, &years)?;
        let parts = CommitmentParts::of_new(change.conn)?.with_amounts(&years);
        change.created(&commitment_view(&row, &parts)?)
    })
    .await
}

/// Change a commitment: freely in `draft`; as a correction with a `reason` once `committed`; never
/// once `closed`.
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = CommitmentPatch, responses((status = 200, body = CommitmentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/funding-commitments/{id}")]
pub async fn update_commitment(
    (caller, id, if_match, patch, pool): Update<Uuid, CommitmentPatch>,
    ceiling: web::Data<DiagnosticAidCeiling>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let DiagnosticAidCeiling(diagnostic_aid_ceiling_cents) = **ceiling;
    write::change_commitment(&pool, caller, Retry::none(), id.into_inner(), Access::Manage, move |change, current| {
        change.ready(&if_match, current.version)?;
        match commitments::check_edit(current.status, patch.reason.is_some()) {
            Err(EditRefusal::Closed) => return Err(ApiError::Conflict("the commitment is closed".into())),
            Err(EditRefusal::ReasonRequired) => {
                return Err(ApiError::validation(vec![FieldError::at_pointer(
                    "/reason",
                    "REASON_REQUIRED",
                    "a committed commitment is corrected with a reason",
                )]));
            }
            Ok(()) => {}
        }
        let parts = CommitmentParts::of(change.conn, current.id)?;
        let old_years = parts.amounts();
        let before = commitment_view(&current, &parts)?;
        let mut row = change.next(CommitmentRow {
            payee_id: patch.payee_id.unwrap_or(current.payee_id),
            equipment_id: patch.equipment_id.unwrap_or(current.equipment_id),
            programme: patch.programme.unwrap_or(current.programme),
            basis: patch.basis.unwrap_or(current.basis),
            origin: patch.origin.unwrap_or(current.origin),
            unit_amount_cents: patch.unit_amount_cents.unwrap_or(current.unit_amount_cents),
            units: patch.units.unwrap_or(current.units),
            decision_date: patch.decision_date.unwrap_or(current.decision_date),
            ..current.clone()
        });
        // A new-places bonus is computed again from the rates when what its amounts depend on
        // changes; otherwise its amounts stay as computed, even if the rate table changed since.
        let recompute = money_origin(row.programme, row.basis, row.origin) == MoneyOrigin::NewPlaces
            && (patch.units.is_some()
                || patch.years.is_some()
                || patch.programme.is_some()
                || patch.basis.is_some()
                || patch.origin.is_some()
                || patch.unit_amount_cents.is_some());
        if recompute {
            row.unit_amount_cents = patch.unit_amount_cents.flatten();
        }
        let sent_years = patch.years.clone().unwrap_or_else(|| {
            let kept = |year: &YearView| YearAmount { year: year.year, amount_cents: Some(year.amount_cents) };
            let recomputed = |year: &YearView| YearAmount { year: year.year, amount_cents: None };
            before.years.iter().map(if recompute { recomputed } else { kept }).collect()
        });
        let checked = check_commitment(change.conn, &change.contract, &row, &sent_years, recompute)?;
        row.unit_amount_cents = checked.unit_amount_cents;
        let years = checked.years;
        commitments::check_correction_before_signature(&CommitmentFacts {
            status: row.status,
            has_decision_date: row.decision_date.is_some(),
            contract_status: change.contract.row().status,
            programme: row.programme,
            total_cents: years.values().sum(),
            diagnostic_aid_ceiling_cents,
        })
        .map_err(ApiError::validation)?;
        let years_changed = years != old_years;
        if years_changed {
            reschedule_after_correction(change.conn, &row, &old_years, &years)?;
        }
        repo::update(change.conn, &change.contract, &row, years_changed.then_some(&years))?;
        change.updated(&before, &commitment_view(&row, &parts.with_amounts(&years))?, patch.reason.as_deref())
    })
    .await
}

/// Delete a draft commitment (a committed one is closed instead).
///
/// Who may call it: admins and CAF agents of the contract's département; an integration or a
/// collectivity that reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Deleted"), DeleteProblems), security(("bearer" = [])))]
#[delete("/funding-commitments/{id}")]
pub async fn delete_commitment((caller, id, if_match, pool): Remove<Uuid>) -> ApiResult<HttpResponse> {
    write::change_commitment(&pool, caller, Retry::none(), id.into_inner(), Access::Manage, move |change, current| {
        change.ready(&if_match, current.version)?;
        if !commitments::can_delete(current.status, repo::count_payments(change.conn, current.id)?) {
            return Err(ApiError::Conflict("only a draft commitment without payments can be deleted".into()));
        }
        let before = view_of(change.conn, &current)?;
        repo::delete(change.conn, &change.contract, current.id)?;
        change.deleted(&before)
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentTransition {
    pub action: CommitmentAction,
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

impl RequestBody for CommitmentTransition {}

/// Commit or close a commitment.
///
/// Payments need a committed commitment; money is committed only under a signed contract, checked
/// under the contract's lock, so a termination and a commit sent at the same moment are taken one
/// after the other. Who may call it: admins and CAF agents of the contract's département; an
/// integration or a collectivity that reaches the contract gets 403, and another contract answers
/// 404.
#[utoipa::path(tag = "funding", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = CommitmentTransition, responses((status = 200, body = CommitmentView, headers(("ETag" = String))), TransitionProblems), security(("bearer" = [])))]
#[post("/funding-commitments/{id}/transitions")]
pub async fn transition_commitment(
    (caller, id, if_match, request, pool): Transition<Uuid, CommitmentTransition>,
    ceiling: web::Data<DiagnosticAidCeiling>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    let DiagnosticAidCeiling(diagnostic_aid_ceiling_cents) = **ceiling;
    write::change_commitment(&pool, caller, retry, id.into_inner(), Access::Manage, move |change, current| {
        change.check(&if_match, current.version)?;
        let total_cents = db::funding::years_of(change.conn, current.id)?.values().sum();
        let facts = CommitmentFacts {
            status: current.status,
            has_decision_date: current.decision_date.is_some(),
            contract_status: change.contract.row().status,
            programme: current.programme,
            total_cents,
            diagnostic_aid_ceiling_cents,
        };
        let target =
            commitments::transition(&facts, body.action).map_err(|unmet| ApiError::InvalidStateTransition {
                detail: format!("{} condition(s) unmet", unmet.len()),
                unmet: unmet.into_iter().map(|u| FieldError::condition(u.code, u.detail)).collect(),
            })?;
        let parts = CommitmentParts::of(change.conn, current.id)?;
        let before = commitment_view(&current, &parts)?;
        let row = change.next(CommitmentRow { status: target, ..current });
        repo::update(change.conn, &change.contract, &row, None)?;
        change.transitioned(&before, &commitment_view(&row, &parts)?, body.reason.as_deref())
    })
    .await
}
