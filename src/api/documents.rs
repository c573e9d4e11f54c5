//! Documents of a contract (`/v1/contracts/{id}/documents`): the signed convention, the
//! délibérations, minutes, reports. The file is the raw request body, recognised by its content
//! (the announced `Content-Type` and the file name are not trusted), spooled to a temporary file
//! within the size limit before any database work, then stored in chunks with its SHA-256 in the
//! transaction that records the document. The history and the feed keep the metadata, never the
//! bytes. Downloads stream one chunk at a time, with single byte ranges.

use std::io::{Read, Seek};

use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::problems::{
    ChildListProblems, ContentProblems, DeleteProblems, ReadProblems, UpdateProblems, UploadProblems,
};
use crate::auth::Caller;
use crate::db::contracts::ScopedContract;
pub use crate::db::documents::DocumentRow as DocumentView;
use crate::db::documents::{self as repo, CHUNK_BYTES, DatabaseStore, DocumentStore};
use crate::db::{self, DbConnection, DbPool, action_plan, parties};
use crate::domain::documents::{self as rules, DocumentKind, SNIFF_BYTES, Span, Uploader};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ApiJson, RequestBody, nullable};
use crate::http::idempotency::{self, IdempotencyKey, Retry};
use crate::http::pagination::PageQuery;
use crate::http::query::ApiQuery;
use crate::http::requests::{ListUnder, Read as ReadPart, Remove, Update};
use crate::http::spool;
use crate::http::uploads::Uploads;
use crate::write::{self, Access, ContractChange};

write::resource!(
    DocumentView, "document", |view| id: view.id,
    location: format!("/v1/contracts/{}/documents/{}", view.contract_id, view.id),
    version: view.version,
);

/// The largest file an upload may carry, in bytes (`CTG_DOCUMENT_MAX_BYTES`, 20 MiB by default).
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimit(pub usize);

/// A file's bytes, as they are: the body of an upload, the answer of a download.
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for FileBytes {}

/// What an upload says of its file; the file itself is the body.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    pub kind: DocumentKind,
    /// The name given back on download (1 to 255 characters, no path, no control character).
    #[param(example = "deliberation-2024-007.pdf")]
    pub filename: String,
    /// A party of this contract the document belongs to (a délibération is linked to its party).
    pub party_id: Option<Uuid>,
    /// An amendment of this contract.
    pub amendment_id: Option<Uuid>,
    /// A piece of evidence of one of this contract's funding commitments.
    pub evidence_id: Option<Uuid>,
    /// A committee of this contract (its minutes).
    pub meeting_id: Option<Uuid>,
    /// An evaluation of this contract (its report).
    pub evaluation_id: Option<Uuid>,
    /// An action of this contract's plan (what its pilot reports on it).
    pub action_id: Option<Uuid>,
}

/// Changes to a document's description; the content never changes (upload a new document).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentPatch {
    pub kind: Option<DocumentKind>,
    #[validate(length(min = 1, max = 255, message = "must have 1 to 255 characters"))]
    #[schema(min_length = 1, max_length = 255)]
    pub filename: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub party_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub amendment_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub evidence_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub meeting_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub evaluation_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    pub action_id: Option<Option<Uuid>>,
}

impl RequestBody for DocumentPatch {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "contract_id",
        "media_type",
        "size_bytes",
        "sha256",
        "uploaded_by",
        "version",
        "created_at",
        "updated_at",
    ];
}

/// What a document is and belongs to: the part of it the caller writes.
struct Description {
    kind: DocumentKind,
    party_id: Option<Uuid>,
    amendment_id: Option<Uuid>,
    evidence_id: Option<Uuid>,
    meeting_id: Option<Uuid>,
    evaluation_id: Option<Uuid>,
    action_id: Option<Uuid>,
}

impl Description {
    /// What an upload's query says the document is and belongs to.
    fn asked(query: &UploadQuery) -> Self {
        Self {
            kind: query.kind,
            party_id: query.party_id,
            amendment_id: query.amendment_id,
            evidence_id: query.evidence_id,
            meeting_id: query.meeting_id,
            evaluation_id: query.evaluation_id,
            action_id: query.action_id,
        }
    }

