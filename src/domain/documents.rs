//! Documents attached to a contract: their kinds, the file types accepted (recognised by their
//! content, never by their name or the announced `Content-Type`), who may upload which, and the
//! byte ranges a download answers.

use super::codes::text_codes;

text_codes! {
    /// What a document is to the contract.
    DocumentKind {
        SignedConvention = "signed_convention" => "Convention signée",
        Deliberation = "deliberation" => "Délibération",
        DiagnosticReport = "diagnostic_report" => "Rapport de diagnostic",
        Minutes = "minutes" => "Compte rendu",
        EvaluationReport = "evaluation_report" => "Rapport d'évaluation",
        SupportingEvidence = "supporting_evidence" => "Pièce justificative",
        Amendment = "amendment" => "Avenant",
        Other = "other" => "Autre document",
    }
}

/// The size of the start of a file that [`recognise`] looks at: enough for the local headers
/// of the first entries of an office document.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// A file type the service accepts, as recognised from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
    Odt,
    Ods,
    Docx,
    Xlsx,
}

impl FileType {
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Odt => "application/vnd.oasis.opendocument.text",
            Self::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

const ZIP_LOCAL_HEADER: &[u8] = b"PK\x03\x04";

/// The type of a file from its first bytes (up to [`SNIFF_BYTES`]):
/// - PDF: starts with `%PDF-`; PNG: the 8-byte PNG signature; JPEG: `FF D8 FF`;
/// - ODT/ODS: a ZIP whose first entry is named `mimetype` and holds, stored, the OpenDocument
///   text or spreadsheet media type (as the OpenDocument standard requires);
/// - DOCX/XLSX: a ZIP with a `[Content_Types].xml` entry and a `word/` (DOCX) or `xl/` (XLSX)
///   entry among the local headers found in the first [`SNIFF_BYTES`].
///
/// Anything else, a ZIP of another kind included, is `None`.
pub fn recognise(head: &[u8]) -> Option<FileType> {
    if head.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileType::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileType::Jpeg);
    }
    if !head.starts_with(ZIP_LOCAL_HEADER) {
        return None;
    }
    let names = zip_entry_names(head);
    if let Some((b"mimetype", data)) = first_entry(head) {
        return match data {
            b"application/vnd.oasis.opendocument.text" => Some(FileType::Odt),
            b"application/vnd.oasis.opendocument.spreadsheet" => Some(FileType::Ods),
            _ => None,
        };
    }
    if !names.iter().any(|name| *name == b"[Content_Types].xml") {
        return None;
    }
    if names.iter().any(|name| name.starts_with(b"word/")) {
        Some(FileType::Docx)
    } else if names.iter().any(|name| name.starts_with(b"xl/")) {
        Some(FileType::Xlsx)
    } else {
        None
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()
}

/// The name of the ZIP's first entry and, when it is stored uncompressed with its size in its
/// header, its data.
fn first_entry(head: &[u8]) -> Option<(&[u8], &[u8])> {
    let method = u16_at(head, 8)?;
    let size = u32_at(head, 18)?;
    let name_len = u16_at(head, 26)?;
    let extra_len = u16_at(head, 28)?;
    let name = head.get(30..30 + name_len)?;
    let start = 30 + name_len + extra_len;
    let data = if method == 0 { head.get(start..start + size).unwrap_or_default() } else { &[] };
    Some((name, data))
}

/// The entry names of the ZIP local headers found in `head`: every `PK\x03\x04` signature
/// followed by a plausible header. Entries written with a data descriptor do not give their
/// size up front, so the names are found by scanning rather than by walking from one to the next.
fn zip_entry_names(head: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(found) = head.get(at..).and_then(|rest| rest.windows(4).position(|w| w == ZIP_LOCAL_HEADER)) {
        let start = at + found;
        if let Some(name) = u16_at(head, start + 26).and_then(|len| head.get(start + 30..start + 30 + len)) {
            names.push(name);
        }
        at = start + 4;
    }
    names
}

