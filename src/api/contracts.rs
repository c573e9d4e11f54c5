//! Contracts (CTG and CEJ): their content, their lifecycle and their listing. Admins and CAF
//! agents write them within their scope; collectivities and integrations read the ones they reach.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::cej_transfer;
use super::contract_view::summarised_view;
pub use super::contract_view::{ContractView, LinkedScheme, PerimeterView};
pub(crate) use super::contract_view::{draft_view, view_one};
use super::problems::{CreateProblems, ListProblems, ReadProblems, TransitionProblems, UpdateProblems};
use super::with_etag;
use crate::auth::{Caller, Scope};
use crate::db::contracts::{
    self as repo, ContractFilter, ContractOrder, ContractRow, Perimeter, ScopedContract, SortKey,
};
use crate::db::{self, DbConnection, DbPool, funding, parties, territories};
use crate::domain::cej_transfer::CejTransfer;
use crate::domain::contract::{ContractKind, ContractStatus, Field, RecordedStatus};
use crate::domain::draft::{self as rules, CommuneFacts, EpciFacts, PredecessorFacts};
use crate::domain::lifecycle::{self, ContractFacts, PartyFacts, TransitionAction, TransitionRequest};
use crate::domain::territory::is_caf_department;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::csv::{self, wants_csv};
use crate::http::idempotency::Answer;
use crate::http::idempotency::{IdempotentJson, Retry};
use crate::http::pagination::{Page, PageParams, PageRequest, PageTokenKey};
use crate::http::query::ApiQuery;
use crate::http::requests::{Create, Read, Transition, Update};
use crate::write::{self, Access, ContractChange};

/// The territory a contract covers, as sent. A CTG covers at most a département's worth: the
/// largest has fewer than 900 communes and 30 EPCI.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PerimeterInput {
    /// SIRENs of EPCI: all their member communes are covered.
    #[serde(default)]
    #[validate(length(max = 200, message = "at most 200 EPCI"))]
    #[schema(max_items = 200)]
    pub epcis: Vec<String>,
    /// INSEE codes of communes covered on their own.
    #[serde(default)]
    #[validate(length(max = 1000, message = "at most 1000 communes"))]
    #[schema(max_items = 1000)]
    pub communes: Vec<String>,
}

/// What a client may not send in a contract: `kind` and `department`, fixed at creation, then
/// what the server owns.
const READ_ONLY_ON_PATCH: &[&str] = &[
    "kind",
    "department",
    "id",
    "version",
    "status",
    "created_at",
    "updated_at",
    "signed_on",
    "ended_on",
    "status_reason",
    "perimeter/covered_communes",
    "perimeter/covered_population",
];
const READ_ONLY_ON_CREATE: &[&str] = READ_ONLY_ON_PATCH.split_at(2).1;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContract {
    pub kind: ContractKind,
    /// Unique; generated as `CTG-074-2024-0001` (kind, département, start year, number) when absent.
    pub reference: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    /// Required unless the caller is a CAF agent of a single département.
    pub department: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20 fields"))]
    #[schema(max_items = 20)]
    pub fields: Vec<Field>,
    #[serde(default)]
    #[validate(nested)]
    pub perimeter: PerimeterInput,
    #[serde(default)]
    #[validate(nested, length(max = 50, message = "at most 50 linked schemes"))]
    #[schema(max_items = 50)]
    pub linked_schemes: Vec<LinkedScheme>,
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 predecessors"))]
    #[schema(max_items = 100)]
    pub predecessor_ids: Vec<Uuid>,
    /// The territory's band in the bonus rate table, 1 to 20.
    #[validate(range(min = 1, max = 20, message = "must be between 1 and 20"))]
    #[schema(minimum = 1, maximum = 20)]
    pub bonus_band: Option<i64>,
}

impl RequestBody for CreateContract {
    const READ_ONLY: &'static [&'static str] = READ_ONLY_ON_CREATE;
}

