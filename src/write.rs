//! The write pipeline: the one path every change to a contract, to one of its parts or to a
//! directory entry takes. It owns, once for all of them:
//!
//! - the scoped lookup of the contract under its lock (404 out of scope, as for an unknown id),
//!   the role (403) and the "still open" rule (409), giving the handler a [`ScopedContract`],
//!   which child repositories require;
//! - `If-Match` (decided after the 404, the 403 and the reading of the body, before the rules
//!   that need the database), the version bump and the 412;
//! - the history entry, the feed event and the contract's `touched` bump;
//! - the answer with its `ETag` and `Location`, stored for `Idempotency-Key` retries.
//!
//! A handler only loads, applies its rules (most of them pure functions in `domain/`) and builds
//! the row to write. Reads of a contract's parts go through [`read_parts`] and [`read_part`],
//! which hand the loader the same [`ScopedContract`].

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::db::contracts::{self, ScopedContract};
use crate::db::events::{self, NewEvent};
use crate::db::history::{self, Action, Entry};
use crate::db::{self, DbConnection, DbPool, Versioned, funding};
use crate::domain::contract::RecordedStatus;
use crate::domain::draft::Problem;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::idempotency::{Answer, Retry};
use crate::http::pagination::{Page, PageParams, PageRequest, PageTokenKey};
use crate::http::preconditions::{IfMatch, with_etag};

/// A resource as its route answers it, with what the pipeline needs to record and answer a
/// change to it.
pub trait Resource: Serialize {
    /// Its name in the history and the feed: `party`, `axis`, `funding_commitment`, …
    const NAME: &'static str;
    fn id(&self) -> String;
    /// Its version, for the `ETag`; `None` for what never changes once written (a payment).
    fn version(&self) -> Option<i64>;
    /// Its address, for `Location`.
    fn location(&self) -> String;
    /// The département a directory entry belongs to, for the feed's scope.
    fn department(&self) -> Option<&str> {
        None
    }

    /// What the history and the feed keep of it: by default the resource as its route answers it.
    fn recorded(&self) -> ApiResult<serde_json::Value> {
        serde_json::to_value(self).map_err(ApiError::internal)
    }
}

/// The version that follows `version`: every version, of a resource or of the contract its change
/// touches, moves here and nowhere else.
fn following(version: i64) -> i64 {
    version + 1
}

/// The next version of `row`, stamped with the time of the change.
fn next_version<R: Versioned>(mut row: R, at: NaiveDateTime) -> R {
    let version = following(row.version());
    row.stamp(version, at);
    row
}

/// Implements [`Resource`] for a view: its name in the history and the feed, its id, its address,
/// its version (for the `ETag`) when it has one, and for a directory entry its département.
macro_rules! resource {
    (@version $this:ident, $v:ident) => {
        None
    };
    (@version $this:ident, $v:ident, $version:expr) => {{
        let $v = $this;
        Some($version)
    }};
    ($view:ty, $name:literal, |$v:ident| id: $id:expr, location: $location:expr
        $(, version: $version:expr)? $(, department: $department:expr)? $(,)?) => {
        impl $crate::write::Resource for $view {
            const NAME: &'static str = $name;

            fn id(&self) -> String {
                let $v = self;
                $id.to_string()
            }

            fn version(&self) -> Option<i64> {
                $crate::write::resource!(@version self, $v $(, $version)?)
            }

            fn location(&self) -> String {
                let $v = self;
                $location
            }

            $(fn department(&self) -> Option<&str> {
                let $v = self;
                $department
            })?
        }
    };
}

pub(crate) use resource;

/// Who may change a contract or its parts, once the contract is found in the caller's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Admins and CAF agents; anyone else gets 403.
    Manage,
    /// Anyone who reaches the contract; the handler's rules decide the rest (a collectivity
    /// records its own party's signature, the pilot of an action its progress).
    Reach,
}

/// A change under way to one contract or one of its parts, in one write transaction that holds
/// the contract's lock.
pub struct ContractChange<'a> {
    pub conn: &'a mut DbConnection,
    pub caller: &'a Caller,
    pub contract: ScopedContract,
    /// The time of the change: every row and entry it writes carries it.
    pub at: NaiveDateTime,
    /// Whether a part's change already moved the contract's version in this change: a request
    /// that writes many parts (a signature creating a bonus per facility) moves it once.
    touched: bool,
}

