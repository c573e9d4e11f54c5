//! What a signed contract keeps through an amendment: a CTG its minimum fields, every contract a
//! perimeter; and the amendment takes effect inside the (new) period.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::contract::{ContractKind, Field};
use super::lifecycle::CTG_REQUIRED_FIELDS;
use crate::problem_detail::FieldError;

/// A signed contract with an amendment's changes applied, as the rules see it.
#[derive(Debug, Clone)]
pub struct AmendedFacts<'a> {
    pub kind: ContractKind,
    /// The fields the amendment sets; `None` when it leaves them as they were.
    pub new_fields: Option<&'a BTreeSet<Field>>,
    /// How many EPCI and communes the perimeter the amendment sets names; `None` when it leaves
    /// the perimeter as it was.
    pub new_perimeter_size: Option<usize>,
    pub start_date: NaiveDate,
    /// The end of the period, amended or not.
    pub end_date: NaiveDate,
    pub effective_on: NaiveDate,
}

/// Every rule the amendment breaks, pointed at the amendment body. What it leaves unchanged was
/// already checked when the contract was signed.
pub fn check_amendment(facts: &AmendedFacts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if facts.kind == ContractKind::Ctg
        && let Some(fields) = facts.new_fields
    {
        if !CTG_REQUIRED_FIELDS.iter().all(|field| fields.contains(field)) {
            let detail = "a CTG keeps petite_enfance, jeunesse and parentalite";
            errors.push(FieldError::at_pointer("/changes/fields", "MISSING_REQUIRED_FIELD", detail));
        }
        if fields.iter().all(|field| CTG_REQUIRED_FIELDS.contains(field)) {
            let detail = "a CTG keeps at least one field beyond petite_enfance, jeunesse and parentalite";
            errors.push(FieldError::at_pointer("/changes/fields", "MISSING_ADDITIONAL_FIELD", detail));
        }
    }
    if facts.new_perimeter_size == Some(0) {
        errors.push(FieldError::at_pointer(
            "/changes/perimeter",
            "EMPTY_PERIMETER",
            "a signed contract keeps a perimeter",
        ));
    }
    if !(facts.start_date..=facts.end_date).contains(&facts.effective_on) {
        errors.push(FieldError::at_pointer("/effective_on", "OUTSIDE_PERIOD", "must fall inside the contract period"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors.iter().map(|error| (error.pointer.as_deref().unwrap_or_default(), error.code.as_str())).collect()
    }

    fn facts(new_fields: Option<&BTreeSet<Field>>) -> AmendedFacts<'_> {
        AmendedFacts {
            kind: ContractKind::Ctg,
            new_fields,
            new_perimeter_size: None,
            start_date: date("2024-01-01"),
            end_date: date("2027-12-31"),
            effective_on: date("2025-06-01"),
        }
    }

    #[test]
    fn an_amendment_that_changes_nothing_it_checks_passes() {
        assert!(check_amendment(&facts(None)).is_empty());
    }

    #[test]
    fn a_ctg_keeps_its_minimum_fields() {
        let only_required: BTreeSet<Field> = CTG_REQUIRED_FIELDS.into();
        assert_eq!(
            codes(&check_amendment(&facts(Some(&only_required)))),
            [("/changes/fields", "MISSING_ADDITIONAL_FIELD")]
        );
        let none = BTreeSet::new();
        let expected = [("/changes/fields", "MISSING_REQUIRED_FIELD"), ("/changes/fields", "MISSING_ADDITIONAL_FIELD")];
        assert_eq!(codes(&check_amendment(&facts(Some(&none)))), expected);
        let other_kind = AmendedFacts { kind: ContractKind::Cej, ..facts(Some(&none)) };
        assert!(check_amendment(&other_kind).is_empty());
    }

    #[test]
    fn every_broken_rule_is_named_at_once() {
        let amended = AmendedFacts { new_perimeter_size: Some(0), effective_on: date("2028-01-01"), ..facts(None) };
        let expected = [("/changes/perimeter", "EMPTY_PERIMETER"), ("/effective_on", "OUTSIDE_PERIOD")];
        assert_eq!(codes(&check_amendment(&amended)), expected);
        let before_start = AmendedFacts { effective_on: date("2023-12-31"), ..facts(None) };
        assert_eq!(codes(&check_amendment(&before_start)), [("/effective_on", "OUTSIDE_PERIOD")]);
    }
}