/// Changes to a contract. Once signed, its period, perimeter, fields and predecessors change only
/// through an amendment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPatch {
    pub reference: Option<String>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    #[validate(length(max = 20, message = "at most 20 fields"))]
    #[schema(max_items = 20)]
    pub fields: Option<Vec<Field>>,
    #[validate(nested)]
    pub perimeter: Option<PerimeterInput>,
    #[validate(nested, length(max = 50, message = "at most 50 linked schemes"))]
    #[schema(max_items = 50)]
    pub linked_schemes: Option<Vec<LinkedScheme>>,
    #[validate(length(max = 100, message = "at most 100 predecessors"))]
    #[schema(max_items = 100)]
    pub predecessor_ids: Option<Vec<Uuid>>,
    /// The territory's band in the bonus rate table, 1 to 20; `null` removes it. It may change
    /// after signature: it applies to the new-places commitments recorded afterwards.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(range(min = 1, max = 20, message = "must be between 1 and 20"))]
    #[schema(minimum = 1, maximum = 20)]
    pub bonus_band: Option<Option<i64>>,
}

impl RequestBody for ContractPatch {
    const READ_ONLY: &'static [&'static str] = READ_ONLY_ON_PATCH;
}

/// A contract as it would be written, checked as a whole on every change.
#[derive(Debug, Clone)]
pub(crate) struct ContractDraft {
    pub kind: ContractKind,
    pub department: String,
    pub title: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub fields: BTreeSet<Field>,
    pub perimeter: Perimeter,
    pub linked_schemes: Vec<LinkedScheme>,
    pub predecessor_ids: Vec<String>,
}

impl ContractDraft {
    /// The contract as it stands, which a change starts from.
    pub(crate) fn of(view: &ContractView) -> Self {
        Self {
            kind: view.kind,
            department: view.department.clone(),
            title: view.title.clone(),
            start_date: view.start_date,
            end_date: view.end_date,
            fields: view.fields.iter().copied().collect(),
            perimeter: Perimeter { epcis: view.perimeter.epcis.clone(), communes: view.perimeter.communes.clone() },
            linked_schemes: view.linked_schemes.clone(),
            predecessor_ids: view.predecessor_ids.iter().map(Uuid::to_string).collect(),
        }
    }
}

