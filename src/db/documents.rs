//! Documents of a contract: their metadata, and their content behind [`DocumentStore`], which
//! the database implements in 1 MiB chunks so that neither an upload nor a download holds more
//! than one chunk in memory, whatever the file's size. Object storage can implement it later.

use std::io::Read;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contracts::ScopedContract;
use super::schema::{
    contract_amendments, contract_evaluations, contract_meetings, contract_parties, document_chunks, documents,
    funding_commitments, funding_evidence,
};
use super::stored::{NullableText, rfc3339_json};
use super::{DbConnection, versioned};
use crate::domain::documents::DocumentKind;

/// The size of a stored chunk of content.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A document of a contract, as stored and as answered: its content is at `…/content`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = documents, treat_none_as_null = true)]
#[schema(as = DocumentView)]
pub struct DocumentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub contract_id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: DocumentKind,
    /// The name the file was uploaded with, given back on download.
    #[schema(example = "deliberation-2024-007.pdf")]
    pub filename: String,
    /// The type recognised from the content (never the one the client announced).
    #[schema(example = "application/pdf")]
    pub media_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, lowercase hex; the download's `ETag`.
    pub sha256: String,
    /// The party (of this contract) the document belongs to: its délibération, its signature.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub party_id: Option<Uuid>,
    /// The amendment (of this contract) the document belongs to.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub amendment_id: Option<Uuid>,
    /// The piece of evidence (of a commitment of this contract) the document supports.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub evidence_id: Option<Uuid>,
    /// The committee (of this contract) whose minutes it is.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub meeting_id: Option<Uuid>,
    /// The evaluation (of this contract) whose report it is.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub evaluation_id: Option<Uuid>,
    /// The action (of this contract's plan) it belongs to: what its pilot reports on it.
    #[diesel(deserialize_as = NullableText, serialize_as = NullableText)]
    pub action_id: Option<Uuid>,
    /// The `sub` of who uploaded it, from their token.
    pub uploaded_by: String,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(DocumentRow);

/// Where a page of documents stops: the upload time and id of its last document, the order the
/// list follows.
pub fn cursor(row: &DocumentRow) -> String {
    format!("{}|{}", row.created_at.format(CURSOR_TIME), row.id)
}