impl<'a> ContractChange<'a> {
    /// The change that follows the creation of `contract` in this transaction.
    pub fn of_new(conn: &'a mut DbConnection, caller: &'a Caller, contract: ScopedContract) -> Self {
        let at = contract.row().updated_at;
        Self { conn, caller, contract, at, touched: false }
    }

    /// A change to `other`, another contract locked in this same transaction (a CEJ superseded
    /// by the CTG being signed), recorded in its own history.
    pub fn on(&mut self, other: ScopedContract) -> ContractChange<'_> {
        ContractChange { conn: self.conn, caller: self.caller, contract: other, at: self.at, touched: false }
    }

    /// `If-Match` against the version the resource has now: called once the resource is found
    /// and the role allowed, before the rules that read the database.
    pub fn check(&self, if_match: &IfMatch, version: i64) -> ApiResult<()> {
        if_match.check(version)
    }

    /// The part `find` reads through the contract, ready to change: 404 when there is none, then
    /// `If-Match` against its version, then 409 unless the contract is still open. A handler whose
    /// role rules look at the part first (403 before 412) calls [`Self::ready`] after them instead.
    pub fn current<R, F>(&mut self, if_match: &IfMatch, find: F) -> ApiResult<R>
    where
        R: Versioned,
        F: FnOnce(&mut DbConnection, &ScopedContract) -> QueryResult<Option<R>>,
    {
        let current = find(self.conn, &self.contract)?.ok_or(ApiError::NotFound)?;
        self.ready(if_match, current.version())?;
        Ok(current)
    }

    /// `If-Match` against the part's `version`, then 409 unless the contract is still open: what
    /// every change to an existing part checks once it is found and the caller allowed.
    pub fn ready(&self, if_match: &IfMatch, version: i64) -> ApiResult<()> {
        self.check(if_match, version)?;
        self.require_open()
    }

    /// 409 unless the contract can still be worked on (not terminated, cancelled or superseded).
    pub fn require_open(&self) -> ApiResult<()> {
        let status = self.contract.row().status;
        if matches!(status, RecordedStatus::Terminated | RecordedStatus::Cancelled | RecordedStatus::Superseded) {
            return Err(ApiError::Conflict(format!("the contract is {status}: it can no longer change")));
        }
        Ok(())
    }

    /// `row` at its next version, stamped with the time of this change.
    pub fn next<R: Versioned>(&self, row: R) -> R {
        next_version(row, self.at)
    }

    /// Says that this change wrote the contract's own row at its next version (an amendment):
    /// the parts it records afterwards do not move the version again.
    pub fn contract_written(&mut self) {
        self.touched = true;
    }

    /// Records the creation of `view`: 201 with its `Location` and `ETag`.
    pub fn created<R: Resource>(&mut self, view: &R) -> ApiResult<Answer> {
        self.created_with_reason(view, None)
    }

    /// Records the creation of `view` with why it was made (a recovery): 201 with its `Location`.
    pub fn created_with_reason<R: Resource>(&mut self, view: &R, reason: Option<&str>) -> ApiResult<Answer> {
        self.record(Action::Created, &view.id(), None, Some(view), reason)?;
        Answer::created(view.location(), view.version(), view)
    }

    /// Records a change of `before` into `after`: 200 with `after` and its `ETag`.
    pub fn updated<R: Resource>(&mut self, before: &R, after: &R, reason: Option<&str>) -> ApiResult<Answer> {
        self.record(Action::Updated, &after.id(), Some(before), Some(after), reason)?;
        Answer::current(after.version(), after)
    }

    /// Records a transition of `before` into `after`: 200 with `after` and its `ETag`.
    pub fn transitioned<R: Resource>(&mut self, before: &R, after: &R, reason: Option<&str>) -> ApiResult<Answer> {
        self.record(Action::Transitioned, &after.id(), Some(before), Some(after), reason)?;
        Answer::current(after.version(), after)
    }

    /// Records the contract amended from `before` into `after` by `amendment`: 201 with the amendment.
    pub fn amended<C: Resource, A: Resource>(
        &mut self,
        before: &C,
        after: &C,
        amendment: &A,
        reason: &str,
    ) -> ApiResult<Answer> {
        self.record(Action::Amended, &after.id(), Some(before), Some(after), Some(reason))?;
        Answer::created(amendment.location(), amendment.version(), amendment)
    }

    /// Records the deletion of `before`: 204.
    pub fn deleted<R: Resource>(&mut self, before: &R) -> ApiResult<Answer> {
        self.record(Action::Deleted, &before.id(), Some(before), None, None)?;
        Ok(Answer::no_content())
    }

    /// The history entry and the feed event of a change to the contract or one of its parts. A
    /// part's change also moves the contract's version, since the contract's ETag covers its parts:
    /// once per change, with one `contract.touched` event, however many parts it writes.
    fn record<R: Resource>(
        &mut self,
        action: Action,
        resource_id: &str,
        before: Option<&R>,
        after: Option<&R>,
        reason: Option<&str>,
    ) -> ApiResult<()> {
        let is_the_contract = R::NAME == "contract" && resource_id == self.contract.id();
        let touched = if is_the_contract || self.touched {
            None
        } else {
            self.touched = true;
            let version = following(self.contract.row().version);
            contracts::touch_scoped(self.conn, &mut self.contract, version, self.at)?;
            Some((version, self.at))
        };
        let entry = Entry {
            contract_id: self.contract.id(),
            department: &self.contract.row().department,
            caller: self.caller,
            at: self.at,
            action,
            resource: R::NAME,
            resource_id,
            reason,
            before: before.map(Resource::recorded).transpose()?,
            after: after.map(Resource::recorded).transpose()?,
            touched,
        };
        Ok(history::record_entry(self.conn, &entry)?)
    }
}

