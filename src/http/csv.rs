//! CSV answers for spreadsheets: UTF-8 with a byte-order mark and `;` between fields, which is
//! what a French-locale spreadsheet opens correctly with a double click; fields quoted when needed.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::db::{self, DbConnection, DbPool};
use crate::error::ApiResult;

/// Whether the client asked for CSV (`Accept: text/csv`) rather than JSON.
pub fn wants_csv(req: &HttpRequest) -> bool {
    req.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok()).is_some_and(|accept| {
        accept
            .split(',')
            .any(|media| media.trim().split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv")))
    })
}

pub struct CsvTable {
    text: String,
}

fn field(value: &str) -> String {
    let value = defused(value);
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.into_owned()
    }
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `@`, a tab, or `-` not starting a
/// number) gets a leading `'`, so that a title or a source written through the API cannot run in
/// the spreadsheet that opens the export. Numbers, negative ones included, stay numbers.
fn defused(value: &str) -> std::borrow::Cow<'_, str> {
    let number = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
    let risky = match value.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        Some(b'-') => !number(&value[1..]),
        _ => false,
    };
    if risky { format!("'{value}").into() } else { value.into() }
}

impl CsvTable {
    pub fn new(columns: &[&str]) -> Self {
        let mut table = Self { text: String::from("\u{feff}") };
        table.line(columns.iter().map(|c| (*c).to_owned()));
        table
    }

    /// More rows of a table already begun: no byte-order mark, no header.
    pub fn continuation() -> Self {
        Self { text: String::new() }
    }

    fn line(&mut self, values: impl Iterator<Item = String>) {
        let fields: Vec<String> = values.map(|value| field(&value)).collect();
        self.text.push_str(&fields.join(";"));
        self.text.push_str("\r\n");
    }

    pub fn row(&mut self, values: &[String]) {
        self.line(values.iter().cloned());
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// A CSV answer holds the whole selection: paging parameters alongside it are a mistake, 400.
pub fn refuse_paging(page_size: Option<u32>, page_token: Option<&str>) -> ApiResult<()> {
    let name = match (page_size, page_token) {
        (Some(_), _) => "page_size",
        (None, Some(_)) => "page_token",
        (None, None) => return Ok(()),
    };
    let detail = "a CSV answer holds the whole selection: leave out page_size and page_token";
    Err(crate::error::ApiError::invalid_parameter(name, "NOT_WITH_CSV", detail))
}

/// A CSV answer streamed chunk by chunk, one query each, so that an export never sits whole in
/// memory. `fetch` reads the rows after a cursor (`None` for the first chunk) and returns them
/// with the cursor to continue from, or `None` after the last chunk. A failure after the first
/// chunk ends the stream early, which the client sees as a truncated download.
///
/// The first chunk is read before the answer starts, so that a database that is away is a 503
/// like anywhere else. Chunks are separate queries, not one snapshot: a change committed during a
/// long export may show in the chunks read after it.
pub async fn streamed<C, F>(
    pool: Arc<DbPool>,
    columns: &'static [&'static str],
    filename: &str,
    fetch: F,
) -> ApiResult<HttpResponse>
where
    C: Send + 'static,
    F: Fn(&mut DbConnection, Option<C>) -> ApiResult<(Vec<Vec<String>>, Option<C>)> + Send + Sync + 'static,
{
    let fetch = Arc::new(fetch);
    let (rows, next) = {
        let fetch = fetch.clone();
        db::run(&pool, move |conn| fetch(conn, None)).await?
    };
    let mut head = CsvTable::new(columns);
    for row in &rows {
        head.row(row);
    }
    let head = futures_util::stream::once(std::future::ready(Ok(web::Bytes::from(head.finish()))));
    // The state: the cursor of the next chunk, `None` once the last one is out.
    let rest = futures_util::stream::unfold(next, move |cursor| {
        let (pool, fetch) = (pool.clone(), fetch.clone());
        async move {
            let cursor = cursor?;
            let (rows, next) = match db::run(&pool, move |conn| fetch(conn, Some(cursor))).await {
                Ok(chunk) => chunk,
                Err(error) => return Some((Err(actix_web::error::ErrorServiceUnavailable(error.to_string())), None)),
            };
            let mut table = CsvTable::continuation();
            for row in &rows {
                table.row(row);
            }
            Some((Ok::<_, actix_web::Error>(web::Bytes::from(table.finish())), next))
        }
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .content_type("text/csv; charset=utf-8")
        .streaming(futures_util::StreamExt::chain(head, rest)))
}

#[cfg(test)]
mod tests {
    use super::CsvTable;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        let mut table = CsvTable::new(&["a"]);
        for value in ["=HYPERLINK(\"x\")", "+33 1", "@SUM(A1)", "-cmd", "-12", "-0,5", "57.3"] {
            table.row(&[value.into()]);
        }
        let text = table.finish();
        let lines: Vec<&str> = text.split("\r\n").skip(1).collect();
        assert_eq!(lines[..7], ["\"'=HYPERLINK(\"\"x\"\")\"", "'+33 1", "'@SUM(A1)", "'-cmd", "-12", "-0,5", "57.3"]);
    }

    #[test]
    fn fields_with_separators_or_quotes_are_quoted() {
        let mut table = CsvTable::new(&["name", "note"]);
        table.row(&["CC Faucigny - Glières".into(), "dit \"le Faucigny\"; 74".into()]);
        assert_eq!(table.finish(), "\u{feff}name;note\r\nCC Faucigny - Glières;\"dit \"\"le Faucigny\"\"; 74\"\r\n");
    }
}
