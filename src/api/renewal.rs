//! `POST /v1/contracts/{id}/renewal`: the next CTG of a signed CTG, as a draft. It takes over the
//! perimeter, the fields, the linked schemes and the bonus band, the parties with their roles
//! (signatures and délibérations cleared: they sign the new contract anew), and the axes and
//! actions not yet achieved; it starts the day after the end of the contract it succeeds.
//! Signing it marks the old one superseded.

use std::collections::HashMap;

use actix_web::{HttpResponse, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::contracts::{ContractDraft, ContractView, insert_draft, view_one};
use super::parties::party_view;
use super::problems::CreateChildProblems;
use crate::auth::Scope;
use crate::db::action_plan::{self as plan, ActionRow, AxisRow};
use crate::db::contracts::{self as repo, ScopedContract};
use crate::db::parties::{self, PartyRow};
use crate::db::stored::stored_uuid;
use crate::domain::contract::{ActionStatus, ContractKind, RecordedStatus};
use crate::domain::draft as rules;
use crate::error::{ApiError, ApiResult};
use crate::http::body::RequestBody;
use crate::http::idempotency::{Answer, IdempotentJson};
use crate::http::requests::CreateUnder;
use crate::write::{self, Access, ContractChange, Resource};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequest {
    /// The last day of the new CTG; its length varies by CAF, so it is sent.
    pub end_date: NaiveDate,
    /// Default: the old title followed by "(renouvellement)".
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    /// Generated when absent, as on creation.
    pub reference: Option<String>,
}

impl RequestBody for RenewalRequest {}

/// Whether an action is carried into the next CTG: what is neither done nor given up.
fn still_to_achieve(status: ActionStatus) -> bool {
    !matches!(status, ActionStatus::Completed | ActionStatus::Abandoned)
}

/// Copies the parties, and the axes and actions not yet achieved, of `old` into `renewed`, each
/// recorded in the new contract's history and the feed.
fn carry_over(old: &ScopedContract, renewed: &mut ContractChange<'_>) -> ApiResult<()> {
    let at = renewed.at;
    // The copies belong to the new contract: their history and feed entries say so.
    let renewed_id = stored_uuid(renewed.contract.id())?;
    for (party, organisation) in parties::list(renewed.conn, old)? {
        let row = PartyRow {
            id: Uuid::new_v4(),
            contract_id: renewed_id,
            deliberation_date: None,
            deliberation_ref: None,
            signed_on: None,
            version: 1,
            created_at: at,
            updated_at: at,
            ..party
        };
        parties::insert(renewed.conn, &renewed.contract, &row)?;
        renewed.created(&party_view(row, organisation))?;
    }
    let actions: Vec<ActionRow> = plan::actions(renewed.conn, old, None, i64::MAX)?
        .into_iter()
        .filter(|action| still_to_achieve(action.status))
        .collect();
    let mut axis_ids: HashMap<Uuid, Uuid> = HashMap::new();
    for axis in plan::axes(renewed.conn, old)? {
        let has_actions = plan::actions_of_axis(renewed.conn, axis.id)? > 0;
        let carried = actions.iter().any(|action| action.axis_id == Some(axis.id));
        if has_actions && !carried {
            continue;
        }
        let row =
            AxisRow { id: Uuid::new_v4(), contract_id: renewed_id, version: 1, created_at: at, updated_at: at, ..axis };
        axis_ids.insert(axis.id, row.id);
        plan::insert_axis(renewed.conn, &renewed.contract, &row)?;
        renewed.created(&row)?;
    }
    for action in actions {
        let row = ActionRow {
            id: Uuid::new_v4(),
            contract_id: renewed_id,
            axis_id: action.axis_id.and_then(|axis| axis_ids.get(&axis).copied()),
            // Dates of the old period: the new plan sets its own.
            planned_start: None,
            planned_end: None,
            actual_start: None,
            actual_end: None,
            status: ActionStatus::Planned,
            version: 1,
            created_at: at,
            updated_at: at,
            ..action
        };
        plan::insert_action(renewed.conn, &renewed.contract, &row)?;
        renewed.created(&row)?;
    }
    Ok(())
}

/// Renew a signed CTG by a draft CTG that succeeds it.
///
/// Renew a signed CTG: its next CTG as a draft, starting the day after its end, with its perimeter,
/// fields, linked schemes, bonus band, parties (to sign again) and the axes and actions not yet
/// achieved. A contract that is not a signed CTG, or one already renewed by a contract not
/// cancelled, answers 409. Signing the new CTG marks the old one superseded. Who may call it:
/// admins and CAF agents of the contract's département; an integration or a collectivity that
/// reaches the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")), request_body = RenewalRequest, responses((status = 201, body = ContractView, headers(("ETag" = String), ("Location" = String))), CreateChildProblems), security(("bearer" = [])))]
#[post("/contracts/{id}/renewal")]
pub async fn renew_contract((caller, id, request, pool): CreateUnder<Uuid, RenewalRequest>) -> ApiResult<HttpResponse> {
    let IdempotentJson { body, retry } = request;
    write::refuse(body.reference.as_deref().and_then(rules::check_reference))?;
    write::change_contract(&pool, caller, retry, id.into_inner(), Access::Manage, move |change| {
        let old = change.contract.row().clone();
        if old.kind != ContractKind::Ctg || old.status != RecordedStatus::Signed {
            return Err(ApiError::Conflict(format!(
                "only a signed CTG is renewed; this is a {} {}",
                old.kind, old.status
            )));
        }
        if let Some(problem) =
            body.reference.as_deref().and_then(|r| rules::check_reference_prefix(r, ContractKind::Ctg, &old.department))
        {
            return Err(write::rejected([problem]));
        }
        for successor in repo::successors(change.conn, &old.id)? {
            if let Some(next) = repo::find(change.conn, &Scope::Everything, &successor)?
                && next.status != RecordedStatus::Cancelled
            {
                return Err(ApiError::Conflict(format!("{} already succeeds this contract", next.reference)));
            }
        }
        let start_date = old.end_date.succ_opt().ok_or_else(|| ApiError::internal("no day after the end"))?;
        let draft = ContractDraft {
            title: body
                .title
                .map_or_else(|| format!("{} (renouvellement)", old.title), |title| title.trim().to_owned()),
            start_date,
            end_date: body.end_date,
            predecessor_ids: vec![old.id.clone()],
            ..ContractDraft::of(&view_one(change.conn, old.clone())?)
        };
        let caller = change.caller;
        let (contract, view) = insert_draft(change.conn, caller, draft, body.reference, old.bonus_band)?;
        let mut renewed = ContractChange::of_new(change.conn, caller, contract);
        renewed.created_with_reason(&view, Some(&format!("renewal of {}", old.reference)))?;
        carry_over(&change.contract, &mut renewed)?;
        // The answer is the contract as its parts left it.
        let after = view_one(renewed.conn, renewed.contract.row().clone())?;
        Answer::created(after.location(), after.version(), &after)
    })
    .await
}
