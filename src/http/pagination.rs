//! Cursor pagination with opaque, tamper-proof page tokens.
//!
//! A token carries the sort key of the last item served, and an HMAC over that key, the route, the
//! filters and the caller. A token edited by hand, or replayed with other filters or by another
//! caller, is refused with 400 `INVALID_PAGE_TOKEN` instead of leaking or skipping rows.

use aes_siv::KeyInit;
use aes_siv::siv::Aes128Siv;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

/// Bytes of the MAC kept in a token: 128 bits is far beyond guessing, and keeps tokens short.
const MAC_BYTES: usize = 16;

/// The key that signs page tokens and seals feed cursors. Instances behind one load balancer must
/// share it.
#[derive(Clone)]
pub struct PageTokenKey(Vec<u8>);

impl PageTokenKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    /// A key for one use, derived from the secret, so that no two uses share key material.
    fn derived(&self, purpose: &str) -> [u8; 32] {
        self.mac(purpose, "").finalize().into_bytes().into()
    }

    /// `position` sealed for `binding`: encrypted and authenticated (AES-SIV), so that the token
    /// says nothing, not even how far a shared sequence has grown, and opens only for `binding`.
    /// The same position gives the same token, so a reader that is caught up keeps its cursor.
    pub fn seal(&self, binding: &str, position: &[u8]) -> String {
        let mut cipher = Aes128Siv::new(&self.derived("sealed positions").into());
        let sealed =
            cipher.encrypt([binding.as_bytes()], position).unwrap_or_else(|_| unreachable!("AES-SIV seals any bytes"));
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The position sealed in `token`, if this key sealed it for exactly this `binding`.
    pub fn unseal(&self, binding: &str, token: &str) -> Option<Vec<u8>> {
        let sealed = URL_SAFE_NO_PAD.decode(token).ok()?;
        let mut cipher = Aes128Siv::new(&self.derived("sealed positions").into());
        cipher.decrypt([binding.as_bytes()], &sealed).ok()
    }

    /// An opaque name for the `position`-th item of a shared sequence: stable for as long as the
    /// secret is, and telling nothing about the position.
    pub fn opaque_id(&self, sequence: &str, position: i64) -> String {
        let tag = self.mac(sequence, &position.to_string()).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES])
    }

    fn mac(&self, binding: &str, cursor: &str) -> Hmac<Sha256> {
        // new_from_slice accepts keys of any length for HMAC; the error case cannot occur.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(binding.as_bytes());
        mac.update(&[0]);
        mac.update(cursor.as_bytes());
        mac
    }

    pub fn issue(&self, binding: &str, cursor: &str) -> String {
        let tag = self.mac(binding, cursor).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(cursor), URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES]))
    }

    /// The cursor inside `token`, if this key issued it for exactly this `binding`.
    pub fn open(&self, binding: &str, token: &str) -> Result<String, ApiError> {
        let (cursor, tag) = token.split_once('.').ok_or(ApiError::InvalidPageToken)?;
        let cursor = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| ApiError::InvalidPageToken)?;
        let cursor = String::from_utf8(cursor).map_err(|_| ApiError::InvalidPageToken)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| ApiError::InvalidPageToken)?;
        self.mac(binding, &cursor).verify_truncated_left(&tag).map_err(|_| ApiError::InvalidPageToken)?;
        if tag.len() != MAC_BYTES {
            return Err(ApiError::InvalidPageToken);
        }
        Ok(cursor)
    }
}

/// `page_size` and `page_token` as sent, before they are checked.
pub struct PageParams<'a> {
    pub page_size: Option<u32>,
    pub page_token: Option<&'a str>,
}

/// The query of a list that has no filter: only the page to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

impl PageQuery {
    pub fn params(&self) -> PageParams<'_> {
        PageParams { page_size: self.page_size, page_token: self.page_token.as_deref() }
    }
}

/// A checked page request: how many items, and after which sort key.
#[derive(Debug)]
pub struct PageRequest {
    pub size: u32,
    pub after: Option<String>,
    binding: String,
}

