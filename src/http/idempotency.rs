//! `Idempotency-Key` on POST: a retry with the same key and body gets the first answer again; the
//! same key with another body is 422 `IDEMPOTENCY_KEY_REUSED`; a duplicate sent while the first is
//! still running is 409. Keys belong to the caller who used them.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::db::idempotency::{self, Claim, StoredAnswer};
use crate::db::{self, DbConnection, DbPool};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ApiJsonWithValue, RequestBody};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer replayed from an earlier request with the same key.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The counts of retries answered from a stored answer, and of retries refused because the first
/// request was still running, for [`crate::http::metrics`].
pub const REPLAYS: &str = "ctg_idempotency_replays_total";
pub const IN_PROGRESS: &str = "ctg_idempotency_in_progress_total";

/// The `Idempotency-Key` header, when sent: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get(HEADER) {
            None => Ok(Self(None)),
            Some(value) => match value.to_str() {
                Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
                    Ok(Self(Some(key.to_owned())))
                }
                _ => Err(ApiError::invalid_parameter(
                    "Idempotency-Key",
                    "INVALID_VALUE",
                    "Idempotency-Key is 1 to 255 visible ASCII characters",
                )),
            },
        };
        std::future::ready(result)
    }
}

/// How a write is run: at most once per `Idempotency-Key` when the client sent one (a POST),
/// plainly otherwise (PATCH and DELETE, which are idempotent by their `If-Match`).
#[derive(Debug, Clone, Default)]
pub struct Retry {
    key: Option<String>,
    request_hash: String,
}

impl Retry {
    /// No key: the write runs once, in its own transaction.
    pub fn none() -> Self {
        Self::default()
    }

    /// A write recognised by `request_hash` (a streamed body's), once per `key` when one was sent.
    pub fn with_key(key: Option<String>, request_hash: String) -> Self {
        Self { key, request_hash }
    }

    /// The key, required: 400 when the client did not send one (operations that record money).
    pub fn required(self) -> ApiResult<Self> {
        if self.key.is_none() {
            return Err(ApiError::IdempotencyKeyMissing);
        }
        Ok(self)
    }

    pub async fn run<F>(self, pool: &DbPool, caller: &Caller, work: F) -> ApiResult<HttpResponse>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<Answer> + Send + 'static,
    {
        run_once(pool, caller, self.key, self.request_hash, work).await
    }
}

/// A JSON body sent with an optional `Idempotency-Key`: the body, and how to recognise a retry
/// of this request (method, path and body).
pub struct IdempotentJson<T> {
    pub body: T,
    pub retry: Retry,
}

impl<T: RequestBody + 'static> FromRequest for IdempotentJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// The key is judged before the body is read: a bad header is refused without reading up to
    /// 256 KiB first.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = match IdempotencyKey::from_request(req, payload).into_inner() {
            Ok(IdempotencyKey(key)) => key,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        let json = ApiJsonWithValue::<T>::from_request(req, payload);
        let (method, path) = (req.method().clone(), req.path().to_owned());
        Box::pin(async move {
            let ApiJsonWithValue { body, value } = json.await?;
            Ok(Self { body, retry: Retry { key, request_hash: request_hash(method.as_str(), &path, &value) } })
        })
    }
}

/// What a request is, for recognising its retries: method, path and the body as canonical JSON
/// (object keys sorted), hashed.
pub fn request_hash(method: &str, path: &str, body: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.to_string().as_bytes());
    format!("{:x}", hasher.finalize())
}

/// [`request_hash`] for a body known by its SHA-256 (a streamed file).
pub fn request_hash_of_bytes(method: &str, path: &str, body_sha256: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\nsha256:");
    hasher.update(body_sha256.as_bytes());
    format!("{:x}", hasher.finalize())
}

/// The answer of a write, in a form that can be stored and replayed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn created(location: String, version: Option<i64>, body: &impl Serialize) -> ApiResult<Self> {
        Ok(Self { status: StatusCode::CREATED, location: Some(location), ..Self::current(version, body)? })
    }

    /// 200 with the resource and, when it is versioned, its `ETag`.
    pub fn current(version: Option<i64>, body: &impl Serialize) -> ApiResult<Self> {
        Ok(Self {
            status: StatusCode::OK,
            location: None,
            etag: version.map(crate::http::preconditions::etag),
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
        })
    }

    /// 202 with where to follow the work it accepted.
    pub fn accepted(location: String, body: &impl Serialize) -> ApiResult<Self> {
        Ok(Self { status: StatusCode::ACCEPTED, location: Some(location), ..Self::current(None, body)? })
    }

    /// 204, as a deletion answers.
    pub fn no_content() -> Self {
        Self { status: StatusCode::NO_CONTENT, location: None, etag: None, body: serde_json::Value::Null }
    }

    fn stored(&self) -> StoredAnswer {
        let headers = serde_json::json!({"location": self.location, "etag": self.etag});
        StoredAnswer { status: self.status.as_u16(), headers: headers.to_string(), body: self.body.to_string() }
    }

    fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::NO_CONTENT {
            return response.finish();
        }
        if let Some(location) = self.location {
            response.insert_header((header::LOCATION, location));
        }
        if let Some(etag) = self.etag {
            response.insert_header((header::ETAG, etag));
        }
        response.json(self.body)
    }
}