const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// Up to `limit` documents of a contract, oldest first, after the [`cursor`] `after`.
pub fn page(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DocumentRow>> {
    let mut query = documents::table
        .filter(documents::contract_id.eq(contract.id().to_owned()))
        .order((documents::created_at, documents::id))
        .limit(limit)
        .select(DocumentRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        // The cursor comes back inside a signed page token: it is one this module wrote.
        let (at, id) = after.split_once('|').ok_or(diesel::result::Error::NotFound)?;
        let at = NaiveDateTime::parse_from_str(at, CURSOR_TIME).map_err(|_| diesel::result::Error::NotFound)?;
        query = query
            .filter(documents::created_at.gt(at).or(documents::created_at.eq(at).and(documents::id.gt(id.to_owned()))));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, contract: &ScopedContract, id: Uuid) -> QueryResult<Option<DocumentRow>> {
    documents::table
        .filter(documents::contract_id.eq(contract.id()))
        .filter(documents::id.eq(id.to_string()))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

fn belongs(contract: &ScopedContract, row: &DocumentRow) -> QueryResult<()> {
    if row.contract_id.to_string() != contract.id() {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, contract: &ScopedContract, row: &DocumentRow) -> QueryResult<()> {
    belongs(contract, row)?;
    diesel::insert_into(documents::table).values(row.clone()).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConnection, contract: &ScopedContract, row: &DocumentRow) -> QueryResult<()> {
    belongs(contract, row)?;
    diesel::update(
        documents::table.filter(documents::contract_id.eq(contract.id())).filter(documents::id.eq(row.id.to_string())),
    )
    .set(row.clone())
    .execute(conn)
    .map(|_| ())
}

/// Removes the document and its content.
pub fn delete(conn: &mut DbConnection, contract: &ScopedContract, row: &DocumentRow) -> QueryResult<()> {
    belongs(contract, row)?;
    DatabaseStore { conn: &mut *conn }.remove(row.id)?;
    diesel::delete(
        documents::table.filter(documents::contract_id.eq(contract.id())).filter(documents::id.eq(row.id.to_string())),
    )
    .execute(conn)
    .map(|_| ())
}

/// Whether `party_id` is a party of the contract.
pub fn party_in(conn: &mut DbConnection, contract: &ScopedContract, party_id: Uuid) -> QueryResult<bool> {
    let count: i64 = contract_parties::table
        .filter(contract_parties::contract_id.eq(contract.id()))
        .filter(contract_parties::id.eq(party_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Whether `amendment_id` is an amendment of the contract.
pub fn amendment_in(conn: &mut DbConnection, contract: &ScopedContract, amendment_id: Uuid) -> QueryResult<bool> {
    let count: i64 = contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract.id()))
        .filter(contract_amendments::id.eq(amendment_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// What a document of a contract may be linked to.
#[derive(Debug, Clone, Copy)]
pub enum Link {
    Party(Uuid),
    Evidence(Uuid),
    Meeting(Uuid),
    Evaluation(Uuid),
    Action(Uuid),
}

/// How many documents of the contract are linked to `link`: what stands in the way of deleting it.
pub fn linked_to(conn: &mut DbConnection, contract: &ScopedContract, link: Link) -> QueryResult<i64> {
    let of_contract = documents::table.filter(documents::contract_id.eq(contract.id().to_owned()));
    match link {
        Link::Party(id) => of_contract.filter(documents::party_id.eq(id.to_string())).count().get_result(conn),
        Link::Evidence(id) => of_contract.filter(documents::evidence_id.eq(id.to_string())).count().get_result(conn),
        Link::Meeting(id) => of_contract.filter(documents::meeting_id.eq(id.to_string())).count().get_result(conn),
        Link::Evaluation(id) => {
            of_contract.filter(documents::evaluation_id.eq(id.to_string())).count().get_result(conn)
        }
        Link::Action(id) => of_contract.filter(documents::action_id.eq(id.to_string())).count().get_result(conn),
    }
}

/// The documents of a contract linked to its party `party_id`.
pub fn of_party(conn: &mut DbConnection, contract: &ScopedContract, party_id: Uuid) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::contract_id.eq(contract.id().to_owned()))
        .filter(documents::party_id.eq(party_id.to_string()))
        .order((documents::created_at, documents::id))
        .select(DocumentRow::as_select())
        .load(conn)
}

/// 409 when documents of the contract are linked to `link`, which would otherwise be deleted
/// from under them.
pub fn refuse_if_linked(
    conn: &mut DbConnection,
    contract: &ScopedContract,
    link: Link,
) -> Result<(), crate::error::ApiError> {
    match linked_to(conn, contract, link)? {
        0 => Ok(()),
        count => Err(crate::error::ApiError::Conflict(format!(
            "{count} document(s) are linked to it: unlink or delete them first"
        ))),
    }
}

/// Whether `meeting_id` is a committee of the contract.
pub fn meeting_in(conn: &mut DbConnection, contract: &ScopedContract, meeting_id: Uuid) -> QueryResult<bool> {
    let count: i64 = contract_meetings::table
        .filter(contract_meetings::contract_id.eq(contract.id()))
        .filter(contract_meetings::id.eq(meeting_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Whether `evaluation_id` is an evaluation of the contract.
pub fn evaluation_in(conn: &mut DbConnection, contract: &ScopedContract, evaluation_id: Uuid) -> QueryResult<bool> {
    let count: i64 = contract_evaluations::table
        .filter(contract_evaluations::contract_id.eq(contract.id()))
        .filter(contract_evaluations::id.eq(evaluation_id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Whether `evidence_id` is a piece of evidence of one of the contract's commitments.
pub fn evidence_in(conn: &mut DbConnection, contract: &ScopedContract, evidence_id: Uuid) -> QueryResult<bool> {
    let commitments = funding_commitments::table
        .filter(funding_commitments::contract_id.eq(contract.id().to_owned()))
        .select(funding_commitments::id);
    let count: i64 = funding_evidence::table
        .filter(funding_evidence::id.eq(evidence_id.to_string()))
        .filter(funding_evidence::commitment_id.eq_any(commitments))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Where the content of documents is kept. Every call is bounded in memory: `put` reads its
/// source in pieces, `read_at` answers at most one piece.
pub trait DocumentStore {
    /// Stores all of `content` as the document `id`'s; answers how many bytes it stored.
    fn put(&mut self, id: Uuid, content: &mut dyn Read) -> QueryResult<u64>;
    /// Up to `max` bytes of document `id` from `offset` (fewer at a piece's end; none past the end).
    fn read_at(&mut self, id: Uuid, offset: u64, max: usize) -> QueryResult<Vec<u8>>;
    /// Removes the content of document `id`.
    fn remove(&mut self, id: Uuid) -> QueryResult<()>;
}

/// The content in the database, in `document_chunks` of [`CHUNK_BYTES`], written in the
/// transaction of the change that records the document: an upload that fails stores nothing.
pub struct DatabaseStore<'a> {
    pub conn: &'a mut DbConnection,
}

fn io_error(error: &std::io::Error) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("reading the uploaded file: {error}").into())
}

impl DocumentStore for DatabaseStore<'_> {
    fn put(&mut self, id: Uuid, content: &mut dyn Read) -> QueryResult<u64> {
        let mut buffer = vec![0_u8; CHUNK_BYTES];
        let mut total = 0_u64;
        for seq in 0_i64.. {
            let mut filled = 0;
            while filled < CHUNK_BYTES {
                let read = content.read(&mut buffer[filled..]).map_err(|error| io_error(&error))?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            if filled == 0 {
                break;
            }
            diesel::insert_into(document_chunks::table)
                .values((
                    document_chunks::document_id.eq(id.to_string()),
                    document_chunks::seq.eq(seq),
                    document_chunks::bytes.eq(&buffer[..filled]),
                ))
                .execute(self.conn)?;
            total += filled as u64;
            if filled < CHUNK_BYTES {
                break;
            }
        }
        Ok(total)
    }

    fn read_at(&mut self, id: Uuid, offset: u64, max: usize) -> QueryResult<Vec<u8>> {
        let chunk = CHUNK_BYTES as u64;
        let seq = i64::try_from(offset / chunk).unwrap_or(i64::MAX);
        let start = usize::try_from(offset % chunk).unwrap_or(usize::MAX);
        let bytes: Option<Vec<u8>> = document_chunks::table
            .filter(document_chunks::document_id.eq(id.to_string()))
            .filter(document_chunks::seq.eq(seq))
            .select(document_chunks::bytes)
            .first(self.conn)
            .optional()?;
        let Some(mut bytes) = bytes else { return Ok(Vec::new()) };
        if start >= bytes.len() {
            return Ok(Vec::new());
        }
        bytes.truncate(start.saturating_add(max).min(bytes.len()));
        bytes.drain(..start);
        Ok(bytes)
    }

    fn remove(&mut self, id: Uuid) -> QueryResult<()> {
        diesel::delete(document_chunks::table.filter(document_chunks::document_id.eq(id.to_string())))
            .execute(self.conn)
            .map(|_| ())
    }
}