/// Runs `work` as one change to the contract `contract_id` or to one of its parts: in one write
/// transaction (stored for retries when an `Idempotency-Key` came with it), under the contract's
/// lock, once the contract is found in the caller's scope and the caller's role allowed.
pub async fn change_contract<F>(
    pool: &DbPool,
    caller: Caller,
    retry: Retry,
    contract_id: Uuid,
    access: Access,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut ContractChange<'_>) -> ApiResult<Answer> + Send + 'static,
{
    let owner = caller.clone();
    retry
        .run(pool, &owner, move |conn| {
            let mut change = begin(conn, &caller, &contract_id.to_string(), access)?;
            work(&mut change)
        })
        .await
}

/// [`change_contract`] for a change to a funding commitment, reached by its own id: the
/// contract it belongs to is locked and looked up in scope first, then the commitment is read
/// under that lock and handed to `work`.
pub async fn change_commitment<F>(
    pool: &DbPool,
    caller: Caller,
    retry: Retry,
    commitment_id: Uuid,
    access: Access,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut ContractChange<'_>, funding::CommitmentRow) -> ApiResult<Answer> + Send + 'static,
{
    let owner = caller.clone();
    retry
        .run(pool, &owner, move |conn| {
            let contract_id = funding::contract_of(conn, commitment_id)?.ok_or(ApiError::NotFound)?;
            let mut change = begin(conn, &caller, &contract_id, access)?;
            let commitment =
                funding::find_in(change.conn, &change.contract, commitment_id)?.ok_or(ApiError::NotFound)?;
            work(&mut change, commitment)
        })
        .await
}

fn begin<'a>(
    conn: &'a mut DbConnection,
    caller: &'a Caller,
    contract_id: &str,
    access: Access,
) -> ApiResult<ContractChange<'a>> {
    let contract = contracts::lock_scoped(conn, &caller.scope(), contract_id)?.ok_or(ApiError::NotFound)?;
    if access == Access::Manage {
        caller.require_contract_manager()?;
    }
    Ok(ContractChange { conn, caller, contract, at: db::now(), touched: false })
}

/// A change under way to a directory entry (an organisation, an equipment, an indicator): no
/// contract and no history, but the same preconditions, versions, feed and answers.
pub struct DirectoryChange<'a> {
    pub conn: &'a mut DbConnection,
    pub caller: &'a Caller,
    pub at: NaiveDateTime,
}

