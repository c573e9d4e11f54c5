//! The history of a contract: every change to it or one of its sub-resources, who made it, when,
//! before and after.

use actix_web::{HttpResponse, get};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::contracts::find_in_scope;
use super::problems::ChildListProblems;
use crate::db::history as repo;
pub use crate::db::history::{Actor, EntryRow as HistoryEntryView};
use crate::error::ApiResult;
use crate::http::pagination::{Page, PageParams};
use crate::http::query::ApiQuery;
use crate::http::requests::ListUnder;
use crate::write;

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
pub async fn list_history((caller, id, query, pool, tokens): ListUnder<Uuid, HistoryQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let id = id.into_inner().to_string();
    let params = PageParams { page_size: query.page_size, page_token: query.page_token.as_deref() };
    let binding = format!("history|{id}|{}", caller.fingerprint());
    let sequence = |row: &HistoryEntryView| row.id.to_string();
    write::read_page(&pool, tokens, params, binding, sequence, move |conn, after, limit| {
        find_in_scope(conn, &caller, &id)?;
        let after = after.and_then(|cursor| cursor.parse().ok());
        Ok(repo::list(conn, &id, after, limit)?)
    })
    .await
}
