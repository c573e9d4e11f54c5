//! Observation rows from CSV: a header line naming the columns (any order), then one row per line.
//! Fields are separated by `,`, or by `;` as French spreadsheets write them; a byte-order mark is
//! skipped.

use std::borrow::Cow;
use std::io::BufRead;

use super::rows::{Rows, strip_bom};
use crate::domain::observations::RawRow;
use crate::error::FieldError;

const REQUIRED: [&str; 6] = ["indicator", "geo_level", "geo_code", "period", "value", "source"];
const OPTIONAL: [&str; 2] = ["suppressed", "millesime"];
/// Columns of the CSV export that a file sent back may keep: they are set by the service (the
/// origin by who sends the file).
const IGNORED: [&str; 3] = ["ingest_id", "updated_at", "origin"];

/// Where each known column is in the file.
#[derive(Debug, Default)]
struct Columns {
    indicator: usize,
    geo_level: usize,
    geo_code: usize,
    period: usize,
    value: usize,
    source: usize,
    suppressed: Option<usize>,
    millesime: Option<usize>,
    count: usize,
}

fn columns(header: &csv::ByteRecord) -> Result<Columns, Vec<FieldError>> {
    let names: Vec<String> = header.iter().map(|name| String::from_utf8_lossy(name).trim().to_owned()).collect();
    let mut errors = Vec::new();
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            errors.push(FieldError::at_line(1, Some(name), "DUPLICATE_COLUMN", "the header names this column twice"));
        } else if ![&REQUIRED[..], &OPTIONAL, &IGNORED].concat().contains(&name.as_str()) {
            let detail = format!("known columns: {}, {}", REQUIRED.join(", "), OPTIONAL.join(", "));
            errors.push(FieldError::at_line(1, Some(name), "UNKNOWN_COLUMN", detail));
        }
    }
    let position = |wanted: &str| names.iter().position(|name| name == wanted);
    let mut required = |wanted: &str| {
        position(wanted).unwrap_or_else(|| {
            errors.push(FieldError::at_line(1, Some(wanted), "MISSING_COLUMN", "the header must name this column"));
            0
        })
    };
    let found = Columns {
        indicator: required("indicator"),
        geo_level: required("geo_level"),
        geo_code: required("geo_code"),
        period: required("period"),
        value: required("value"),
        source: required("source"),
        suppressed: position("suppressed"),
        millesime: position("millesime"),
        count: names.len(),
    };
    if errors.is_empty() { Ok(found) } else { Err(errors) }
}

/// Whether the header line separates fields with `;` (a French spreadsheet's CSV).
pub fn uses_semicolons(input: &mut impl BufRead) -> std::io::Result<bool> {
    let buffer = input.fill_buf()?;
    let first_line = buffer.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(first_line.contains(&b';'))
}

pub fn read(mut input: impl BufRead, rows: &mut impl Rows) -> std::io::Result<()> {
    strip_bom(&mut input)?;
    let semicolons = uses_semicolons(&mut input)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(if semicolons { b';' } else { b',' })
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    if !read_record(&mut reader, &mut record, rows)? {
        rows.last_error(FieldError::at_line(1, None, "MISSING_HEADER", "the file is empty: it needs a header line"));
        return Ok(());
    }
    let columns = match columns(&record) {
        Ok(columns) => columns,
        Err(errors) => {
            for error in errors {
                rows.last_error(error);
            }
            return Ok(());
        }
    };
    while read_record(&mut reader, &mut record, rows)? {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let flow = match row(&record, &columns, line) {
            Ok(raw) => rows.row(raw, semicolons),
            Err(error) => rows.error(error),
        };
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

/// Reads the next record; a line the CSV reader cannot read is reported, and reading stops.
fn read_record<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    rows: &mut impl Rows,
) -> std::io::Result<bool> {
    match reader.read_byte_record(record) {
        Ok(more) => Ok(more),
        Err(error) => {
            let line = error.position().map_or(0, csv::Position::line);
            match error.into_kind() {
                csv::ErrorKind::Io(error) => Err(error),
                other => {
                    rows.last_error(FieldError::at_line(line, None, "MALFORMED_LINE", format!("{other:?}")));
                    Ok(false)
                }
            }
        }
    }
}

fn row<'a>(record: &'a csv::ByteRecord, columns: &Columns, line: u64) -> Result<RawRow<'a>, FieldError> {
    if record.len() != columns.count {
        let detail = format!("{} fields where the header has {}", record.len(), columns.count);
        return Err(FieldError::at_line(line, None, "WRONG_FIELD_COUNT", detail));
    }
    let text = |index: usize, name: &str| -> Result<Cow<'a, str>, FieldError> {
        std::str::from_utf8(&record[index])
            .map(Cow::Borrowed)
            .map_err(|_| FieldError::at_line(line, Some(name), "INVALID_UTF8", "the file must be UTF-8"))
    };
    let optional = |index: Option<usize>, name: &str| -> Result<Option<Cow<'a, str>>, FieldError> {
        index.map(|index| text(index, name)).transpose().map(|value| value.filter(|v| !v.is_empty()))
    };
    Ok(RawRow {
        line,
        indicator: text(columns.indicator, "indicator")?,
        geo_level: text(columns.geo_level, "geo_level")?,
        geo_code: text(columns.geo_code, "geo_code")?,
        period: text(columns.period, "period")?,
        value: optional(Some(columns.value), "value")?,
        suppressed: optional(columns.suppressed, "suppressed")?,
        source: text(columns.source, "source")?,
        millesime: optional(columns.millesime, "millesime")?,
    })
}
