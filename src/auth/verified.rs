//! Tokens already verified, kept until they expire, so that a client sending the same token with
//! every request pays for its signature check once. A cached token is honoured exactly as long as
//! verification would honour it (`exp` plus the leeway); nothing else about it can change, since
//! the service keeps no state that could revoke it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Caller;
use super::keys::LEEWAY_SECONDS;

/// Entries kept at most; past that the cache starts over, which costs only re-verification.
const CAPACITY: usize = 4_096;
/// Longer tokens are verified every time rather than held in memory.
const MAX_CACHED_TOKEN_BYTES: usize = 2_048;

#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<String, (Caller, i64)>>,
}

impl VerifiedTokens {
    /// The caller of `token` if it was verified and has not expired at `now` (Unix seconds).
    pub fn get(&self, token: &str, now: i64) -> Option<Caller> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match entries.get(token) {
            Some((caller, expires)) if now <= expires.saturating_add(LEEWAY_SECONDS.cast_signed()) => {
                Some(caller.clone())
            }
            Some(_) => {
                entries.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, token: &str, caller: &Caller, expires: i64) {
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), (caller.clone(), expires));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn a_cached_token_lasts_until_its_expiry_and_leeway_only() {
        let cache = VerifiedTokens::default();
        let caller = Caller { subject: "alice".into(), role: Role::Admin };
        cache.put("token", &caller, 1_000);
        assert_eq!(cache.get("token", 1_000), Some(caller.clone()));
        assert_eq!(cache.get("token", 1_030), Some(caller));
        assert_eq!(cache.get("token", 1_031), None);
        assert_eq!(cache.get("token", 1_000), None, "an expired entry is dropped");
        assert_eq!(cache.get("other", 0), None);
    }
}
