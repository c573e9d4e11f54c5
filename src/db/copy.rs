//! PostgreSQL's `COPY … FROM STDIN` in its text format, for the bulk writes that bound statements
//! make slow: rows as lines of tab-separated fields.

/// Appends one row: its fields separated by tabs, then a newline.
pub fn line(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b'\t');
        }
        text_field(out, *field);
    }
    out.push(b'\n');
}

/// Appends a field: `\N` for NULL; otherwise the text with the backslash and the characters that
/// end a field or a row escaped, so that no value can spill into the next.
fn text_field(out: &mut Vec<u8>, field: Option<&str>) {
    let Some(text) = field else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

/// An I/O error of the COPY stream as diesel's error.
pub fn stream_error(error: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::line;

    fn row(fields: &[Option<&str>]) -> String {
        let mut out = Vec::new();
        line(&mut out, fields);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn a_field_cannot_spill_into_the_next_field_or_row() {
        assert_eq!(row(&[Some("57.3"), None, Some("t")]), "57.3\t\\N\tt\n");
        assert_eq!(row(&[Some("\\N")]), "\\\\N\n", "a literal backslash-N is text, not NULL");
        assert_eq!(row(&[Some("a\tb\nc\rd\\e")]), "a\\tb\\nc\\rd\\\\e\n");
        assert_eq!(row(&[Some("Évian-les-Bains")]), "Évian-les-Bains\n");
    }
}
