//! The history of a contract: every change to it or one of its sub-resources, who made it, when,
//! before and after.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contracts::find_in_scope;
use super::problems::ChildListProblems;
use super::stored_id;
use crate::auth::Caller;
use crate::db::history::{self as repo, EntryRow};
use crate::db::{self, DbPool};
use crate::error::ApiResult;
use crate::http::pagination::{Page, PageParams, PageRequest, PageTokenKey};
use crate::http::query::ApiQuery;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    /// The token's `sub`.
    pub sub: String,
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntryView {
    /// Increases with every change recorded.
    pub sequence: i64,
    pub at: String,
    pub actor: Actor,
    /// `created`, `updated`, `deleted`, `transitioned` or `amended`.
    pub action: String,
    /// `contract`, `party`, `axis`, `action`, …
    pub resource: String,
    pub resource_id: Uuid,
    pub reason: Option<String>,
    /// The resource before the change (`null` for a creation).
    pub before: Option<serde_json::Value>,
    /// The resource after the change (`null` for a deletion).
    pub after: Option<serde_json::Value>,
}

fn entry_view(row: EntryRow) -> ApiResult<HistoryEntryView> {
    let parse = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
    Ok(HistoryEntryView {
        sequence: row.id,
        at: db::rfc3339(row.at),
        actor: Actor { sub: row.actor_sub, role: row.actor_role },
        action: row.action,
        resource: row.resource,
        resource_id: stored_id(&row.resource_id)?,
        reason: row.reason,
        before: parse(row.before),
        after: parse(row.after),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// The history of a contract and its sub-resources, oldest first.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), HistoryQuery), responses((status = 200, body = Page<HistoryEntryView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/history")]
pub async fn list_history(
    caller: Caller,
    id: web::Path<Uuid>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
    pool: web::Data<DbPool>,
    tokens: web::Data<PageTokenKey>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_string();
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let page = PageRequest::new(&tokens, &params, format!("history|{id}|{}", caller.fingerprint()))?;
    let page = db::run(&pool, move |conn| {
        find_in_scope(conn, &caller, &id)?;
        let after = page.after.as_deref().and_then(|cursor| cursor.parse().ok());
        let rows = repo::list(conn, &id, after, page.fetch_limit())?;
        page.try_finish(&tokens, rows, |row| row.id.to_string(), entry_view)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
