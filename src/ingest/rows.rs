//! What the CSV and NDJSON readers share: where they hand the rows they read, and the byte-order
//! mark they skip.

use std::io::BufRead;
use std::ops::ControlFlow;

use crate::domain::observations::RawRow;
use crate::error::FieldError;

/// Where a reader hands what it reads.
pub trait Rows {
    fn row(&mut self, raw: RawRow<'_>, decimal_comma: bool) -> ControlFlow<()>;
    fn error(&mut self, error: FieldError) -> ControlFlow<()>;

    /// A problem after which the reader stops whatever the answer.
    fn last_error(&mut self, error: FieldError) {
        let _stop = self.error(error);
    }
}

pub fn strip_bom(input: &mut impl BufRead) -> std::io::Result<()> {
    if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    Ok(())
}
