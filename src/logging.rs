//! The log lines of the service: env_logger's plain text, or one JSON object a line for a log
//! collector (`CTG_LOG_FORMAT=json`), each naming the request it was written for.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::problem_detail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// Reads `CTG_LOG_FORMAT`: `text` (the default) or `json`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("" | "text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!("CTG_LOG_FORMAT={other:?} is not a log format: use text or json")),
        }
    }
}

/// Starts the logger of the command: the levels of `RUST_LOG`, `info` by default.
pub fn init(format: LogFormat) {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let message = record.args().to_string();
            let request_id = problem_detail::request_id().or_else(|| access_log_request_id(record.target(), &message));
            writeln!(out, "{}", json_line(Utc::now(), record.level(), record.target(), &message, request_id.as_deref()))
        });
    }
    builder.init();
}

/// The target of actix's access log.
const ACCESS_LOG: &str = "actix_web::middleware::logger";

/// actix writes the access log once the answer has left, after the request's task let go of its
/// id; the line starts with that id (`startup::ACCESS_LOG_FORMAT`), so it is read back from there.
fn access_log_request_id(target: &str, message: &str) -> Option<String> {
    if target != ACCESS_LOG {
        return None;
    }
    message.split(' ').next().filter(|id| !id.is_empty() && *id != "-").map(str::to_owned)
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    level: &'a str,
    target: &'a str,
    message: &'a str,
    request_id: Option<&'a str>,
}

/// One log line as a JSON object, written by serde so that any quote or newline of the message is
/// escaped: a line is always one record.
pub fn json_line(
    at: DateTime<Utc>,
    level: log::Level,
    target: &str,
    message: &str,
    request_id: Option<&str>,
) -> String {
    let line = Line {
        ts: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        level: level.as_str(),
        target,
        message,
        request_id,
    };
    serde_json::to_string(&line).unwrap_or_else(|error| format!(r#"{{"message":"unprintable log line: {error}"}}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T08:30:00.25Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_line_is_one_json_object_with_its_message_escaped() {
        let line = json_line(at(), log::Level::Warn, "ctg_api::db", "a \"quoted\"\nsecond line", Some("req-1"));
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(
            line,
            r#"{"ts":"2026-03-01T08:30:00.250Z","level":"WARN","target":"ctg_api::db","message":"a \"quoted\"\nsecond line","request_id":"req-1"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["message"], "a \"quoted\"\nsecond line");
    }

    #[test]
    fn a_line_outside_a_request_has_a_null_request_id() {
        let line = json_line(at(), log::Level::Info, "ctg_api", "started", None);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(parsed["request_id"].is_null(), "{line}");
    }

    #[test]
    fn the_access_log_names_its_request_first() {
        let line = r#"6f1c1a52 127.0.0.1 "GET /health/live HTTP/1.1" 200 2 0.1ms"#;
        assert_eq!(access_log_request_id(ACCESS_LOG, line).as_deref(), Some("6f1c1a52"));
        assert_eq!(access_log_request_id(ACCESS_LOG, r#"- 127.0.0.1 "GET / HTTP/1.1""#), None);
        assert_eq!(access_log_request_id("ctg_api::db", line), None);
    }

    #[test]
    fn only_text_and_json_are_formats() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("yaml")).unwrap_err().contains("CTG_LOG_FORMAT"));
    }

    #[test]
    fn database_work_on_another_thread_carries_its_request_id() {
        let id = problem_detail::on_this_thread(Some("req-2".into()), problem_detail::request_id);
        assert_eq!(id.as_deref(), Some("req-2"));
        assert_eq!(problem_detail::request_id(), None, "the thread is given back as it was");
    }
}
