//! The evidence behind a year's actual entitlement: which kinds a programme requires (data, kept
//! by admins), what is missing for a year, and who may record or validate a piece of it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::funding::{EvidenceKind, LineKind};
use crate::problem_detail::FieldError;

/// The kinds among `required` that no piece of `present` is of, in the order of `required`.
pub fn missing(required: &[EvidenceKind], present: impl IntoIterator<Item = EvidenceKind>) -> Vec<EvidenceKind> {
    let present: Vec<EvidenceKind> = present.into_iter().collect();
    required.iter().copied().filter(|kind| !present.contains(kind)).collect()
}

/// Whether paying `amount_cents` on a line of `kind` (of `line_amount_cents`) needs the year's
/// evidence validated: the balance and an extra adjustment pay on the actual figures, so they
/// wait for them; advances are paid on the forecast, and a recovery takes money back, which
/// never waits.
pub fn needs_validated_evidence(kind: LineKind, line_amount_cents: i64, amount_cents: i64) -> bool {
    amount_cents > 0
        && match kind {
            LineKind::Advance => false,
            LineKind::Balance => true,
            LineKind::Adjustment => line_amount_cents > 0,
        }
}

/// How a piece of evidence stands: received, or validated by the CAF too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Received,
    Validated,
}

impl Stage {
    fn word(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Validated => "validated",
        }
    }
}

/// The unmet conditions naming each missing kind of `year`'s evidence, for a 409: `what` needs
/// each of them `stage`.
pub fn unmet(year: i64, missing: &[EvidenceKind], stage: Stage) -> Vec<FieldError> {
    let code = match stage {
        Stage::Received => "EVIDENCE_NOT_RECEIVED",
        Stage::Validated => "EVIDENCE_NOT_VALIDATED",
    };
    missing
        .iter()
        .map(|kind| FieldError::condition(code, format!("{kind}: no {} of {year} is {}", kind.label(), stage.word())))
        .collect()
}

/// The problem's detail for [`unmet`]: what waits, and the kinds it waits for.
pub fn unmet_detail(what: &str, year: i64, missing: &[EvidenceKind], stage: Stage) -> String {
    let kinds: Vec<&str> = missing.iter().map(|kind| kind.as_str()).collect();
    format!("{what} needs the {year} evidence {}: missing {}", stage.word(), kinds.join(", "))
}

/// Who writes a piece of evidence, as the handler found them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer {
    /// An admin or a CAF agent of the contract's département.
    pub is_caf: bool,
    /// A collectivity acting for the manager of the commitment's equipment.
    pub manages_equipment: bool,
}

/// Whether `writer` may make a change that touches the validation (`validated_on`) or not, to a
/// piece that is validated already or not: the CAF may do anything; the collectivity managing
/// the equipment records and corrects what it received until the CAF validates it; nobody else
/// writes evidence. The refusal is the 403's detail.
pub fn check_writer(writer: Writer, touches_validation: bool, validated: bool) -> Result<(), &'static str> {
    if writer.is_caf {
        return Ok(());
    }
    if !writer.manages_equipment {
        return Err("only the CAF, or the collectivity managing the commitment's equipment, records its evidence");
    }
    if touches_validation {
        return Err("only the CAF validates evidence");
    }
    if validated {
        return Err("validated evidence is changed by the CAF only");
    }
    Ok(())
}

/// The dates of a piece of evidence: validated on or after it was received.
pub fn check_dates(received_on: NaiveDate, validated_on: Option<NaiveDate>) -> Result<(), Vec<FieldError>> {
    match validated_on {
        Some(validated_on) if validated_on < received_on => Err(vec![FieldError::at_pointer(
            "/validated_on",
            "VALIDATED_BEFORE_RECEIVED",
            "must be on or after received_on",
        )]),
        _ => Ok(()),
    }
}