    fn of(row: &DocumentView) -> Self {
        Self {
            kind: row.kind,
            party_id: row.party_id,
            amendment_id: row.amendment_id,
            evidence_id: row.evidence_id,
            meeting_id: row.meeting_id,
            evaluation_id: row.evaluation_id,
            action_id: row.action_id,
        }
    }
}

/// 422 unless `filename` is a plain file name: the download hands it back in a header.
fn check_filename(filename: &str, at: FieldError) -> ApiResult<()> {
    let length = filename.chars().count();
    if (1..=255).contains(&length) && !filename.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Ok(());
    }
    Err(ApiError::validation(vec![at]))
}

/// 403 unless the caller may write a document so described (see [`rules::check_uploader`]),
/// then 422 for each link that names nothing of this contract. `query` says whether the links
/// came as query parameters (an upload) or in the body (a PATCH).
fn judge(
    conn: &mut DbConnection,
    caller: &Caller,
    contract: &ScopedContract,
    described: &Description,
    query: bool,
) -> ApiResult<()> {
    let owns_linked_party = match described.party_id {
        Some(party_id) if !caller.manages_contracts() => parties::find(conn, contract, party_id)?
            .and_then(|(_, organisation)| organisation.siren)
            .is_some_and(|siren| caller.sirens().contains(&siren)),
        _ => false,
    };
    let pilots_linked_action = match described.action_id {
        Some(action_id) if !caller.manages_contracts() => match action_plan::find_action(conn, contract, action_id)? {
            Some(action) => super::action_plan::pilots(conn, caller, &action)?,
            None => false,
        },
        _ => false,
    };
    let links = [
        described.party_id,
        described.amendment_id,
        described.evidence_id,
        described.meeting_id,
        described.evaluation_id,
        described.action_id,
    ]
    .iter()
    .flatten()
    .count();
    let uploader = Uploader { is_caf: caller.manages_contracts(), owns_linked_party, pilots_linked_action, links };
    rules::check_uploader(uploader, described.kind).map_err(|refusal| ApiError::Forbidden(refusal.into()))?;
    let mut errors = Vec::new();
    let at = |name: &str, what: &str| {
        let detail = format!("no {what} of this contract has this id");
        if query {
            FieldError::at_parameter(name, "NOT_OF_CONTRACT", detail)
        } else {
            FieldError::at_pointer(format!("/{name}"), "NOT_OF_CONTRACT", detail)
        }
    };
    if let Some(id) = described.party_id
        && !repo::party_in(conn, contract, id)?
    {
        errors.push(at("party_id", "party"));
    }
    if let Some(id) = described.amendment_id
        && !repo::amendment_in(conn, contract, id)?
    {
        errors.push(at("amendment_id", "amendment"));
    }
    if let Some(id) = described.evidence_id
        && !repo::evidence_in(conn, contract, id)?
    {
        errors.push(at("evidence_id", "piece of evidence"));
    }
    if let Some(id) = described.meeting_id
        && !repo::meeting_in(conn, contract, id)?
    {
        errors.push(at("meeting_id", "meeting"));
    }
    if let Some(id) = described.evaluation_id
        && !repo::evaluation_in(conn, contract, id)?
    {
        errors.push(at("evaluation_id", "evaluation"));
    }
    if let Some(id) = described.action_id
        && action_plan::find_action(conn, contract, id)?.is_none()
    {
        errors.push(at("action_id", "action"));
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// The documents of a contract, oldest first (metadata; the content is at `…/content`).
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "documents", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = crate::http::pagination::Page<DocumentView>), ChildListProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/documents")]
pub async fn list_documents((caller, id, query, pool, tokens): ListUnder<Uuid, PageQuery>) -> ApiResult<HttpResponse> {
    let ApiQuery(query) = query;
    let contract_id = id.into_inner();
    let binding = format!("documents|{contract_id}|{}", caller.fingerprint());
    write::read_page(&pool, tokens, query.params(), binding, repo::cursor, move |conn, after, limit| {
        let contract = write::scoped(conn, &caller, contract_id)?;
        Ok(repo::page(conn, &contract, after, limit)?)
    })
    .await
}

/// One document's metadata, with its version as `ETag`.
///
/// Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(tag = "documents", params(("id" = Uuid, Path), ("doc_id" = Uuid, Path)), responses((status = 200, body = DocumentView, headers(("ETag" = String))), ReadProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/documents/{doc_id}")]
pub async fn get_document((caller, ids, _no_parameters, pool): ReadPart<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (id, doc_id) = ids.into_inner();
    write::read_part(&pool, caller, id, move |conn, contract| Ok(repo::find(conn, contract, doc_id)?)).await
}

/// Upload a document: the body is the file itself, any `Content-Type` (it is not trusted), its
/// description in the query.
///
/// The type is recognised from the content: PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG, else 415. An
/// empty file is 422; a file over the limit (20 MiB by default) is 413, from `Content-Length`
/// before a byte is read, else as soon as the count passes it; an upload cut off midway is 400.
/// Nothing is stored on any refusal. Admins and CAF agents upload any kind; a collectivity uploads
/// its own party's délibération (`kind=deliberation` with `party_id` its party). Accepts
/// `Idempotency-Key`. Who may call it: admins and CAF agents of the contract's département, and a
/// collectivity party to it for its own part only; an integration gets 403, and another contract
/// answers 404.
#[utoipa::path(
    tag = "documents",
    params(("id" = Uuid, Path), UploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retry of the same upload")),
    request_body(content((FileBytes = "application/octet-stream")), description = "The file, as it is"),
    responses((status = 201, body = DocumentView, headers(("ETag" = String), ("Location" = String))), UploadProblems),
    security(("bearer" = []))
)]
#[post("/contracts/{id}/documents")]
#[allow(clippy::too_many_arguments)]
pub async fn upload_document(
    caller: Caller,
    id: web::Path<Uuid>,
    query: ApiQuery<UploadQuery>,
    key: IdempotencyKey,
    req: HttpRequest,
    payload: web::Payload,
    limit: web::Data<DocumentLimit>,
    pool: web::Data<DbPool>,
    uploads: web::Data<Uploads>,
) -> ApiResult<HttpResponse> {
    let contract_id = id.into_inner();
    let ApiQuery(query) = query;
    let limit = limit.0;
    // Who may upload what, and the links, are judged before the body is read, then again in the
    // write transaction, which alone decides.
    let before_reading = async {
        check_filename(
            &query.filename,
            FieldError::at_parameter(
                "filename",
                "INVALID_FILENAME",
                "1 to 255 characters, without a path or control characters",
            ),
        )?;
        spool::refuse_announced_oversize(&req, limit)?;
        let owner = caller.fingerprint();
        let caller = caller.clone();
        let described = Description::asked(&query);
        db::run(&pool, move |conn| {
            let contract = write::scoped(conn, &caller, contract_id)?;
            judge(conn, &caller, &contract, &described, true)
        })
        .await?;
        uploads.admit(&owner)
    };
    let permit = match before_reading.await {
        Ok(permit) => permit,
        Err(error) => return Ok(spool::refused_unread(&error)),
    };
    let spooled = spool::spool(payload, limit, true, &permit).await?;
    if spooled.bytes == 0 {
        return Err(ApiError::validation(vec![FieldError::at_pointer("", "EMPTY_FILE", "the file is empty")]));
    }
    let (file, head) = web::block(move || {
        let mut file = spooled.file;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file).take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
        file.rewind()?;
        Ok::<_, std::io::Error>((file, head))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let file_type = rules::recognise(&head).ok_or_else(|| {
        ApiError::UnsupportedMediaType(
            "the content is not a PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG file (the type is read from the content, not the name)"
                .into(),
        )
    })?;
    let sha256 = spooled.sha256.unwrap_or_default();
    let size_bytes = i64::try_from(spooled.bytes).map_err(ApiError::internal)?;
    let request = format!("{}?{}", req.path(), req.query_string());
    let retry = Retry::with_key(key.0, idempotency::request_hash_of_bytes("POST", &request, &sha256));
    write::change_contract(&pool, caller, retry, contract_id, Access::Reach, move |change| {
        let described = Description::asked(&query);
        judge(change.conn, change.caller, &change.contract, &described, true)?;
        change.require_open()?;
        let row = DocumentView {
            id: Uuid::new_v4(),
            contract_id,
            kind: query.kind,
            filename: query.filename,
            media_type: file_type.media_type().to_owned(),
            size_bytes,
            sha256,
            party_id: query.party_id,
            amendment_id: query.amendment_id,
            evidence_id: query.evidence_id,
            meeting_id: query.meeting_id,
            evaluation_id: query.evaluation_id,
            action_id: query.action_id,
            uploaded_by: change.caller.subject.clone(),
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        repo::insert(change.conn, &change.contract, &row)?;
        let mut file = file;
        let stored = DatabaseStore { conn: &mut *change.conn }.put(row.id, &mut file)?;
        if stored != spooled.bytes {
            return Err(ApiError::internal(format!("stored {stored} bytes of {}", spooled.bytes)));
        }
        change.created(&row)
    })
    .await
}

/// 403 unless the caller may write this document (see [`judge`]), for a PATCH or a DELETE.
fn require_writer(change: &mut ContractChange<'_>, described: &Description) -> ApiResult<()> {
    judge(change.conn, change.caller, &change.contract, described, false)
}

/// Change a document's kind, file name or links; its content never changes.
///
/// A collectivity changes only its own party's délibération, and it stays one. Who may call it:
/// admins and CAF agents of the contract's département, and a collectivity party to it for its own
/// part only; an integration gets 403, and another contract answers 404.
#[utoipa::path(tag = "documents", params(("id" = Uuid, Path), ("doc_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), request_body = DocumentPatch, responses((status = 200, body = DocumentView, headers(("ETag" = String))), UpdateProblems), security(("bearer" = [])))]
#[patch("/contracts/{id}/documents/{doc_id}")]
pub async fn update_document(
    (caller, ids, if_match, patch, pool): Update<(Uuid, Uuid), DocumentPatch>,
) -> ApiResult<HttpResponse> {
    let ApiJson(patch) = patch;
    let (contract_id, doc_id) = ids.into_inner();
    if let Some(filename) = &patch.filename {
        check_filename(
            filename,
            FieldError::at_pointer(
                "/filename",
                "INVALID_FILENAME",
                "1 to 255 characters, without a path or control characters",
            ),
        )?;
    }
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Reach, move |change| {
        let current = repo::find(change.conn, &change.contract, doc_id)?.ok_or(ApiError::NotFound)?;
        if !change.caller.manages_contracts() {
            require_writer(change, &Description::of(&current))?;
        }
        change.ready(&if_match, current.version)?;
        let next = change.next(DocumentView {
            kind: patch.kind.unwrap_or(current.kind),
            filename: patch.filename.clone().unwrap_or_else(|| current.filename.clone()),
            party_id: patch.party_id.unwrap_or(current.party_id),
            amendment_id: patch.amendment_id.unwrap_or(current.amendment_id),
            evidence_id: patch.evidence_id.unwrap_or(current.evidence_id),
            meeting_id: patch.meeting_id.unwrap_or(current.meeting_id),
            evaluation_id: patch.evaluation_id.unwrap_or(current.evaluation_id),
            action_id: patch.action_id.unwrap_or(current.action_id),
            ..current.clone()
        });
        // What it becomes is judged as an upload of it would be: a collectivity's stays its own
        // délibération, and every link names something of this contract.
        require_writer(change, &Description::of(&next))?;
        repo::update(change.conn, &change.contract, &next)?;
        change.updated(&current, &next, None)
    })
    .await
}

/// Remove a document and its content.
///
/// Admins and CAF agents remove any; a collectivity its own party's délibération. Who may call it:
/// admins and CAF agents of the contract's département, and a collectivity party to it for its own
/// part only; an integration gets 403, and another contract answers 404.
#[utoipa::path(tag = "documents", params(("id" = Uuid, Path), ("doc_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read")), responses((status = 204, description = "Removed"), DeleteProblems), security(("bearer" = [])))]
#[delete("/contracts/{id}/documents/{doc_id}")]
pub async fn delete_document((caller, ids, if_match, pool): Remove<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (contract_id, doc_id) = ids.into_inner();
    write::change_contract(&pool, caller, Retry::none(), contract_id, Access::Reach, move |change| {
        let current = repo::find(change.conn, &change.contract, doc_id)?.ok_or(ApiError::NotFound)?;
        if !change.caller.manages_contracts() {
            require_writer(change, &Description::of(&current))?;
        }
        change.ready(&if_match, current.version)?;
        repo::delete(change.conn, &change.contract, &current)?;
        change.deleted(&current)
    })
    .await
}

/// Download a document's file, streamed.
///
/// Download a document's file, streamed: `Content-Type` the recognised type, `Content-Disposition:
/// attachment`, `X-Content-Type-Options: nosniff`, `ETag` the SHA-256 of the content
/// (`If-None-Match` with it answers 304). One byte range (`Range: bytes=a-b`, `a-` or `-n`) answers
/// 206 with `Content-Range`; a range past the end, 416; several ranges are answered with the whole
/// file. Who may call it: whoever reaches the contract (admins, CAF agents and integrations of its
/// département, collectivities party to it); another contract answers 404, as an unknown id.
#[utoipa::path(
    tag = "documents",
    params(("id" = Uuid, Path), ("doc_id" = Uuid, Path), ("Range" = Option<String>, Header, description = "One byte range"), ("If-None-Match" = Option<String>, Header, description = "The content's ETag, for a 304"), ("If-Range" = Option<String>, Header, description = "The content's ETag: the range is served only if it still matches")),
    responses(
        (status = 200, description = "The whole file", content((FileBytes = "application/octet-stream")), headers(("ETag" = String), ("Content-Disposition" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for", content((FileBytes = "application/octet-stream")), headers(("ETag" = String), ("Content-Range" = String))),
        (status = 304, description = "The content has the ETag sent in If-None-Match"),
        ContentProblems
    ),
    security(("bearer" = []))
)]
#[get("/contracts/{id}/documents/{doc_id}/content")]
pub async fn get_document_content(
    caller: Caller,
    ids: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    pool: web::Data<DbPool>,
) -> ApiResult<HttpResponse> {
    let (contract_id, doc_id) = ids.into_inner();
    let document = db::run(&pool, move |conn| {
        let contract = write::scoped(conn, &caller, contract_id)?;
        repo::find(conn, &contract, doc_id)?.ok_or(ApiError::NotFound)
    })
    .await?;
    let etag = format!("\"{}\"", document.sha256);
    let text = |name: header::HeaderName| req.headers().get(name).and_then(|value| value.to_str().ok());
    if let Some(tags) = text(header::IF_NONE_MATCH) {
        // Weak comparison, as RFC 9110 §13.1.2 says for If-None-Match.
        if tags.split(',').map(|tag| tag.trim().trim_start_matches("W/")).any(|tag| tag == "*" || tag == etag) {
            return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
        }
    }
    let size = u64::try_from(document.size_bytes).map_err(ApiError::internal)?;
    let range_applies = text(header::IF_RANGE).is_none_or(|tag| tag.trim() == etag);
    let span = if range_applies { rules::span(text(header::RANGE), size) } else { Span::Whole };
    let (status, start, end) = match span {
        Span::Whole => (StatusCode::OK, 0, size - 1),
        Span::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
        Span::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { size }),
    };
    let mut answer = HttpResponse::build(status);
    answer
        .content_type(document.media_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, rules::content_disposition(&document.filename)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    if status == StatusCode::PARTIAL_CONTENT {
        answer.insert_header((header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
    }
    Ok(answer.body(SizedStream::new(end - start + 1, content_stream(pool.into_inner(), doc_id, start, end))))
}

/// The bytes `start..=end` of document `id`, one chunk per query, each on a connection taken
/// and given back: a slow client holds no connection and no more than one chunk of memory.
fn content_stream(
    pool: std::sync::Arc<DbPool>,
    id: Uuid,
    start: u64,
    end: u64,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(start), move |offset| {
        let pool = pool.clone();
        async move {
            let offset = offset?;
            let want = usize::try_from((end - offset + 1).min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
            let read =
                db::run_one_statement(&pool, move |conn| Ok(DatabaseStore { conn }.read_at(id, offset, want)?)).await;
            match read {
                Ok(bytes) if !bytes.is_empty() => {
                    let next = offset + bytes.len() as u64;
                    Some((Ok(web::Bytes::from(bytes)), (next <= end).then_some(next)))
                }
                // Removed while it was being sent, or the database went away: the answer is cut.
                Ok(_) => Some((Err(actix_web::error::ErrorInternalServerError("the document is gone")), None)),
                Err(error) => Some((Err(actix_web::error::ErrorServiceUnavailable(error.to_string())), None)),
            }
        }
    })
}