/// `74042`, `2A004`: five digits, or Corsica's `2A`/`2B` and three.
fn is_insee_shaped(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5
        && (bytes[..2].iter().all(u8::is_ascii_digit) || matches!(&bytes[..2], b"2A" | b"2B"))
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

fn perimeter_from(input: PerimeterInput) -> Perimeter {
    Perimeter { epcis: input.epcis, communes: input.communes }
}

/// Checks a draft against the reference and the contracts the caller reaches, listing every
/// problem at once.
pub(crate) fn check_draft(
    conn: &mut DbConnection,
    scope: &Scope,
    draft: &ContractDraft,
    own_id: Option<&str>,
) -> ApiResult<()> {
    let funded_years = match own_id {
        Some(id) => funded_years(conn, id)?,
        None => BTreeSet::new(),
    };
    let (epcis, communes) = perimeter_facts(conn, &draft.perimeter)?;
    let predecessors = predecessor_facts(conn, scope, &draft.predecessor_ids, own_id)?;
    let mut problems = rules::check_terms(&draft.title, draft.start_date, draft.end_date);
    problems.extend(rules::check_funded_years(draft.start_date, draft.end_date, &funded_years));
    problems.extend(rules::check_perimeter(&draft.department, &epcis, &communes));
    problems.extend(rules::check_predecessors(draft.kind, &draft.department, own_id, &predecessors));
    write::refuse(problems)
}

/// The years the funding commitments of contract `id` are for.
fn funded_years(conn: &mut DbConnection, id: &str) -> ApiResult<BTreeSet<i64>> {
    let commitments: Vec<Uuid> = funding::list(conn, &[id.to_owned()])?.into_iter().map(|c| c.id).collect();
    Ok(funding::years(conn, &commitments)?.values().flat_map(|years| years.keys().copied()).collect())
}

/// Each EPCI of the perimeter with the départements of its communes, and each commune with its
/// département; `None` for a code the territory reference does not know.
fn perimeter_facts(conn: &mut DbConnection, perimeter: &Perimeter) -> ApiResult<(Vec<EpciFacts>, Vec<CommuneFacts>)> {
    let mut epcis = Vec::with_capacity(perimeter.epcis.len());
    for siren in &perimeter.epcis {
        let known = territories::find_epci(conn, siren)?.is_some();
        let departments = if known { Some(territories::epci_departments(conn, siren)?) } else { None };
        epcis.push((siren.clone(), departments));
    }
    let mut communes = Vec::with_capacity(perimeter.communes.len());
    for insee in &perimeter.communes {
        communes.push((insee.clone(), territories::find_commune(conn, insee)?.map(|commune| commune.department)));
    }
    Ok((epcis, communes))
}

/// Each named predecessor with what the rule looks at, `None` when the caller does not reach it.
fn predecessor_facts(
    conn: &mut DbConnection,
    scope: &Scope,
    ids: &[String],
    own_id: Option<&str>,
) -> ApiResult<Vec<(String, Option<PredecessorFacts>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: HashMap<String, PredecessorFacts> = HashMap::new();
    for row in repo::find_many(conn, scope, ids)? {
        // A CTG is renewed once: another successor, not cancelled, already holds it.
        let mut succeeded_by = None;
        if row.kind == ContractKind::Ctg {
            for successor in repo::successors(conn, &row.id)?.iter().filter(|id| Some(id.as_str()) != own_id) {
                if let Some(next) = repo::find(conn, &Scope::Everything, successor)?
                    && next.status != RecordedStatus::Cancelled
                {
                    succeeded_by = Some(next.reference);
                }
            }
        }
        let facts = PredecessorFacts { kind: row.kind, department: row.department, status: row.status, succeeded_by };
        found.insert(row.id, facts);
    }
    Ok(ids.iter().map(|id| (id.clone(), found.get(id).cloned())).collect())
}

/// The ids as strings, each once, in the order sent.
fn dedup_ids(ids: &[Uuid]) -> Vec<String> {
    rules::each_once(ids).iter().map(Uuid::to_string).collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractListQuery {
    pub kind: Option<ContractKind>,
    /// As clients see it: `active` and `expired` are signed contracts inside or past their period.
    pub status: Option<ContractStatus>,
    pub department: Option<String>,
    /// Contracts this SIREN is party to.
    #[param(pattern = r"^[0-9]{9}$")]
    pub siren: Option<String>,
    /// Contracts covering this commune (INSEE), directly or through an EPCI.
    #[param(pattern = r"^([0-9]{2}|2[AB])[0-9]{3}$")]
    pub commune: Option<String>,
    /// Contracts in force on this date.
    pub active_on: Option<NaiveDate>,
    /// Contracts changed at or after this instant (RFC 3339).
    pub updated_since: Option<String>,
    /// `reference` (default), `start_date`, `end_date`, `created_at` or `updated_at`; prefix `-` for descending.
    #[param(pattern = r"^-?(reference|start_date|end_date|created_at|updated_at)$")]
    pub order_by: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

fn parse_order(text: Option<&str>) -> ApiResult<ContractOrder> {
    let text = text.unwrap_or("reference");
    let (descending, name) = text.strip_prefix('-').map_or((false, text), |name| (true, name));
    let key = match name {
        "reference" => SortKey::Reference,
        "start_date" => SortKey::StartDate,
        "end_date" => SortKey::EndDate,
        "created_at" => SortKey::CreatedAt,
        "updated_at" => SortKey::UpdatedAt,
        _ => {
            return Err(ApiError::invalid_parameter(
                "order_by",
                "INVALID_VALUE",
                "order_by is one of reference, start_date, end_date, created_at, updated_at, with an optional leading -",
            ));
        }
    };
    Ok(ContractOrder { key, descending })
}

/// Separates the sort value from the id inside a cursor.
const CURSOR_SEPARATOR: char = '\u{1f}';

/// List the contracts in the caller's scope.
///
/// A filter outside the scope returns nothing. With `Accept: text/csv`, every contract of the
/// selection in the same order, one row each with its main fields and perimeter counts (UTF-8 with
/// BOM, `;` between fields, `,` inside lists), streamed; `page_size` and `page_token` do not apply.
/// Who may call it: every role.
#[utoipa::path(
    tag = "contracts",
    params(ContractListQuery),
    responses((status = 200, description = "A page of contracts, or CSV", content((Page<ContractView> = "application/json"), (String = "text/csv"))), ListProblems),
    security(("bearer" = []))
)]
#[get("/contracts")]
pub async fn list_contracts(
    caller: Caller,
    ApiQuery(query): ApiQuery<ContractListQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let csv = wants_csv(&req);
    if csv {
        csv::refuse_paging(query.page_size, query.page_token.as_deref())?;
    }
    let order = parse_order(query.order_by.as_deref())?;
    // The shapes the document states: a SIREN is 9 digits, an INSEE code 5 characters.
    if query.siren.as_deref().is_some_and(|siren| siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::invalid_parameter("siren", "INVALID_VALUE", "siren is 9 digits"));
    }
    if query.commune.as_deref().is_some_and(|insee| !is_insee_shaped(insee)) {
        return Err(ApiError::invalid_parameter(
            "commune",
            "INVALID_VALUE",
            "commune is an INSEE code: 5 digits, or 2A/2B and 3 digits",
        ));
    }
    let updated_since = query
        .updated_since
        .as_deref()
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text).map(|at| at.naive_utc()).map_err(|_| {
                ApiError::invalid_parameter("updated_since", "INVALID_VALUE", "updated_since is an RFC 3339 timestamp")
            })
        })
        .transpose()?;
    let filter = ContractFilter {
        kind: query.kind.map(|kind| kind.as_str().to_owned()),
        status: query.status.map(|status| status.as_str().to_owned()),
        department: query.department,
        siren: query.siren,
        commune: query.commune,
        active_on: query.active_on,
        updated_since,
    };
    if csv {
        return super::contract_csv::answer(pool.into_inner(), caller.scope(), filter, order).await;
    }
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let page = PageRequest::new(&tokens, &params, format!("contracts|{filter:?}|{order:?}|{}", caller.fingerprint()))?;
    let after = page.after.as_deref().map(|cursor| {
        let (value, id) = cursor.split_once(CURSOR_SEPARATOR).unwrap_or((cursor, ""));
        (value.to_owned(), id.to_owned())
    });
    let scope = caller.scope();
    let page = db::run(&pool, move |conn| {
        let today = chrono::Utc::now().date_naive();
        let rows = repo::list(conn, &scope, &filter, today, order, after.as_ref(), page.fetch_limit())?;
        page.try_finish(
            &tokens,
            rows,
            |(row, _)| format!("{}{CURSOR_SEPARATOR}{}", repo::sort_value(row, order.key), row.id),
            |(row, summary)| summarised_view(row, Some(&summary), today),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One contract, with its perimeter's coverage.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, body = ContractView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}")]
pub async fn get_contract((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    // One statement (two for a collectivity, whose party check follows the row it reads).
    let view = db::run_one_statement(&pool, move |conn| {
        let (row, summary) = repo::find_summarised(conn, &caller.scope(), &id)?.ok_or(ApiError::NotFound)?;
        summarised_view(row, Some(&summary), chrono::Utc::now().date_naive())
    })
    .await?;
    Ok(with_etag(view.version, &view))
}

fn department_for(caller: &Caller, requested: Option<String>) -> ApiResult<String> {
    let department = match (requested, caller.scope()) {
        (Some(department), _) => department,
        (None, Scope::Departments(departments)) if departments.len() == 1 => {
            departments.into_iter().next().unwrap_or_default()
        }
        (None, _) => {
            return Err(ApiError::validation(vec![FieldError::at_pointer(
                "/department",
                "REQUIRED",
                "name the département of the contract",
            )]));
        }
    };
    if !is_caf_department(&department) {
        return Err(ApiError::validation(vec![FieldError::at_pointer(
            "/department",
            "NOT_A_CAF_DEPARTMENT",
            "no CAF serves this département",
        )]));
    }
    if !caller.scope().covers_department(&department) {
        return Err(ApiError::Forbidden(format!("you cannot create contracts in département {department}")));
    }
    Ok(department)
}

/// Create a contract in `draft`.
///
/// The reference is generated when absent. Who may call it: admins, and CAF agents in their
/// départements; the other roles get 403.
#[utoipa::path(tag = "contracts", request_body = CreateContract, responses((status = 201, body = ContractView, headers(("ETag" = String), ("Location" = String))), CreateProblems), security(("bearer" = [])))]
#[post("/contracts")]
pub async fn create_contract((caller, request, pool): Create<CreateContract>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    caller.require_contract_manager()?;
    let department = department_for(&caller, body.department.clone())?;
    write::refuse(body.reference.as_deref().and_then(rules::check_reference))?;
    write::refuse(body.reference.as_deref().and_then(|r| rules::check_reference_prefix(r, body.kind, &department)))?;
    let owner = caller.clone();
    retry
        .run(&pool, &owner, move |conn| {
            let bonus_band = body.bonus_band;
            let draft = ContractDraft {
                kind: body.kind,
                department,
                title: body.title.trim().to_owned(),
                start_date: body.start_date,
                end_date: body.end_date,
                fields: body.fields.into_iter().collect(),
                perimeter: perimeter_from(body.perimeter),
                linked_schemes: body.linked_schemes,
                predecessor_ids: dedup_ids(&body.predecessor_ids),
            };
            let (contract, view) = insert_draft(conn, &caller, draft, body.reference, bonus_band)?;
            ContractChange::of_new(conn, &caller, contract).created(&view)
        })
        .await
}

/// Checks `draft` as a whole, gives it its reference (the one sent, refused when taken, or the
/// next one of its prefix) and writes it in `draft` status: the contract and its view.
pub(crate) fn insert_draft(
    conn: &mut DbConnection,
    caller: &Caller,
    draft: ContractDraft,
    reference: Option<String>,
    bonus_band: Option<i64>,
) -> ApiResult<(ScopedContract, ContractView)> {
    check_draft(conn, &caller.scope(), &draft, None)?;
    let reference = match reference {
        Some(reference) if repo::reference_taken(conn, &reference, None)? => {
            return Err(ApiError::Conflict(format!("reference {reference} is already used")));
        }
        Some(reference) => reference,
        None => repo::next_reference(conn, &rules::reference_prefix(draft.kind, &draft.department, draft.start_date))?,
    };
    let now = db::now();
    let row = ContractRow {
        id: db::new_id(),
        kind: draft.kind,
        reference,
        title: draft.title,
        department: draft.department,
        status: RecordedStatus::Draft,
        start_date: draft.start_date,
        end_date: draft.end_date,
        signed_on: None,
        ended_on: None,
        status_reason: None,
        fields: draft.fields.iter().copied().collect(),
        linked_schemes: serde_json::to_string(&draft.linked_schemes).map_err(ApiError::internal)?,
        bonus_band,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let view = draft_view(conn, row.clone(), &draft.perimeter, &draft.predecessor_ids)?;
    Ok((repo::insert(conn, row, &draft.perimeter, &draft.predecessor_ids)?, view))
}

/// Change a contract.
///
/// Before signature anything but its kind and département may change; after it, the period,
/// perimeter, fields and predecessors change only through an amendment. Who may call it: admins and
/// CAF agents of the contract's département; an integration or a collectivity that reaches the
/// contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = ContractPatch, responses((status = 200, body = ContractView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}")]
pub async fn update_contract(
    (caller, id, if_match, patch, pool): Update<Uuid, ContractPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    write::refuse(patch.reference.as_deref().and_then(rules::check_reference))?;
    write::change_contract(&pool, caller, Retry::none(), id.into_inner(), Access::Manage, move |change| {
        let current = change.contract.row().clone();
        change.ready(&if_match, current.version)?;
        write::refuse(
            patch
                .reference
                .as_deref()
                .and_then(|r| rules::check_reference_prefix(r, current.kind, &current.department)),
        )?;
        let before = view_one(change.conn, current.clone())?;
        let amendment_only = patch.start_date.is_some()
            || patch.end_date.is_some()
            || patch.fields.is_some()
            || patch.perimeter.is_some()
            || patch.predecessor_ids.is_some();
        if amendment_only && !change.contract.row().status.is_editable() {
            return Err(ApiError::Conflict(
                "the contract is signed: its period, perimeter, fields and predecessors change through an amendment"
                    .into(),
            ));
        }
        let perimeter_changed = patch.perimeter.is_some();
        let predecessors_changed = patch.predecessor_ids.is_some();
        let stored = ContractDraft::of(&before);
        let draft = ContractDraft {
            title: patch.title.map_or(stored.title, |title| title.trim().to_owned()),
            start_date: patch.start_date.unwrap_or(stored.start_date),
            end_date: patch.end_date.unwrap_or(stored.end_date),
            fields: patch.fields.map_or(stored.fields, |fields| fields.into_iter().collect()),
            perimeter: patch.perimeter.map_or(stored.perimeter, perimeter_from),
            linked_schemes: patch.linked_schemes.unwrap_or(stored.linked_schemes),
            predecessor_ids: patch.predecessor_ids.map_or(stored.predecessor_ids, |ids| dedup_ids(&ids)),
            ..stored
        };
        check_draft(change.conn, &change.caller.scope(), &draft, Some(&current.id))?;
        let reference = match patch.reference {
            Some(reference) if repo::reference_taken(change.conn, &reference, Some(&current.id))? => {
                return Err(ApiError::Conflict(format!("reference {reference} is already used")));
            }
            Some(reference) => reference,
            None => current.reference.clone(),
        };
        let row = change.next(ContractRow {
            reference,
            title: draft.title,
            start_date: draft.start_date,
            end_date: draft.end_date,
            fields: draft.fields.iter().copied().collect(),
            linked_schemes: serde_json::to_string(&draft.linked_schemes).map_err(ApiError::internal)?,
            bonus_band: patch.bonus_band.unwrap_or(current.bonus_band),
            ..current
        });
        let after = draft_view(change.conn, row.clone(), &draft.perimeter, &draft.predecessor_ids)?;
        let perimeter = perimeter_changed.then_some(&draft.perimeter);
        let predecessors = predecessors_changed.then_some(draft.predecessor_ids.as_slice());
        repo::write(change.conn, &mut change.contract, row, perimeter, predecessors)?;
        change.updated(&before, &after, None)
    })
    .await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    pub action: TransitionAction,
    /// Required for request_changes, terminate and cancel.
    #[validate(length(max = 2000, message = "must have at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    /// For sign: the signature date (default: the last party's signature). For terminate: the
    /// date the contract ends (required).
    pub effective_on: Option<NaiveDate>,
}

impl RequestBody for TransitionBody {}

/// The facts the lifecycle guards look at.
fn facts(conn: &mut DbConnection, scoped: &ScopedContract) -> ApiResult<ContractFacts> {
    let contract = scoped.row();
    let perimeter =
        repo::perimeters(conn, std::slice::from_ref(&contract.id))?.remove(&contract.id).unwrap_or_default();
    // Where each party lies, in the order of the list: both read the contract's parties.
    let located = super::cej_transfer::party_facts(conn, scoped)?;
    let membership = super::cej_transfer::membership(conn, &perimeter)?;
    let parties = parties::list(conn, scoped)?
        .into_iter()
        .zip(located)
        .map(|((party, organisation), place)| PartyFacts {
            organisation_name: organisation.name,
            organisation_kind: organisation.kind,
            roles: party.roles,
            signed_on: party.signed_on,
            deliberation_date: party.deliberation_date,
            deliberation_ref: party.deliberation_ref,
            in_perimeter: membership.holds(&place),
            signatory_names: [&party.signatory_name, &party.second_signatory_name]
                .iter()
                .filter(|name| name.as_deref().is_some_and(|name| !name.trim().is_empty()))
                .count(),
        })
        .collect();
    Ok(ContractFacts {
        kind: contract.kind,
        status: contract.status,
        start_date: contract.start_date,
        end_date: contract.end_date,
        fields: contract.fields.iter().copied().collect(),
        perimeter_size: perimeter.len(),
        parties,
    })
}

/// The CEJs a CTG replaces, each locked, in the order of their ids: two writers locking CEJs they
/// share take them in the same order, so neither can hold one the other waits for.
fn lock_predecessors(change: &mut ContractChange<'_>) -> ApiResult<Vec<ScopedContract>> {
    let id = change.contract.id().to_owned();
    let mut predecessor_ids =
        repo::predecessors(change.conn, std::slice::from_ref(&id))?.remove(&id).unwrap_or_default();
    predecessor_ids.sort();
    let mut locked = Vec::with_capacity(predecessor_ids.len());
    for predecessor_id in predecessor_ids {
        locked.extend(repo::lock_scoped(change.conn, &Scope::Everything, &predecessor_id)?);
    }
    Ok(locked)
}

/// Writes `row`, the contract of `change` moved to another status, and records the move.
fn write_transition(change: &mut ContractChange<'_>, row: ContractRow, reason: Option<&str>) -> ApiResult<Answer> {
    // A transition changes neither perimeter nor predecessors: one summary serves both views.
    let id = change.contract.id().to_owned();
    let summary = repo::summaries(change.conn, std::slice::from_ref(&id))?.remove(&id);
    let today = chrono::Utc::now().date_naive();
    let before = summarised_view(change.contract.row().clone(), summary.as_ref(), today)?;
    let after = summarised_view(row.clone(), summary.as_ref(), today)?;
    repo::write(change.conn, &mut change.contract, row, None, None)?;
    change.transitioned(&before, &after, reason)
}

/// Marks the CEJs of `transfers` (the signed predecessors, locked by [`lock_predecessors`]) as
/// superseded by the CTG of `change`, each with its own history entry, once their commitments
/// are closed for the years after their end.
fn supersede(
    change: &mut ContractChange<'_>,
    predecessors: Vec<ScopedContract>,
    transfers: &[CejTransfer],
) -> ApiResult<()> {
    let reason = format!("replaced by {}", change.contract.row().reference);
    for predecessor in predecessors {
        // A CTG renewed carries no CEJ money: it has no transfer.
        let transfer = transfers.iter().find(|transfer| transfer.cej_id.to_string() == predecessor.id());
        let mut predecessor_change = change.on(predecessor);
        if let Some(transfer) = transfer {
            cej_transfer::close_years(&mut predecessor_change, transfer, &reason)?;
        }
        let current = predecessor_change.contract.row().clone();
        let status_reason = Some(reason.clone());
        let row = predecessor_change.next(ContractRow { status: RecordedStatus::Superseded, status_reason, ..current });
        write_transition(&mut predecessor_change, row, Some(&reason))?;
    }
    Ok(())
}

/// Move a contract through its lifecycle.
///
/// Move a contract through its lifecycle: `submit`, `request_changes`, `sign`, `terminate` or
/// `cancel`. A refusal is 409 `INVALID_STATE_TRANSITION` listing every unmet condition. Signing a
/// CTG carries the money of the signed CEJs it replaces, as `GET /v1/contracts/{id}/cej-transfer`
/// previews it, in the same transaction: it creates the `ex_cej` bonus territoire commitments
/// (draft, linked to the CEJ commitments they continue), closes the CEJ commitments for the years
/// after the CEJ's end, and marks the CEJs `superseded`. Its blocking conditions
/// (`CEJ_SIGNATORY_LEFT_OUT`, `CEJ_MANAGER_NOT_A_PARTY`, `CEJ_GAP_TOO_LONG`, `CEJ_PAID_AFTER_END`,
/// `CEJ_COMMITMENT_WITHOUT_EQUIPMENT`) refuse the signature with the lifecycle's. Who may call it:
/// admins and CAF agents of the contract's département; an integration or a collectivity that
/// reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = TransitionBody, responses((status = 200, body = ContractView, headers(("ETag" = String))), TransitionProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/transitions")]
pub async fn transition_contract(
    (caller, id, if_match, request, pool): Transition<Uuid, TransitionBody>,
) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    write::change_contract(&pool, caller, retry, id.into_inner(), Access::Manage, move |change| {
        change.check(&if_match, change.contract.row().version)?;
        let facts = facts(change.conn, &change.contract)?;
        let request = TransitionRequest { reason: body.reason.clone(), effective_on: body.effective_on };
        let outcome = lifecycle::transition(&facts, body.action, &request);
        // Signing a CTG carries the money of the CEJs it replaces: their locks first, then the
        // plan the preview shows, whose blocking conditions join the lifecycle's in one refusal.
        let signs_ctg = body.action == TransitionAction::Sign && facts.kind == ContractKind::Ctg;
        let predecessors: Vec<ScopedContract> = if signs_ctg {
            lock_predecessors(change)?.into_iter().filter(|cej| cej.row().status == RecordedStatus::Signed).collect()
        } else {
            Vec::new()
        };
        // The plan is the preview's: of the CEJs only, a CTG this one renews carries no CEJ money.
        let cejs: Vec<ScopedContract> =
            predecessors.iter().filter(|predecessor| predecessor.row().kind == ContractKind::Cej).cloned().collect();
        let plan = if signs_ctg { Some(cej_transfer::plan_for(change.conn, &change.contract, &cejs)?) } else { None };
        let mut unmet: Vec<FieldError> = Vec::new();
        let target = match outcome {
            Ok(target) => Some(target),
            Err(refused) => {
                unmet.extend(refused.into_iter().map(|u| FieldError::condition(u.code, u.detail)));
                None
            }
        };
        if let Some(plan) = &plan {
            unmet.extend(plan.blocking.iter().map(|u| FieldError::condition(u.code, u.detail.clone())));
        }
        let Some(target) = target.filter(|_| unmet.is_empty()) else {
            return Err(ApiError::InvalidStateTransition {
                detail: format!("{} is refused: {} condition(s) unmet", body.action, unmet.len()),
                unmet,
            });
        };
        // The bonuses first: each moves the CTG's version, and the signature, recorded last,
        // answers the version the CTG ends with.
        if let Some(plan) = &plan {
            cej_transfer::create_bonuses(change, plan)?;
        }
        let current = change.contract.row().clone();
        let mut row = change.next(ContractRow { status: target, ..current });
        match body.action {
            TransitionAction::Sign => {
                row.signed_on = lifecycle::signature_date(&facts, &request);
                row.status_reason = None;
            }
            TransitionAction::Terminate => {
                row.ended_on = body.effective_on;
                row.status_reason.clone_from(&body.reason);
            }
            TransitionAction::Submit => row.status_reason = None,
            TransitionAction::RequestChanges | TransitionAction::Cancel => row.status_reason.clone_from(&body.reason),
        }
        let answer = write_transition(change, row, body.reason.as_deref())?;
        if let Some(plan) = plan {
            supersede(change, predecessors, &plan.cejs)?;
        }
        Ok(answer)
    })
    .await
}
