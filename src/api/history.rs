//! The history of a contract: every change to it or one of its sub-resources, who made it, when,
//! before and after.

use actix_web::{HttpResponse, get};
use uuid::Uuid;

use super::problems::ChildListProblems;
use crate::db::history as repo;
pub use crate::db::history::{Actor, EntryRow as HistoryEntryView};
use crate::error::ApiResult;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::ApiQuery;
use crate::http::requests::ListUnder;
use crate::write;

/// The history of a contract and its sub-resources, oldest first.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = Page<HistoryEntryView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/history")]
pub async fn list_history((caller, id, query, pool, tokens): ListUnder<Uuid, PageQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let contract_id = id.into_inner();
    let id = contract_id.to_string();
    let binding = format!("history|{id}|{}", caller.fingerprint());
    let sequence = |row: &HistoryEntryView| row.id.to_string();
    write::read_page(&pool, tokens, query.params(), binding, sequence, move |conn, after, limit| {
        write::scoped(conn, &caller, contract_id)?;
        let after = after.and_then(|cursor| cursor.parse().ok());
        Ok(repo::list(conn, &id, after, limit)?)
    })
    .await
}
