//! The project of territory around a contract: its shared diagnostic and its committees. Pure
//! rules over what the handler read; each lists every broken rule at once, with its pointer.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};

use super::codes::text_codes;
use super::contract::Field;
use crate::error::FieldError;

text_codes! {
    /// The kind of a committee of the contract.
    MeetingKind {
        /// Comité de pilotage: the signatories decide.
        Copil = "copil" => "Comité de pilotage",
        /// Comité technique: the teams prepare.
        Cotech = "cotech" => "Comité technique",
        /// A committee on one theme (a field, a public).
        Thematic = "thematic" => "Comité thématique",
    }
    /// A yearly review of a year of the contract, or its final evaluation.
    EvaluationKind {
        YearlyReview = "yearly_review" => "Bilan annuel",
        Final = "final" => "Évaluation finale",
    }
    /// How far an axis or an action reached what it aimed at.
    Assessment {
        Achieved = "achieved" => "Atteint",
        Partly = "partly" => "Partiellement atteint",
        NotAchieved = "not_achieved" => "Non atteint",
        Abandoned = "abandoned" => "Abandonné",
    }
}

/// The period of a contract, as its children's dates are judged against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// A diagnostic as its rules see it, with what the handler read about its references.
#[derive(Debug, Clone)]
pub struct DiagnosticFacts<'a> {
    pub started_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    pub period: Period,
    /// For each organisation of `led_by`, in the client's order: whether it is a party.
    pub leaders_are_parties: &'a [bool],
    pub led_by: &'a [uuid::Uuid],
    pub fields: &'a [Field],
    /// The field of each finding, in the client's order.
    pub finding_fields: &'a [Field],
    /// For each indicator code, in the client's order: whether the catalogue has it.
    pub indicators_known: &'a [bool],
    pub indicators: &'a [String],
}

/// Every broken rule of a diagnostic. It prepares the contract, so it may start and end before
/// the contract's period, never after it ends; it ends no earlier than it starts. Whoever led it
/// is a party of the contract, each once; each field is covered once; each finding is about a
/// covered field; each indicator is a catalogue code, named once.
pub fn check_diagnostic(facts: &DiagnosticFacts<'_>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if facts.started_on > facts.period.end {
        errors.push(FieldError::at_pointer(
            "/started_on",
            "AFTER_CONTRACT",
            "must be on or before the contract's end_date",
        ));
    }
    if let Some(completed_on) = facts.completed_on {
        if completed_on < facts.started_on {
            errors.push(FieldError::at_pointer("/completed_on", "DATE_BEFORE_START", "must be on or after started_on"));
        }
        if completed_on > facts.period.end {
            let detail = "must be on or before the contract's end_date";
            errors.push(FieldError::at_pointer("/completed_on", "AFTER_CONTRACT", detail));
        }
    }
    for (index, is_party) in facts.leaders_are_parties.iter().enumerate() {
        if !is_party {
            let detail = "must be an organisation that is a party of the contract";
            errors.push(FieldError::at_pointer(format!("/led_by/{index}"), "NOT_A_PARTY", detail));
        }
    }
    errors.extend(duplicates("/led_by", facts.led_by));
    errors.extend(duplicates("/fields", facts.fields));
    for (index, field) in facts.finding_fields.iter().enumerate() {
        if !facts.fields.contains(field) {
            let detail = "must be one of the fields the diagnostic covers";
            errors.push(FieldError::at_pointer(format!("/findings/{index}/field"), "FIELD_NOT_COVERED", detail));
        }
    }
    for (index, known) in facts.indicators_known.iter().enumerate() {
        if !known {
            let detail = "no indicator of the catalogue has this code";
            errors.push(FieldError::at_pointer(format!("/indicators/{index}"), "UNKNOWN_INDICATOR", detail));
        }
    }
    errors.extend(duplicates("/indicators", facts.indicators));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A meeting as its rules see it.
