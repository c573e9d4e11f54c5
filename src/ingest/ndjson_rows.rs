//! Observation rows from NDJSON: one JSON object per line. `value` may be a string (`"57.3"`) or a
//! JSON number, read from its text so that no float ever holds it; blank lines are skipped.

use std::borrow::Cow;
use std::io::BufRead;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::rows::{Rows, strip_bom};
use crate::domain::observations::RawRow;
use crate::error::FieldError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    indicator: Cow<'a, str>,
    #[serde(borrow)]
    geo_level: Cow<'a, str>,
    #[serde(borrow)]
    geo_code: Cow<'a, str>,
    #[serde(borrow)]
    period: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(default)]
    suppressed: Option<bool>,
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow, default)]
    millesime: Option<Cow<'a, str>>,
}

pub fn read(mut input: impl BufRead, rows: &mut impl Rows) -> std::io::Result<()> {
    strip_bom(&mut input)?;
    let mut buffer = Vec::with_capacity(512);
    let mut line = 0_u64;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        line += 1;
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let flow = match row(&buffer, line) {
            Ok(raw) => rows.row(raw, false),
            Err(error) => rows.error(error),
        };
        if flow.is_break() {
            return Ok(());
        }
    }
}

fn row(bytes: &[u8], line: u64) -> Result<RawRow<'_>, FieldError> {
    let parsed: Line<'_> = serde_json::from_slice(bytes).map_err(|error| json_error(&error, line))?;
    let value = match parsed.value.map(RawValue::get) {
        None | Some("null") => None,
        Some(text) if text.starts_with('"') => Some(
            serde_json::from_str::<Cow<'_, str>>(text)
                .map_err(|error| FieldError::at_line(line, Some("value"), "INVALID_VALUE", error.to_string()))?,
        ),
        Some(number) => Some(Cow::Borrowed(number)),
    };
    Ok(RawRow {
        line,
        indicator: parsed.indicator,
        geo_level: parsed.geo_level,
        geo_code: parsed.geo_code,
        period: parsed.period,
        value: value.filter(|v| !v.is_empty()),
        suppressed: parsed.suppressed.map(|s| Cow::Borrowed(if s { "true" } else { "false" })),
        source: parsed.source,
        millesime: parsed.millesime.filter(|m| !m.is_empty()),
    })
}

/// Names the field serde complained about when it says which one.
fn json_error(error: &serde_json::Error, line: u64) -> FieldError {
    let message = error.to_string();
    let field = message.split('`').nth(1).map(str::to_owned);
    let code = if message.starts_with("missing field") {
        "MISSING_FIELD"
    } else if message.starts_with("unknown field") {
        "UNKNOWN_FIELD"
    } else {
        "MALFORMED_LINE"
    };
    let column = if code == "MALFORMED_LINE" { None } else { field };
    FieldError::at_line(line, column.as_deref(), code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_from_their_text_and_strings_unescaped() {
        let raw = row(br#"{"indicator":"a","geo_level":"commune","geo_code":"74010","period":"2024","value":57.30,"source":"Cnaf"}"#, 3).unwrap();
        assert_eq!(raw.value.as_deref(), Some("57.30"));
        let raw = row(br#"{"indicator":"a","geo_level":"commune","geo_code":"74010","period":"2024","value":"1\u0032","source":"C"}"#, 3).unwrap();
        assert_eq!(raw.value.as_deref(), Some("12"));
        let raw = row(br#"{"indicator":"a","geo_level":"commune","geo_code":"74010","period":"2024","value":null,"suppressed":true,"source":"C"}"#, 3).unwrap();
        assert_eq!((raw.value, raw.suppressed.as_deref()), (None, Some("true")));
    }

    #[test]
    fn a_missing_or_unknown_field_is_named() {
        let missing =
            row(br#"{"indicator":"a","geo_level":"commune","geo_code":"74010","period":"2024"}"#, 7).unwrap_err();
        assert_eq!(
            (missing.line, missing.column.as_deref(), missing.code.as_str()),
            (Some(7), Some("source"), "MISSING_FIELD")
        );
        let unknown = row(br#"{"indicator":"a","colour":"red"}"#, 8).unwrap_err();
        assert_eq!((unknown.column.as_deref(), unknown.code.as_str()), (Some("colour"), "UNKNOWN_FIELD"));
        let broken = row(b"{not json", 9).unwrap_err();
        assert_eq!((broken.column, broken.code.as_str()), (None, "MALFORMED_LINE"));
    }
}