fn replay(stored: &StoredAnswer) -> HttpResponse {
    let headers: serde_json::Value = serde_json::from_str(&stored.headers).unwrap_or_default();
    let mut response = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    for (name, value) in [(header::LOCATION, &headers["location"]), (header::ETAG, &headers["etag"])] {
        if let Some(value) = value.as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
            response.insert_header((name, value));
        }
    }
    response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    response.content_type("application/json").body(stored.body.clone())
}

/// The answer already given to this key and request, to replay before long work (such as
/// checking a large file) that the replay makes useless; `None` when there is none yet.
pub async fn answered(
    pool: &DbPool,
    caller: &Caller,
    key: Option<&str>,
    request_hash: &str,
) -> ApiResult<Option<HttpResponse>> {
    let Some(key) = key else { return Ok(None) };
    let (owner, key, request_hash) = (caller.fingerprint(), key.to_owned(), request_hash.to_owned());
    let stored =
        db::run_one_statement(pool, move |conn| Ok(idempotency::answered(conn, &owner, &key, &request_hash)?)).await?;
    Ok(stored.as_ref().map(replay))
}

/// Runs `work` in one write transaction, at most once per (caller, key): with a key, the answer
/// is stored in that same transaction, and a retry is answered from it.
pub async fn run_once<F>(
    pool: &DbPool,
    caller: &Caller,
    key: Option<String>,
    request_hash: String,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<Answer> + Send + 'static,
{
    run_once_beside(pool, caller, key, request_hash, None, work).await
}

/// [`run_once`] with a SQLite staging file attached to the transaction
/// ([`db::run_write_beside`]).
pub async fn run_once_beside<F>(
    pool: &DbPool,
    caller: &Caller,
    key: Option<String>,
    request_hash: String,
    beside: Option<std::path::PathBuf>,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<Answer> + Send + 'static,
{
    let Some(key) = key else {
        return Ok(db::run_write_beside(pool, beside, work).await?.into_response());
    };
    let owner = caller.fingerprint();
    // The claim's time is its token: only the request that made this claim may complete it.
    let claimed_at = db::now();
    let claim = {
        let (owner, key, request_hash) = (owner.clone(), key.clone(), request_hash.clone());
        db::run_write(pool, move |conn| Ok(idempotency::claim(conn, &owner, &key, &request_hash, claimed_at)?)).await?
    };
    match claim {
        Claim::Replay(stored) => {
            metrics::counter!(REPLAYS).increment(1);
            return Ok(replay(&stored));
        }
        Claim::InProgress => {
            metrics::counter!(IN_PROGRESS).increment(1);
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry shortly".into(),
            ));
        }
        Claim::Reused => return Err(ApiError::IdempotencyKeyReused),
        Claim::New => {}
    }
    let result = {
        let (owner, key) = (owner.clone(), key.clone());
        db::run_write_beside(pool, beside, move |conn| {
            let answer = work(conn)?;
            if !idempotency::complete(conn, &owner, &key, claimed_at, &answer.stored())? {
                // A retry took this claim over as abandoned: its answer stands, this work rolls back.
                return Err(ApiError::Conflict(
                    "a retry with this Idempotency-Key was answered meanwhile; send it again to read that answer"
                        .into(),
                ));
            }
            Ok(answer)
        })
        .await
    };
    match result {
        Ok(answer) => Ok(answer.into_response()),
        Err(error) => {
            // Keep the refusal's cause as the answer even if forgetting the claim fails: the
            // claim then expires by itself.
            if let Err(release_error) =
                db::run_write(pool, move |conn| Ok(idempotency::release(conn, &owner, &key, claimed_at)?)).await
            {
                log::warn!("could not release an idempotency key: {release_error}");
            }
            Err(error)
        }
    }
}