impl PageRequest {
    /// `binding` names everything the token must not be reused across: the route, each filter
    /// value and the caller's identity.
    pub fn new(key: &PageTokenKey, params: &PageParams<'_>, binding: String) -> Result<Self, ApiError> {
        let size = params.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::invalid_parameter(
                "page_size",
                "OUT_OF_RANGE",
                format!("page_size must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = params.page_token.map(|token| key.open(&binding, token)).transpose()?;
        Ok(Self { size, after, binding })
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Cuts the fetched rows to the page and issues the token of the next one, if any.
    pub fn finish<R, T>(
        &self,
        key: &PageTokenKey,
        rows: Vec<R>,
        cursor_of: impl Fn(&R) -> String,
        mut view: impl FnMut(R) -> T,
    ) -> Page<T> {
        let page: Result<Page<T>, std::convert::Infallible> =
            self.try_finish(key, rows, cursor_of, |row| Ok(view(row)));
        match page {
            Ok(page) => page,
        }
    }

    /// [`Self::finish`] with a view that can fail: the first failure is the answer.
    pub fn try_finish<R, T, E>(
        &self,
        key: &PageTokenKey,
        mut rows: Vec<R>,
        cursor_of: impl Fn(&R) -> String,
        view: impl FnMut(R) -> Result<T, E>,
    ) -> Result<Page<T>, E> {
        let size = self.size as usize;
        let next_page_token = if rows.len() > size {
            rows.truncate(size);
            rows.last().map(|last| key.issue(&self.binding, &cursor_of(last)))
        } else {
            None
        };
        Ok(Page { items: rows.into_iter().map(view).collect::<Result<_, E>>()?, next_page_token })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `page_token` to read the next page; `null` on the last page.
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageTokenKey {
        PageTokenKey::new(b"test key of some length for pages")
    }

    #[test]
    fn a_token_opens_only_for_the_binding_it_was_issued_for() {
        let token = key().issue("epcis|q=|sub=alice", "200000172");
        assert_eq!(key().open("epcis|q=|sub=alice", &token).unwrap(), "200000172");
        assert!(matches!(key().open("epcis|q=|sub=bob", &token), Err(ApiError::InvalidPageToken)));
        assert!(matches!(key().open("epcis|q=x|sub=alice", &token), Err(ApiError::InvalidPageToken)));
        assert!(matches!(
            PageTokenKey::new(b"another key").open("epcis|q=|sub=alice", &token),
            Err(ApiError::InvalidPageToken)
        ));
    }

    #[test]
    fn a_sealed_position_is_unreadable_stable_and_opens_only_for_its_binding() {
        let position = 41_i64.to_be_bytes();
        let token = key().seal("events|alice", &position);
        assert_eq!(key().unseal("events|alice", &token), Some(position.to_vec()));
        assert_eq!(key().seal("events|alice", &position), token, "a caught-up reader keeps its cursor");
        assert!(!token.contains("41") && URL_SAFE_NO_PAD.decode(&token).unwrap().len() == 24);
        assert_ne!(key().seal("events|alice", &42_i64.to_be_bytes()), token);
        assert_eq!(key().unseal("events|bob", &token), None);
        assert_eq!(PageTokenKey::new(b"another key").unseal("events|alice", &token), None);
        let mut edited = URL_SAFE_NO_PAD.decode(&token).unwrap();
        edited[20] ^= 1;
        assert_eq!(key().unseal("events|alice", &URL_SAFE_NO_PAD.encode(edited)), None);
        for junk in ["", "abc", "%%%", "41"] {
            assert_eq!(key().unseal("events|alice", junk), None, "{junk}");
        }
    }

    #[test]
    fn an_opaque_id_is_stable_and_differs_between_positions() {
        assert_eq!(key().opaque_id("events", 7), key().opaque_id("events", 7));
        assert_ne!(key().opaque_id("events", 7), key().opaque_id("events", 8));
        assert_eq!(key().opaque_id("events", 7).len(), 22);
    }

    #[test]
    fn an_edited_cursor_or_tag_is_refused() {
        let token = key().issue("b", "200000172");
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("999999999"));
        assert!(matches!(key().open("b", &forged), Err(ApiError::InvalidPageToken)));
        let short = format!("{}.{}", URL_SAFE_NO_PAD.encode("200000172"), &tag[..4]);
        assert!(matches!(key().open("b", &short), Err(ApiError::InvalidPageToken)));
        for junk in ["", ".", "abc", "a.b.c", "%%%.###"] {
            assert!(matches!(key().open("b", junk), Err(ApiError::InvalidPageToken)), "{junk}");
        }
    }

    #[test]
    fn page_size_is_bounded() {
        let params = |page_size| PageParams { page_size: Some(page_size), page_token: None };
        assert!(PageRequest::new(&key(), &params(0), String::new()).is_err());
        assert!(PageRequest::new(&key(), &params(201), String::new()).is_err());
        assert_eq!(PageRequest::new(&key(), &params(200), String::new()).unwrap().size, 200);
    }

    #[test]
    fn finish_cuts_the_extra_row_into_a_token() {
        let request =
            PageRequest::new(&key(), &PageParams { page_size: Some(2), page_token: None }, "b".into()).unwrap();
        let page = request.finish(&key(), vec!["a", "b", "c"], ToString::to_string, ToString::to_string);
        assert_eq!(page.items, vec!["a", "b"]);
        let token = page.next_page_token.unwrap();
        assert_eq!(key().open("b", &token).unwrap(), "b");
        let last = request.finish(&key(), vec!["a"], ToString::to_string, ToString::to_string);
        assert!(last.next_page_token.is_none());
    }
}