#[derive(Debug, Clone)]
pub struct MeetingFacts<'a> {
    pub held_on: NaiveDate,
    pub period: Period,
    /// For each organisation present, in the client's order: whether it is a party.
    pub present_are_parties: &'a [bool],
    pub present: &'a [uuid::Uuid],
}

/// Every broken rule of a meeting: it is held within the contract's period (the committees of a
/// contract steer it while it runs), and those present are parties of the contract, each once.
pub fn check_meeting(facts: &MeetingFacts<'_>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if facts.held_on < facts.period.start || facts.held_on > facts.period.end {
        let detail = format!("must be within the contract's period, {} to {}", facts.period.start, facts.period.end);
        errors.push(FieldError::at_pointer("/held_on", "OUTSIDE_CONTRACT_PERIOD", detail));
    }
    for (index, is_party) in facts.present_are_parties.iter().enumerate() {
        if !is_party {
            let detail = "must be an organisation that is a party of the contract";
            errors.push(FieldError::at_pointer(format!("/present/{index}"), "NOT_A_PARTY", detail));
        }
    }
    errors.extend(duplicates("/present", facts.present));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// An evaluation as its rules see it, with what the handler read about its references.
#[derive(Debug, Clone)]
pub struct EvaluationFacts<'a> {
    pub kind: EvaluationKind,
    pub year: Option<i64>,
    pub held_on: NaiveDate,
    pub period: Period,
    /// The axes assessed, in the client's order, each with whether the contract has it.
    pub axes: &'a [(uuid::Uuid, bool)],
    /// The actions assessed, in the client's order, each with whether the contract has it.
    pub actions: &'a [(uuid::Uuid, bool)],
}