impl DirectoryChange<'_> {
    pub fn next<R: Versioned>(&self, row: R) -> R {
        next_version(row, self.at)
    }

    /// Makes the writers of one entry take turns until the transaction ends, so that the entry
    /// read next is still current when it is written: `If-Match: *` cannot lose to a concurrent
    /// change. SQLite's one writer already takes turns.
    fn lock(&mut self, resource: &str, id: &str) -> ApiResult<()> {
        Ok(db::serialize_writers(self.conn, &format!("{resource}:{id}"))?)
    }

    /// The entry `id`, read by `find` under the entry's lock, once the caller may write it where
    /// it lies (403) and `If-Match` holds (412); 404 when `find` finds nothing. Every change to an
    /// existing entry opens with it.
    pub fn current<R, F>(&mut self, id: &str, if_match: &IfMatch, find: F) -> ApiResult<R>
    where
        R: Resource + Versioned,
        F: FnOnce(&mut DbConnection) -> QueryResult<Option<R>>,
    {
        self.lock(R::NAME, id)?;
        let current = find(self.conn)?.ok_or(ApiError::NotFound)?;
        self.require_writable(current.department(), R::NAME)?;
        if_match.check(Versioned::version(&current))?;
        Ok(current)
    }

    /// For a PUT that creates or replaces the entry `id`: the entry read by `find` under the
    /// entry's lock, once the caller may write it (403) and `If-Match` holds (412, 428 without
    /// it); `None` when there is none yet, which only a request without `If-Match` may create
    /// (RFC 9110 §13.1.1: `If-Match` on a resource that does not exist is false, 412).
    pub fn existing<R, F>(&mut self, id: &str, if_match: &IfMatch, find: F) -> ApiResult<Option<R>>
    where
        R: Resource + Versioned,
        F: FnOnce(&mut DbConnection) -> QueryResult<Option<R>>,
    {
        self.lock(R::NAME, id)?;
        match find(self.conn)? {
            Some(current) => {
                self.require_writable(current.department(), R::NAME)?;
                if_match.check(Versioned::version(&current))?;
                Ok(Some(current))
            }
            None => match if_match {
                IfMatch::Missing => Ok(None),
                // Unreadable is 400 whatever the resource; `check` says so the usual way.
                IfMatch::Malformed => if_match.check(0).map(|()| None),
                IfMatch::Any | IfMatch::Tags(_) => Err(ApiError::PreconditionFailed),
            },
        }
    }

    /// 403 unless the caller may write an entry located in `department`: admins write every
    /// entry, CAF agents those located in their départements (so never one located nowhere).
    pub fn require_writable(&self, department: Option<&str>, entry: &str) -> ApiResult<()> {
        self.caller.require_contract_manager()?;
        let scope = self.caller.scope();
        let covered = department.map_or(scope == Scope::Everything, |department| scope.covers_department(department));
        if covered { Ok(()) } else { Err(ApiError::Forbidden(format!("this {entry} lies outside your départements"))) }
    }

    /// 412 unless the conditional write (`WHERE version = <read>`) changed the one row: kept
    /// behind the entry's lock as a guard against a writer that does not take it.
    pub fn written(rows: usize) -> ApiResult<()> {
        if rows == 1 { Ok(()) } else { Err(ApiError::PreconditionFailed) }
    }

    pub fn created<R: Resource>(&mut self, view: &R) -> ApiResult<Answer> {
        self.event("created", &view.id(), view.department(), Some(view))?;
        Answer::created(view.location(), view.version(), view)
    }

    pub fn updated<R: Resource>(&mut self, after: &R) -> ApiResult<Answer> {
        self.event("updated", &after.id(), after.department(), Some(after))?;
        Answer::current(after.version(), after)
    }

    pub fn deleted<R: Resource>(&mut self, before: &R) -> ApiResult<Answer> {
        self.event::<R>("deleted", &before.id(), before.department(), None)?;
        Ok(Answer::no_content())
    }

    fn event<R: Resource>(
        &mut self,
        action: &str,
        id: &str,
        department: Option<&str>,
        after: Option<&R>,
    ) -> ApiResult<()> {
        // The view's own field order, as the feed has always carried directory entries.
        let body = after.map(|view| serde_json::to_string(view).map_err(ApiError::internal)).transpose()?;
        let event = NewEvent {
            caller: self.caller,
            at: self.at,
            resource: R::NAME,
            action,
            resource_id: id,
            contract_id: None,
            department,
            body,
        };
        Ok(events::record(self.conn, &event)?)
    }
}

/// 422 listing every rule a `domain` function found broken, each at its field.
pub fn rejected(problems: impl IntoIterator<Item = Problem>) -> ApiError {
    let errors =
        problems.into_iter().map(|problem| FieldError::at_pointer(problem.pointer, problem.code, problem.detail));
    ApiError::validation(errors.collect())
}

