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
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
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
pub fn streamed<C, F>(pool: Arc<DbPool>, columns: &'static [&'static str], filename: &str, fetch: F) -> HttpResponse
where
    C: Send + 'static,
    F: Fn(&mut DbConnection, Option<C>) -> ApiResult<(Vec<Vec<String>>, Option<C>)> + Send + Sync + 'static,
{
    let fetch = Arc::new(fetch);
    // The state: the cursor of the next chunk (`Some(None)` for the first), `None` once done.
    let start: Option<Option<C>> = Some(None);
    let chunks = futures_util::stream::unfold(start, move |state| {
        let (pool, fetch) = (pool.clone(), fetch.clone());
        async move {
            let cursor = state?;
            let first = cursor.is_none();
            let (rows, next) = match db::run(&pool, move |conn| fetch(conn, cursor)).await {
                Ok(chunk) => chunk,
                Err(error) => return Some((Err(actix_web::error::ErrorServiceUnavailable(error.to_string())), None)),
            };
            let mut table = if first { CsvTable::new(columns) } else { CsvTable::continuation() };
            for row in &rows {
                table.row(row);
            }
            Some((Ok::<_, actix_web::Error>(web::Bytes::from(table.finish())), next.map(Some)))
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .content_type("text/csv; charset=utf-8")
        .streaming(chunks)
}

#[cfg(test)]
mod tests {
    use super::CsvTable;

    #[test]
    fn fields_with_separators_or_quotes_are_quoted() {
        let mut table = CsvTable::new(&["name", "note"]);
        table.row(&["CC Faucigny - Glières".into(), "dit \"le Faucigny\"; 74".into()]);
        assert_eq!(table.finish(), "\u{feff}name;note\r\nCC Faucigny - Glières;\"dit \"\"le Faucigny\"\"; 74\"\r\n");
    }
}
