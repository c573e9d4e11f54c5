//! What a problem body quotes from below [`crate::error`]: precise complaints about the request,
//! and the id of the request being answered. A leaf that imports nothing from the crate, so that
//! `error` and the HTTP plumbing that returns errors can both use it without depending on each
//! other.

use serde::Serialize;
use utoipa::ToSchema;

/// One precise complaint about one place in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the request body, when the complaint is about the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Name of the query parameter or header, when the complaint is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Line of an uploaded file (1 is the first), when the complaint is about one of its rows. A
    /// 256 MiB file has far fewer than 2^32 lines; 32 bits keep `ApiError` small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Column of that line (a CSV header or an NDJSON field name), when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub column: Option<Box<str>>,
    /// Stable, machine-readable reason, e.g. `DATE_BEFORE_START`.
    pub code: String,
    /// Human-readable reason.
    pub detail: String,
}

impl FieldError {
    pub fn at_pointer(pointer: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Self { pointer: Some(pointer.into()), ..Self::condition(code, detail) }
    }

    /// An unmet condition of a transition: about the resource's state, not one field.
    pub fn condition(code: &str, detail: impl Into<String>) -> Self {
        Self { pointer: None, parameter: None, line: None, column: None, code: code.to_owned(), detail: detail.into() }
    }

    /// A complaint about a line of an uploaded file, and the column to blame if there is one.
    pub fn at_line(line: u64, column: Option<&str>, code: &str, detail: impl Into<String>) -> Self {
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        Self { line: Some(line), column: column.map(Box::from), ..Self::condition(code, detail) }
    }

    pub fn at_parameter(parameter: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Self { parameter: Some(parameter.into()), ..Self::condition(code, detail) }
    }
}

tokio::task_local! {
    static REQUEST_ID: String;
}

std::thread_local! {
    /// The request a blocking-pool thread is working for: task-locals stay on the async task, and
    /// the database work of a request runs on another thread.
    static THREAD_REQUEST_ID: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The id of the request this task, or this blocking thread, is serving, if any. Problem bodies
/// and log lines quote it.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok().or_else(|| THREAD_REQUEST_ID.with(|id| id.borrow().clone()))
}

/// Runs `work` on this thread as serving the request `id`, then gives the thread back as it was.
pub fn on_this_thread<T>(id: Option<String>, work: impl FnOnce() -> T) -> T {
    let before = THREAD_REQUEST_ID.with(|current| current.replace(id));
    // Restored even if `work` panics, so that the pool's next job never carries this id.
    let _restore = Restore(before);
    work()
}

struct Restore(Option<String>);

impl Drop for Restore {
    fn drop(&mut self) {
        let before = self.0.take();
        THREAD_REQUEST_ID.with(|current| *current.borrow_mut() = before);
    }
}

/// `future`, serving the request `id`: inside it, [`request_id`] answers `id`.
pub fn with_request_id<F: Future>(id: String, future: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(id, future)
}