/// Nothing when `domain` found no broken rule; [`rejected`] otherwise.
pub fn refuse(problems: impl IntoIterator<Item = Problem>) -> ApiResult<()> {
    let mut problems = problems.into_iter().peekable();
    if problems.peek().is_none() { Ok(()) } else { Err(rejected(problems)) }
}

/// Runs `work` as one change to a directory entry, in one write transaction (stored for retries
/// when an `Idempotency-Key` came with it).
pub async fn change_directory<F>(pool: &DbPool, caller: Caller, retry: Retry, work: F) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DirectoryChange<'_>) -> ApiResult<Answer> + Send + 'static,
{
    let owner = caller.clone();
    retry
        .run(pool, &owner, move |conn| {
            let mut change = DirectoryChange { conn, caller: &caller, at: db::now() };
            work(&mut change)
        })
        .await
}

/// The parts of a contract the caller reaches, in one page: `load` reads them through the
/// [`ScopedContract`], in one read transaction. Out of scope is 404, as an unknown contract.
pub async fn read_parts<T, F>(pool: &DbPool, caller: Caller, contract_id: Uuid, load: F) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, &ScopedContract) -> ApiResult<Vec<T>> + Send + 'static,
{
    let items = db::run(pool, move |conn| {
        let contract = scoped(conn, &caller, contract_id)?;
        load(conn, &contract)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_page_token: None }))
}

/// One part of a contract the caller reaches, with its `ETag` when it has a version: 404 when
/// the contract is out of scope or `load` finds nothing.
pub async fn read_part<R, F>(pool: &DbPool, caller: Caller, contract_id: Uuid, load: F) -> ApiResult<HttpResponse>
where
    R: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection, &ScopedContract) -> ApiResult<Option<R>> + Send + 'static,
{
    let view = db::run(pool, move |conn| {
        let contract = scoped(conn, &caller, contract_id)?;
        load(conn, &contract)?.ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(with_etag(view.version(), &view))
}

/// What a funding commitment holds (the commitment itself, its schedule, a payment), read by
/// `load` from the commitment once its contract is found in the caller's scope, with its `ETag`
/// when it has a version: 404 when the contract is out of scope or `load` finds nothing.
pub async fn read_commitment<R, F>(
    pool: &DbPool,
    caller: Caller,
    commitment_id: Uuid,
    load: F,
) -> ApiResult<HttpResponse>
where
    R: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection, funding::CommitmentRow) -> ApiResult<Option<R>> + Send + 'static,
{
    let view = db::run(pool, move |conn| {
        let (commitment, _) = funding::find(conn, &caller.scope(), commitment_id)?.ok_or(ApiError::NotFound)?;
        load(conn, commitment)?.ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(with_etag(view.version(), &view))
}

/// The contract `contract_id` if the caller reaches it; 404 otherwise, exactly as for an unknown id.
pub fn scoped(conn: &mut DbConnection, caller: &Caller, contract_id: Uuid) -> ApiResult<ScopedContract> {
    contracts::find_scoped(conn, &caller.scope(), &contract_id.to_string())?.ok_or(ApiError::NotFound)
}

/// One page of a list, in one read transaction: `load` gets the sort key to start after and how
/// many rows to fetch (one more than the page), and `cursor_of` gives the sort key of an item,
/// which the next page's token carries, bound to `binding` (the route, each filter value and the
/// caller's identity) so that it cannot be replayed elsewhere.
pub async fn read_page<T, F>(
    pool: &DbPool,
    tokens: web::Data<PageTokenKey>,
    params: PageParams<'_>,
    binding: String,
    cursor_of: fn(&T) -> String,
    load: F,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, Option<&str>, i64) -> ApiResult<Vec<T>> + Send + 'static,
{
    let page = PageRequest::new(&tokens, &params, binding)?;
    let page = db::run(pool, move |conn| {
        let rows = load(conn, page.after.as_deref(), page.fetch_limit())?;
        Ok(page.finish(&tokens, rows, cursor_of, |row| row))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One directory entry, with its `ETag`: 404 when `load` finds nothing.
pub async fn read_entry<R, F>(pool: &DbPool, load: F) -> ApiResult<HttpResponse>
where
    R: Resource + Send + 'static,
    F: FnOnce(&mut DbConnection) -> QueryResult<Option<R>> + Send + 'static,
{
    let entry = db::run_one_statement(pool, move |conn| load(conn)?.ok_or(ApiError::NotFound)).await?;
    Ok(with_etag(entry.version(), &entry))
}
