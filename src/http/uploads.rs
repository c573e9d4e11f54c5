//! Admission of uploads that go to disk (bulk files and documents), so that no caller can take the
//! disk or the upload capacity from the others: a cap on concurrent uploads per caller (429) and in
//! all (503), and a cap on the bytes waiting on disk across all of them (503). Each answer says
//! when to come back. A permit holds its place, and its bytes, until its file is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::{ApiError, ApiResult};

/// When to come back after a refusal: about the time a large file takes.
const RETRY_AFTER_SECONDS: u32 = 10;

#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Uploads in progress (spooling, checking or applying) for one caller.
    pub per_caller: u32,
    /// Uploads in progress in all.
    pub total: u32,
    /// Bytes of all uploads waiting on disk.
    pub spool_bytes: u64,
    /// Longest wait for the next bytes of a body.
    pub idle_timeout: Duration,
    /// Longest time a whole body may take.
    pub deadline: Duration,
}

/// The uploads in progress on this instance.
#[derive(Debug, Clone)]
pub struct Uploads {
    limits: UploadLimits,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    per_caller: HashMap<String, u32>,
    total: u32,
    spooled_bytes: u64,
}

impl Uploads {
    pub fn new(limits: UploadLimits) -> Self {
        Self { limits, state: Arc::default() }
    }

    pub fn limits(&self) -> UploadLimits {
        self.limits
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The counts stay consistent under a panic elsewhere: each update is one statement.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one upload of `caller`, or why not now.
    pub fn admit(&self, caller: &str) -> ApiResult<UploadPermit> {
        let mut state = self.state();
        let mine = state.per_caller.get(caller).copied().unwrap_or_default();
        if mine >= self.limits.per_caller {
            return Err(ApiError::RateLimited { retry_after_seconds: RETRY_AFTER_SECONDS });
        }
        if state.total >= self.limits.total {
            return Err(ApiError::Overloaded {
                detail: format!(
                    "{} uploads are in progress, the most this service takes at once; retry after {RETRY_AFTER_SECONDS} s",
                    state.total
                ),
                retry_after_seconds: RETRY_AFTER_SECONDS,
            });
        }
        *state.per_caller.entry(caller.to_owned()).or_default() += 1;
        state.total += 1;
        Ok(UploadPermit { uploads: self.clone(), caller: caller.to_owned(), charged: AtomicU64::new(0) })
    }
}

/// One upload's place, and the bytes it has on disk; both are given back when it is dropped.
#[derive(Debug)]
pub struct UploadPermit {
    uploads: Uploads,
    caller: String,
    charged: AtomicU64,
}

impl UploadPermit {
    pub fn limits(&self) -> UploadLimits {
        self.uploads.limits
    }

    /// Counts `bytes` more on disk for this upload, unless the spool would grow past its cap.
    pub fn charge(&self, bytes: u64) -> ApiResult<()> {
        let mut state = self.uploads.state();
        if state.spooled_bytes + bytes > self.uploads.limits.spool_bytes {
            return Err(ApiError::Overloaded {
                detail: format!(
                    "the files waiting to be read fill the {} bytes set aside for them; retry after {RETRY_AFTER_SECONDS} s",
                    self.uploads.limits.spool_bytes
                ),
                retry_after_seconds: RETRY_AFTER_SECONDS,
            });
        }
        state.spooled_bytes += bytes;
        self.charged.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        let mut state = self.uploads.state();
        state.spooled_bytes = state.spooled_bytes.saturating_sub(self.charged.load(Ordering::Relaxed));
        state.total = state.total.saturating_sub(1);
        if let Some(mine) = state.per_caller.get_mut(&self.caller) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                state.per_caller.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploads() -> Uploads {
        Uploads::new(UploadLimits {
            per_caller: 2,
            total: 3,
            spool_bytes: 100,
            idle_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(10),
        })
    }

    #[test]
    fn a_caller_gets_its_share_and_all_callers_the_total() {
        let uploads = uploads();
        let (a1, _a2) = (uploads.admit("a").unwrap(), uploads.admit("a").unwrap());
        assert_eq!(uploads.admit("a").unwrap_err().code(), "RATE_LIMITED");
        let _b1 = uploads.admit("b").unwrap();
        assert_eq!(uploads.admit("c").unwrap_err().code(), "UNAVAILABLE");
        drop(a1);
        assert!(uploads.admit("c").is_ok(), "a finished upload gives its place back");
    }

    #[test]
    fn the_spool_is_shared_and_given_back() {
        let uploads = uploads();
        let (a, b) = (uploads.admit("a").unwrap(), uploads.admit("b").unwrap());
        a.charge(60).unwrap();
        assert_eq!(b.charge(41).unwrap_err().code(), "UNAVAILABLE");
        b.charge(40).unwrap();
        drop(a);
        uploads.admit("c").unwrap().charge(60).unwrap();
    }
}