/// Every broken rule of an evaluation. A yearly review names one of the contract's years; the
/// final evaluation names none. Either is held once the contract has started. The axes and
/// actions it assesses are the contract's, each assessed once.
pub fn check_evaluation(facts: &EvaluationFacts<'_>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let years = i64::from(facts.period.start.year())..=i64::from(facts.period.end.year());
    match (facts.kind, facts.year) {
        (EvaluationKind::YearlyReview, None) => {
            errors.push(FieldError::at_pointer("/year", "REQUIRED", "a yearly review names the year it reviews"));
        }
        (EvaluationKind::YearlyReview, Some(year)) if !years.contains(&year) => {
            let detail = format!("must be a year of the contract, {} to {}", years.start(), years.end());
            errors.push(FieldError::at_pointer("/year", "OUTSIDE_CONTRACT_PERIOD", detail));
        }
        (EvaluationKind::Final, Some(_)) => {
            errors.push(FieldError::at_pointer(
                "/year",
                "NOT_ALLOWED",
                "the final evaluation covers the whole contract",
            ));
        }
        _ => {}
    }
    if facts.held_on < facts.period.start {
        let detail = "must be on or after the contract's start_date";
        errors.push(FieldError::at_pointer("/held_on", "BEFORE_CONTRACT", detail));
    }
    errors.extend(references("/axes", "axis_id", "UNKNOWN_AXIS", "no axis of this contract has this id", facts.axes));
    errors.extend(references(
        "/actions",
        "action_id",
        "UNKNOWN_ACTION",
        "no action of this contract has this id",
        facts.actions,
    ));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// `code` at `{list}/{index}/{key}` for each id its contract does not have, `DUPLICATE` for
/// each that appears earlier.
fn references(list: &str, key: &str, code: &str, detail: &str, ids: &[(uuid::Uuid, bool)]) -> Vec<FieldError> {
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (index, (id, known)) in ids.iter().enumerate() {
        if !known {
            errors.push(FieldError::at_pointer(format!("{list}/{index}/{key}"), code, detail));
        }
        if !seen.insert(id) {
            let pointer = format!("{list}/{index}/{key}");
            errors.push(FieldError::at_pointer(pointer, "DUPLICATE", "appears earlier in the list"));
        }
    }
    errors
}

/// Whether an evaluation of `kind` for `year` may be recorded beside those the contract has
/// (`others`, each as kind and year, the one being changed left out): one final evaluation per
/// contract, one yearly review per year.
pub fn evaluation_is_free(kind: EvaluationKind, year: Option<i64>, others: &[(EvaluationKind, Option<i64>)]) -> bool {
    !others
        .iter()
        .any(|&(other_kind, other_year)| other_kind == kind && (kind == EvaluationKind::Final || other_year == year))
}

/// Every broken rule of a party's commitment: it is made by a party of the contract, about one
/// of the contract's fields when it names one.
pub fn check_party_commitment(
    party_known: bool,
    field: Option<Field>,
    contract_fields: &[Field],
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !party_known {
        errors.push(FieldError::at_pointer("/party_id", "UNKNOWN_PARTY", "no party of this contract has this id"));
    }
    if field.is_some_and(|field| !contract_fields.contains(&field)) {
        errors.push(FieldError::at_pointer("/field", "FIELD_NOT_IN_CONTRACT", "must be one of the contract's fields"));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// `DUPLICATE` at `{list}/{index}` for each item that appears earlier in the list.
fn duplicates<T: Eq + std::hash::Hash>(list: &str, items: &[T]) -> Vec<FieldError> {
    let mut seen = HashSet::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| !seen.insert(*item))
        .map(|(index, _)| FieldError::at_pointer(format!("{list}/{index}"), "DUPLICATE", "appears earlier in the list"))
        .collect()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn period() -> Period {
        Period { start: day("2024-01-01"), end: day("2028-12-31") }
    }

    fn pointers(errors: &[FieldError]) -> Vec<(String, String)> {
        errors.iter().map(|error| (error.pointer.clone().unwrap_or_default(), error.code.clone())).collect()
    }

    fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(pointer, code)| ((*pointer).to_owned(), (*code).to_owned())).collect()
    }

    #[test]
    fn a_diagnostic_made_before_the_contract_passes() {
        let leader = Uuid::new_v4();
        let facts = DiagnosticFacts {
            started_on: day("2023-03-01"),
            completed_on: Some(day("2023-09-30")),
            period: period(),
            leaders_are_parties: &[true],
            led_by: &[leader],
            fields: &[Field::PetiteEnfance, Field::Jeunesse],
            finding_fields: &[Field::Jeunesse],
            indicators_known: &[true],
            indicators: &["taux_couverture_eaje_epci".to_owned()],
        };
        assert_eq!(check_diagnostic(&facts).map_err(|errors| pointers(&errors)), Ok(()));
    }

    #[test]
    fn every_broken_rule_of_a_diagnostic_is_listed() {
        let leader = Uuid::new_v4();
        let code = "taux".to_owned();
        let facts = DiagnosticFacts {
            started_on: day("2029-02-01"),
            completed_on: Some(day("2029-01-01")),
            period: period(),
            leaders_are_parties: &[true, false],
            led_by: &[leader, leader],
            fields: &[Field::Jeunesse, Field::Jeunesse],
            finding_fields: &[Field::Jeunesse, Field::Logement],
            indicators_known: &[false, false],
            indicators: &[code.clone(), code],
        };
        let errors = check_diagnostic(&facts).expect_err("refused");
        assert_eq!(
            pointers(&errors),
            expected(&[
                ("/started_on", "AFTER_CONTRACT"),
                ("/completed_on", "DATE_BEFORE_START"),
                ("/completed_on", "AFTER_CONTRACT"),
                ("/led_by/1", "NOT_A_PARTY"),
                ("/led_by/1", "DUPLICATE"),
                ("/fields/1", "DUPLICATE"),
                ("/findings/1/field", "FIELD_NOT_COVERED"),
                ("/indicators/0", "UNKNOWN_INDICATOR"),
                ("/indicators/1", "UNKNOWN_INDICATOR"),
                ("/indicators/1", "DUPLICATE"),
            ])
        );
    }

    #[test]
    fn an_evaluation_names_its_year_and_assesses_its_contracts_axes_and_actions() {
        let (axis, action) = (Uuid::new_v4(), Uuid::new_v4());
        let review = EvaluationFacts {
            kind: EvaluationKind::YearlyReview,
            year: Some(2025),
            held_on: day("2026-02-01"),
            period: period(),
            axes: &[(axis, true)],
            actions: &[(action, true)],
        };
        assert!(check_evaluation(&review).is_ok());
        // The final evaluation may be held after the contract ends.
        let last =
            EvaluationFacts { kind: EvaluationKind::Final, year: None, held_on: day("2029-03-01"), ..review.clone() };
        assert!(check_evaluation(&last).is_ok());
        let broken = EvaluationFacts {
            year: Some(2030),
            held_on: day("2023-12-31"),
            axes: &[(axis, true), (Uuid::new_v4(), false), (axis, true)],
            actions: &[(action, false)],
            ..review.clone()
        };
        assert_eq!(
            pointers(&check_evaluation(&broken).expect_err("refused")),
            expected(&[
                ("/year", "OUTSIDE_CONTRACT_PERIOD"),
                ("/held_on", "BEFORE_CONTRACT"),
                ("/axes/1/axis_id", "UNKNOWN_AXIS"),
                ("/axes/2/axis_id", "DUPLICATE"),
                ("/actions/0/action_id", "UNKNOWN_ACTION"),
            ])
        );
        let no_year = EvaluationFacts { year: None, ..review.clone() };
        assert_eq!(pointers(&check_evaluation(&no_year).expect_err("refused")), expected(&[("/year", "REQUIRED")]));
        let final_with_year = EvaluationFacts { kind: EvaluationKind::Final, ..review };
        assert_eq!(
            pointers(&check_evaluation(&final_with_year).expect_err("refused")),
            expected(&[("/year", "NOT_ALLOWED")])
        );
    }

    #[test]
    fn a_contract_has_one_final_evaluation_and_one_review_a_year() {
        let others = [(EvaluationKind::YearlyReview, Some(2024)), (EvaluationKind::Final, None)];
        assert!(evaluation_is_free(EvaluationKind::YearlyReview, Some(2025), &others));
        assert!(!evaluation_is_free(EvaluationKind::YearlyReview, Some(2024), &others));
        assert!(!evaluation_is_free(EvaluationKind::Final, None, &others));
        assert!(evaluation_is_free(EvaluationKind::Final, None, &others[..1]));
    }

    #[test]
    fn a_party_commits_on_the_contracts_fields() {
        let fields = [Field::PetiteEnfance, Field::Jeunesse];
        assert!(check_party_commitment(true, None, &fields).is_ok());
        assert!(check_party_commitment(true, Some(Field::Jeunesse), &fields).is_ok());
        assert_eq!(
            pointers(&check_party_commitment(false, Some(Field::Logement), &fields).expect_err("refused")),
            expected(&[("/party_id", "UNKNOWN_PARTY"), ("/field", "FIELD_NOT_IN_CONTRACT")])
        );
    }

    #[test]
    fn a_meeting_is_held_within_the_period_among_parties() {
        let party = Uuid::new_v4();
        let inside = MeetingFacts {
            held_on: day("2024-01-01"),
            period: period(),
            present_are_parties: &[true],
            present: &[party],
        };
        assert!(check_meeting(&inside).is_ok());
        assert!(check_meeting(&MeetingFacts { held_on: day("2028-12-31"), ..inside.clone() }).is_ok());
        let outside = MeetingFacts {
            held_on: day("2023-12-31"),
            period: period(),
            present_are_parties: &[true, false, true],
            present: &[party, Uuid::new_v4(), party],
        };
        assert_eq!(
            pointers(&check_meeting(&outside).expect_err("refused")),
            expected(&[
                ("/held_on", "OUTSIDE_CONTRACT_PERIOD"),
                ("/present/1", "NOT_A_PARTY"),
                ("/present/2", "DUPLICATE"),
            ])
        );
        assert!(check_meeting(&MeetingFacts { held_on: day("2029-01-01"), ..inside }).is_err());
    }
}