/// What the caller is to the contract, for an upload or a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploader {
    /// An admin or a CAF agent of the contract's département.
    pub is_caf: bool,
    /// A collectivity whose organisation is the party the document is linked to.
    pub owns_linked_party: bool,
    /// A collectivity whose organisation pilots the action the document is linked to.
    pub pilots_linked_action: bool,
    /// How many links the document carries (party, amendment, evidence, meeting, evaluation,
    /// action).
    pub links: usize,
}

/// What the pilot of an action may file under it: what it produces or reports, not what the
/// signatories sign.
const FILED_BY_PILOTS: [DocumentKind; 4] =
    [DocumentKind::SupportingEvidence, DocumentKind::Minutes, DocumentKind::EvaluationReport, DocumentKind::Other];

/// Whether `uploader` may upload (or remove) a document of `kind`: the CAF any; a collectivity
/// the délibération linked to its own party, and the reports, minutes and evidence of an action
/// it pilots. The refusal is the 403's detail.
/// A collectivity's document carries the one link that gives it the right, and no other: a link
/// is a claim on what it names (a piece of evidence, a committee), which stays the CAF's to make.
pub fn check_uploader(uploader: Uploader, kind: DocumentKind) -> Result<(), &'static str> {
    if uploader.is_caf {
        return Ok(());
    }
    let only_link = uploader.links == 1;
    if only_link
        && ((kind == DocumentKind::Deliberation && uploader.owns_linked_party)
            || (FILED_BY_PILOTS.contains(&kind) && uploader.pilots_linked_action))
    {
        return Ok(());
    }
    Err("a collectivity uploads its own party's délibération (kind deliberation, party_id its party) and the \
         evidence, minutes, reports and other documents of an action it pilots (action_id)")
}

/// The bytes a download answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The whole file (no `Range`, or one the server ignores as RFC 9110 §14.2 allows).
    Whole,
    /// Bytes `start..=end`: 206.
    Part { start: u64, end: u64 },
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// The span a `Range` header asks of a file of `size` bytes. One range of `bytes` is served
/// (`a-b`, `a-`, `-n`); several ranges, another unit or a malformed header are ignored and the
/// whole file is answered.
pub fn span(range: Option<&str>, size: u64) -> Span {
    let Some(spec) = range.and_then(|value| value.trim().strip_prefix("bytes=")) else {
        return Span::Whole;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return Span::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Span::Whole;
    };
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse::<u64>().ok()).flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `-n`: the last n bytes.
        return match number(last) {
            None => Span::Whole,
            Some(0) => Span::Unsatisfiable,
            Some(_) if size == 0 => Span::Unsatisfiable,
            Some(suffix) => Span::Part { start: size.saturating_sub(suffix), end: size - 1 },
        };
    }
    let Some(start) = number(first) else {
        return Span::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            _ => return Span::Whole,
        }
    };
    if start >= size {
        return Span::Unsatisfiable;
    }
    Span::Part { start, end: end.map_or(size - 1, |end| end.min(size - 1)) }
}

