//! Large request bodies go to a temporary file as they arrive, within a size limit, before any
//! database work starts: memory stays flat, and a slow client never holds a write transaction.
//! Every byte is counted against the upload's permit ([`super::uploads`]), and a body that stops
//! coming, or takes too long in all, is answered 408.

use std::fs::File;
use std::io::{Seek, Write};

use actix_web::web;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::uploads::UploadPermit;
use crate::error::{ApiError, ApiResult};

/// Bytes gathered before each write to the file.
const WRITE_CHUNK: usize = 1 << 20;

/// A body announced (`Content-Length`) larger than `limit` is refused before a byte of it is read.
pub fn refuse_announced_oversize(req: &actix_web::HttpRequest, limit: usize) -> ApiResult<()> {
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match announced {
        Some(length) if length > limit as u64 => Err(ApiError::PayloadTooLarge { limit_bytes: limit }),
        _ => Ok(()),
    }
}

/// The answer to an upload refused before its body was read. The body is left unread: the
/// connection closes after the answer, always, rather than whenever the unread part happens to be
/// too large to skip (which would tell, by a header, one refusal from another).
pub fn refused_unread(error: &ApiError) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let mut answer = error.error_response();
    answer.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    answer
}

/// A body on disk, rewound, with its SHA-256 when it was asked for.
pub struct Spooled {
    pub file: File,
    pub bytes: u64,
    pub sha256: Option<String>,
}

/// Copies `payload` into an anonymous temporary file (removed when dropped); more than `limit`
/// bytes is 413, more than the spool holds 503, a body too slow 408.
pub async fn spool(mut payload: web::Payload, limit: usize, hash: bool, permit: &UploadPermit) -> ApiResult<Spooled> {
    let limits = permit.limits();
    let deadline = tokio::time::Instant::now() + limits.deadline;
    let mut file = web::block(tempfile::tempfile).await.map_err(ApiError::internal)?.map_err(ApiError::internal)?;
    let mut hasher = hash.then(Sha256::new);
    let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut bytes = 0_usize;
    loop {
        let wait = (tokio::time::Instant::now() + limits.idle_timeout).min(deadline);
        let Ok(next) = tokio::time::timeout_at(wait, payload.next()).await else {
            let detail = if wait == deadline {
                format!("the body took more than {} s; send it faster or in smaller files", limits.deadline.as_secs())
            } else {
                format!("no byte of the body came for {} s", limits.idle_timeout.as_secs())
            };
            return Err(ApiError::RequestTimeout { detail });
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|error| ApiError::MalformedRequest {
            detail: format!("the body could not be read: {error}"),
            errors: Vec::new(),
        })?;
        bytes += chunk.len();
        if bytes > limit {
            return Err(ApiError::PayloadTooLarge { limit_bytes: limit });
        }
        permit.charge(chunk.len() as u64)?;
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&chunk);
        }
        pending.extend_from_slice(&chunk);
        if pending.len() >= WRITE_CHUNK {
            (file, pending) = write(file, pending).await?;
        }
    }
    (file, _) = write(file, pending).await?;
    let file = web::block(move || file.rewind().map(|()| file))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Spooled { file, bytes: bytes as u64, sha256: hasher.map(|hasher| format!("{:x}", hasher.finalize())) })
}

/// Writes `pending` on a blocking thread, and hands back the file and the emptied buffer.
async fn write(mut file: File, mut pending: Vec<u8>) -> ApiResult<(File, Vec<u8>)> {
    web::block(move || {
        file.write_all(&pending)?;
        pending.clear();
        Ok::<_, std::io::Error>((file, pending))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}