/// A correction keeps every year that holds evidence: `YEAR_HAS_EVIDENCE` at `/years` for each
/// year of `with_evidence` the new amounts drop (the evidence would lose its year).
pub fn check_years_kept(
    with_evidence: impl IntoIterator<Item = i64>,
    new_years: &BTreeMap<i64, i64>,
) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = with_evidence
        .into_iter()
        .filter(|year| !new_years.contains_key(year))
        .map(|year| {
            let detail = format!("{year} holds evidence: delete it, or keep the year");
            FieldError::at_pointer("/years", "YEAR_HAS_EVIDENCE", detail)
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use EvidenceKind::{ActivityReport, AttendanceData, FinancialStatement};

    #[test]
    fn missing_kinds_keep_the_required_order() {
        let required = [ActivityReport, FinancialStatement, AttendanceData];
        assert_eq!(missing(&required, [AttendanceData, EvidenceKind::Other]), vec![ActivityReport, FinancialStatement]);
        assert_eq!(missing(&required, required), vec![]);
        assert_eq!(missing(&[], [ActivityReport]), vec![]);
    }

    #[test]
    fn the_balance_and_extra_adjustments_wait_for_validated_evidence() {
        assert!(!needs_validated_evidence(LineKind::Advance, 100, 100));
        assert!(needs_validated_evidence(LineKind::Balance, 100, 100));
        assert!(needs_validated_evidence(LineKind::Adjustment, 100, 50));
        assert!(!needs_validated_evidence(LineKind::Adjustment, -100, -100), "a recovery");
        assert!(!needs_validated_evidence(LineKind::Balance, -100, -100), "a negative balance recovered");
    }

    #[test]
    fn unmet_conditions_name_each_kind() {
        let unmet = unmet(2025, &[ActivityReport, AttendanceData], Stage::Validated);
        let found: Vec<(&str, &str)> = unmet.iter().map(|e| (e.code.as_str(), e.detail.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("EVIDENCE_NOT_VALIDATED", "activity_report: no Rapport d'activité of 2025 is validated"),
                ("EVIDENCE_NOT_VALIDATED", "attendance_data: no Données de fréquentation of 2025 is validated"),
            ]
        );
        assert_eq!(
            unmet_detail("the balance", 2025, &[ActivityReport, AttendanceData], Stage::Validated),
            "the balance needs the 2025 evidence validated: missing activity_report, attendance_data"
        );
    }

    #[test]
    fn the_caf_validates_and_the_managing_collectivity_records() {
        let caf = Writer { is_caf: true, manages_equipment: false };
        let manager = Writer { is_caf: false, manages_equipment: true };
        let stranger = Writer { is_caf: false, manages_equipment: false };
        assert_eq!(check_writer(caf, true, true), Ok(()));
        assert_eq!(check_writer(manager, false, false), Ok(()));
        assert_eq!(check_writer(manager, true, false), Err("only the CAF validates evidence"));
        assert_eq!(check_writer(manager, false, true), Err("validated evidence is changed by the CAF only"));
        assert!(check_writer(stranger, false, false).is_err());
    }

    #[test]
    fn a_correction_keeps_the_years_that_hold_evidence() {
        let new = BTreeMap::from([(2025, 10)]);
        assert_eq!(check_years_kept([2025], &new), Ok(()));
        let errors = check_years_kept([2025, 2026], &new).unwrap_err();
        assert_eq!((errors.len(), errors[0].code.as_str()), (1, "YEAR_HAS_EVIDENCE"));
        assert_eq!(errors[0].detail, "2026 holds evidence: delete it, or keep the year");
    }

    #[test]
    fn evidence_is_validated_after_it_is_received() {
        let day = |text: &str| text.parse::<NaiveDate>().unwrap();
        assert_eq!(check_dates(day("2026-03-01"), None), Ok(()));
        assert_eq!(check_dates(day("2026-03-01"), Some(day("2026-03-01"))), Ok(()));
        let errors = check_dates(day("2026-03-01"), Some(day("2026-02-28"))).unwrap_err();
        assert_eq!(errors[0].code, "VALIDATED_BEFORE_RECEIVED");
    }
}