/// `Content-Disposition: attachment` for `filename`: an ASCII fallback in `filename="…"` (quotes,
/// backslashes and control characters replaced) and, when the name is not plain ASCII, the exact
/// name in `filename*=UTF-8''…` (RFC 6266, RFC 8187).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    if fallback == filename {
        return format!("attachment; filename=\"{fallback}\"");
    }
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_entry(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = b"PK\x03\x04".to_vec();
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let size = u32::try_from(data.len()).unwrap().to_le_bytes();
        out.extend_from_slice(&size);
        out.extend_from_slice(&size);
        out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn files_are_recognised_by_their_first_bytes() {
        assert_eq!(recognise(b"%PDF-1.7\n..."), Some(FileType::Pdf));
        assert_eq!(recognise(b"\x89PNG\r\n\x1a\n...."), Some(FileType::Png));
        assert_eq!(recognise(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(FileType::Jpeg));
        assert_eq!(recognise(b"Hello, this is text named .pdf"), None);
        assert_eq!(recognise(b""), None);
    }

    #[test]
    fn office_files_are_told_apart_by_their_entries() {
        let odt = zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.text");
        assert_eq!(recognise(&odt), Some(FileType::Odt));
        let ods = zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.spreadsheet");
        assert_eq!(recognise(&ods), Some(FileType::Ods));
        let odp = zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.presentation");
        assert_eq!(recognise(&odp), None);
        let mut docx = zip_entry(b"[Content_Types].xml", b"<Types/>");
        docx.extend(zip_entry(b"word/document.xml", b"<w/>"));
        assert_eq!(recognise(&docx), Some(FileType::Docx));
        let mut xlsx = zip_entry(b"[Content_Types].xml", b"<Types/>");
        xlsx.extend(zip_entry(b"xl/workbook.xml", b"<x/>"));
        assert_eq!(recognise(&xlsx), Some(FileType::Xlsx));
        let mut pptx = zip_entry(b"[Content_Types].xml", b"<Types/>");
        pptx.extend(zip_entry(b"ppt/presentation.xml", b"<p/>"));
        assert_eq!(recognise(&pptx), None);
        assert_eq!(recognise(&zip_entry(b"word/document.xml", b"")), None, "no [Content_Types].xml");
        assert_eq!(recognise(b"PK\x03\x04"), None, "a truncated header");
    }

    #[test]
    fn a_collectivity_uploads_its_own_deliberation_and_what_it_reports_on_the_actions_it_pilots() {
        let nobody = Uploader { is_caf: false, owns_linked_party: false, pilots_linked_action: false, links: 1 };
        let caf = Uploader { is_caf: true, ..nobody };
        let own = Uploader { owns_linked_party: true, ..nobody };
        let pilot = Uploader { pilots_linked_action: true, ..nobody };
        assert!(DocumentKind::ALL.iter().all(|&kind| check_uploader(caf, kind).is_ok()));
        assert!(check_uploader(own, DocumentKind::Deliberation).is_ok());
        assert!(check_uploader(own, DocumentKind::Minutes).is_err());
        assert!(check_uploader(nobody, DocumentKind::Deliberation).is_err());
        for &kind in DocumentKind::ALL {
            let filed = matches!(
                kind,
                DocumentKind::SupportingEvidence
                    | DocumentKind::Minutes
                    | DocumentKind::EvaluationReport
                    | DocumentKind::Other
            );
            assert_eq!(check_uploader(pilot, kind).is_ok(), filed, "{kind}");
            assert!(check_uploader(nobody, kind).is_err(), "{kind}");
            // Another link besides the one that gives the right: the CAF's to make.
            assert!(check_uploader(Uploader { links: 2, ..pilot }, kind).is_err(), "{kind}");
            assert!(check_uploader(Uploader { links: 2, ..own }, kind).is_err(), "{kind}");
            assert!(check_uploader(Uploader { links: 2, ..caf }, kind).is_ok(), "{kind}");
        }
    }

    #[test]
    fn one_byte_range_is_served_and_others_are_ignored() {
        assert_eq!(span(None, 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-9"), 100), Span::Part { start: 0, end: 9 });
        assert_eq!(span(Some("bytes=90-"), 100), Span::Part { start: 90, end: 99 });
        assert_eq!(span(Some("bytes=-10"), 100), Span::Part { start: 90, end: 99 });
        assert_eq!(span(Some("bytes=-500"), 100), Span::Part { start: 0, end: 99 });
        assert_eq!(span(Some("bytes=50-500"), 100), Span::Part { start: 50, end: 99 });
        assert_eq!(span(Some("bytes=100-"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=-0"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=0-1,5-6"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=9-1"), 100), Span::Whole);
        assert_eq!(span(Some("items=0-1"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=a-b"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=-"), 100), Span::Whole);
    }

    #[test]
    fn filenames_are_quoted_safely() {
        assert_eq!(content_disposition("convention.pdf"), "attachment; filename=\"convention.pdf\"");
        assert_eq!(
            content_disposition("délib \"n°3\".pdf"),
            "attachment; filename=\"d_lib _n_3_.pdf\"; filename*=UTF-8''d%C3%A9lib%20%22n%C2%B03%22.pdf"
        );
    }
}
