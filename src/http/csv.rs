//! CSV answers for spreadsheets: UTF-8 with a byte-order mark and `;` between fields, which is
//! what a French-locale spreadsheet opens correctly with a double click; fields quoted when needed.

use actix_web::HttpRequest;
use actix_web::http::header;

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
