//! The rules a contract's content meets whenever it is written (created, changed or amended),
//! judged on facts the handler has loaded. Every broken rule is reported, so that one answer
//! lists all a client has to fix.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use super::contract::{ContractKind, RecordedStatus};

/// A broken rule, at the JSON pointer of the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub code: &'static str,
    pub detail: String,
}

fn problem(pointer: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Problem {
    Problem { pointer: pointer.into(), code, detail: detail.into() }
}

/// A reference a person chose: 1 to 64 letters, digits and a few separators, starting with a
/// letter or digit, so that it reads well in a file name or a URL.
pub fn check_reference(reference: &str) -> Option<Problem> {
    let valid = (1..=64).contains(&reference.len())
        && reference.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && reference.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rule = "1 to 64 letters, digits, '-', '_', '.' or '/', starting with a letter or digit";
    (!valid).then(|| problem("/reference", "INVALID_REFERENCE", rule))
}

/// A reference starts with its contract's kind and département (`CTG-074-`), as generated ones
/// do: references are unique within a département's prefix, so that whether one is taken says
/// nothing of another département's contracts.
pub fn check_reference_prefix(reference: &str, kind: ContractKind, department: &str) -> Option<Problem> {
    let prefix = format!("{}-{department:0>3}-", kind.as_str().to_uppercase());
    (!reference.starts_with(&prefix)).then(|| {
        problem(
            "/reference",
            "REFERENCE_OUTSIDE_DEPARTMENT",
            format!("a reference of this contract starts with {prefix}"),
        )
    })
}

/// `CTG-074-2024-`: kind, département on three characters, start year. Generated references
/// number on from it.
pub fn reference_prefix(kind: ContractKind, department: &str, start: NaiveDate) -> String {
    format!("{}-{department:0>3}-{}-", kind.as_str().to_uppercase(), start.year())
}

/// The values, each once, in the order sent.
pub fn each_once<T: Ord + Clone>(values: &[T]) -> Vec<T> {
    let mut seen = BTreeSet::new();
    values.iter().filter(|value| seen.insert(*value)).cloned().collect()
}

/// The title is not blank and the period does not end before it starts.
pub fn check_terms(title: &str, start: NaiveDate, end: NaiveDate) -> Vec<Problem> {
    let mut problems = Vec::new();
    if title.trim().is_empty() {
        problems.push(problem("/title", "REQUIRED", "must not be blank"));
    }
    if end < start {
        problems.push(problem("/end_date", "DATE_BEFORE_START", "must be on or after start_date"));
    }
    problems
}

/// The period keeps every year funding is committed for.
pub fn check_funded_years(start: NaiveDate, end: NaiveDate, funded: &BTreeSet<i64>) -> Vec<Problem> {
    let (first, last) = (i64::from(start.year()), i64::from(end.year()));
    let before = funded.iter().find(|year| **year < first).map(|year| ("/start_date", year));
    let after = funded.iter().rev().find(|year| **year > last).map(|year| ("/end_date", year));
    before
        .into_iter()
        .chain(after)
        .map(|(pointer, year)| problem(pointer, "FUNDING_OUTSIDE_PERIOD", format!("funding is committed for {year}")))
        .collect()
}

/// An EPCI named in a perimeter: its SIREN and, when it exists, the départements of its communes.
pub type EpciFacts = (String, Option<Vec<String>>);
/// A commune named in a perimeter: its INSEE code and, when it exists, its département.
pub type CommuneFacts = (String, Option<String>);

/// The perimeter's EPCI and communes exist, lie in the contract's département, and appear once.
pub fn check_perimeter(department: &str, epcis: &[EpciFacts], communes: &[CommuneFacts]) -> Vec<Problem> {
    let mut problems = repeated("/perimeter/epcis", epcis.iter().map(|(siren, _)| siren));
    problems.extend(repeated("/perimeter/communes", communes.iter().map(|(insee, _)| insee)));
    for (index, (siren, departments)) in epcis.iter().enumerate() {
        let pointer = format!("/perimeter/epcis/{index}");
        match departments {
            None => problems.push(problem(pointer, "UNKNOWN_EPCI", format!("no EPCI has SIREN {siren}"))),
            Some(departments) if !departments.iter().any(|of_epci| of_epci == department) => {
                let detail = format!("EPCI {siren} has no commune in département {department}");
                problems.push(problem(pointer, "OUTSIDE_DEPARTMENT", detail));
            }
            Some(_) => {}
        }
    }
    for (index, (insee, of_commune)) in communes.iter().enumerate() {
        let pointer = format!("/perimeter/communes/{index}");
        match of_commune {
            None => problems.push(problem(pointer, "UNKNOWN_COMMUNE", format!("no commune has INSEE code {insee}"))),
            Some(of_commune) if of_commune != department => {
                let detail = format!("commune {insee} lies in département {of_commune}");
                problems.push(problem(pointer, "OUTSIDE_DEPARTMENT", detail));
            }
            Some(_) => {}
        }
    }
    problems
}

/// The entries of the list at `pointer` that repeat an earlier one.
fn repeated<'a>(pointer: &str, values: impl Iterator<Item = &'a String>) -> Vec<Problem> {
    let mut seen = BTreeSet::new();
    values
        .enumerate()
        .filter(|(_, value)| !seen.insert(*value))
        .map(|(index, _)| problem(format!("{pointer}/{index}"), "DUPLICATE", "appears earlier in the list"))
        .collect()
}

/// A contract named as a predecessor, as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredecessorFacts {
    pub kind: ContractKind,
    pub department: String,
    pub status: RecordedStatus,
    /// For a CTG: the reference of another contract, not cancelled, that already succeeds it.
    pub succeeded_by: Option<String>,
}

/// Only a CTG replaces earlier contracts, and those are signed CEJs, or a signed CTG it renews, of
/// its département that the caller reaches (`None`: not found in the caller's scope), never the
/// contract itself.
pub fn check_predecessors(
    kind: ContractKind,
    department: &str,
    own_id: Option<&str>,
    named: &[(String, Option<PredecessorFacts>)],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if kind == ContractKind::Cej && !named.is_empty() {
        problems.push(problem(
            "/predecessor_ids",
            "PREDECESSORS_ONLY_FOR_CTG",
            "only a CTG replaces earlier contracts",
        ));
    }
    for (index, (id, found)) in named.iter().enumerate() {
        let pointer = format!("/predecessor_ids/{index}");
        match found {
            _ if own_id == Some(id.as_str()) => {
                problems.push(problem(pointer, "INVALID_PREDECESSOR", "a contract cannot replace itself"));
            }
            None => problems.push(problem(pointer, "UNKNOWN_CONTRACT", "no such contract in your scope")),
            Some(other) if other.department != department => {
                problems.push(problem(
                    pointer,
                    "INVALID_PREDECESSOR",
                    "a predecessor is a CEJ or a CTG of the same département",
                ));
            }
            Some(other) if !matches!(other.status, RecordedStatus::Signed | RecordedStatus::Superseded) => {
                let detail = format!("a predecessor is a signed contract; this one is {}", other.status);
                problems.push(problem(pointer, "INVALID_PREDECESSOR", detail));
            }
            Some(PredecessorFacts { kind: ContractKind::Ctg, succeeded_by: Some(successor), .. }) => {
                let detail = format!("{successor} already succeeds this CTG");
                problems.push(problem(pointer, "INVALID_PREDECESSOR", detail));
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn codes(problems: &[Problem]) -> Vec<(&str, &str)> {
        problems.iter().map(|p| (p.pointer.as_str(), p.code)).collect()
    }

    #[test]
    fn a_reference_is_short_plain_text() {
        assert_eq!(check_reference("CTG-074-2024-0001"), None);
        assert_eq!(check_reference("a/b.c_d"), None);
        for bad in ["", "-CTG", "CTG 1", "é", &"x".repeat(65)] {
            assert_eq!(check_reference(bad).map(|p| p.code), Some("INVALID_REFERENCE"), "{bad:?}");
        }
    }

    #[test]
    fn a_reference_carries_its_kind_and_departement() {
        assert_eq!(check_reference_prefix("CTG-074-2024-0001", ContractKind::Ctg, "74"), None);
        assert_eq!(check_reference_prefix("CEJ-02A-VALINCO", ContractKind::Cej, "2A"), None);
        for (reference, kind, department) in [
            ("CTG-033-2024-0001", ContractKind::Ctg, "74"),
            ("CEJ-074-1", ContractKind::Ctg, "74"),
            ("CEJ-2019-X", ContractKind::Cej, "74"),
        ] {
            let problem = check_reference_prefix(reference, kind, department).unwrap();
            assert_eq!((problem.pointer.as_str(), problem.code), ("/reference", "REFERENCE_OUTSIDE_DEPARTMENT"));
        }
    }

    #[test]
    fn a_generated_reference_starts_with_kind_department_and_year() {
        assert_eq!(reference_prefix(ContractKind::Ctg, "74", day("2024-03-01")), "CTG-074-2024-");
        assert_eq!(reference_prefix(ContractKind::Cej, "2A", day("2019-01-01")), "CEJ-02A-2019-");
    }

    #[test]
    fn each_value_is_kept_once_in_the_order_sent() {
        assert_eq!(each_once(&[3, 1, 3, 2, 1]), [3, 1, 2]);
    }

    #[test]
    fn terms_need_a_title_and_an_ordered_period() {
        assert!(check_terms("CTG", day("2024-01-01"), day("2024-01-01")).is_empty());
        let problems = check_terms("  ", day("2024-01-02"), day("2024-01-01"));
        assert_eq!(codes(&problems), [("/title", "REQUIRED"), ("/end_date", "DATE_BEFORE_START")]);
    }

    #[test]
    fn the_period_keeps_every_funded_year() {
        let funded = BTreeSet::from([2023, 2024, 2028, 2029]);
        let problems = check_funded_years(day("2024-01-01"), day("2027-12-31"), &funded);
        assert_eq!(
            codes(&problems),
            [("/start_date", "FUNDING_OUTSIDE_PERIOD"), ("/end_date", "FUNDING_OUTSIDE_PERIOD")]
        );
        assert_eq!(problems[0].detail, "funding is committed for 2023");
        assert_eq!(problems[1].detail, "funding is committed for 2029");
        assert!(check_funded_years(day("2023-01-01"), day("2029-12-31"), &funded).is_empty());
    }

    #[test]
    fn a_perimeter_names_known_places_of_the_department_once() {
        let epcis = [
            ("200000001".to_owned(), Some(vec!["74".to_owned(), "73".to_owned()])),
            ("200000002".to_owned(), None),
            ("200000003".to_owned(), Some(vec!["01".to_owned()])),
            ("200000001".to_owned(), Some(vec!["74".to_owned()])),
        ];
        let communes = [("74010".to_owned(), Some("74".to_owned())), ("01001".to_owned(), Some("01".to_owned()))];
        let unknown = [("99999".to_owned(), None)];
        assert_eq!(
            codes(&check_perimeter("74", &epcis, &communes)),
            [
                ("/perimeter/epcis/3", "DUPLICATE"),
                ("/perimeter/epcis/1", "UNKNOWN_EPCI"),
                ("/perimeter/epcis/2", "OUTSIDE_DEPARTMENT"),
                ("/perimeter/communes/1", "OUTSIDE_DEPARTMENT"),
            ]
        );
        assert_eq!(codes(&check_perimeter("74", &[], &unknown)), [("/perimeter/communes/0", "UNKNOWN_COMMUNE")]);
    }

    #[test]
    fn a_ctg_replaces_signed_cejs_of_its_department() {
        let cej = |department: &str, status| {
            Some(PredecessorFacts {
                kind: ContractKind::Cej,
                department: department.to_owned(),
                status,
                succeeded_by: None,
            })
        };
        let named = [
            ("a".to_owned(), cej("74", RecordedStatus::Signed)),
            ("b".to_owned(), cej("74", RecordedStatus::Superseded)),
            ("c".to_owned(), cej("73", RecordedStatus::Signed)),
            ("d".to_owned(), cej("74", RecordedStatus::Draft)),
            ("e".to_owned(), None),
            ("self".to_owned(), cej("74", RecordedStatus::Signed)),
        ];
        assert_eq!(
            codes(&check_predecessors(ContractKind::Ctg, "74", Some("self"), &named)),
            [
                ("/predecessor_ids/2", "INVALID_PREDECESSOR"),
                ("/predecessor_ids/3", "INVALID_PREDECESSOR"),
                ("/predecessor_ids/4", "UNKNOWN_CONTRACT"),
                ("/predecessor_ids/5", "INVALID_PREDECESSOR"),
            ]
        );
        // A CTG renews a signed CTG of its département.
        let ctg = PredecessorFacts {
            kind: ContractKind::Ctg,
            department: "74".to_owned(),
            status: RecordedStatus::Signed,
            succeeded_by: None,
        };
        assert!(check_predecessors(ContractKind::Ctg, "74", None, &[("f".to_owned(), Some(ctg.clone()))]).is_empty());
        // Once: a CTG another contract already succeeds is not renewed a second time.
        let renewed = PredecessorFacts { succeeded_by: Some("CTG-074-2029-0001".into()), ..ctg };
        assert_eq!(
            codes(&check_predecessors(ContractKind::Ctg, "74", None, &[("f".to_owned(), Some(renewed))])),
            [("/predecessor_ids/0", "INVALID_PREDECESSOR")]
        );
        let problems = check_predecessors(ContractKind::Cej, "74", None, &named[..1]);
        assert_eq!(codes(&problems), [("/predecessor_ids", "PREDECESSORS_ONLY_FOR_CTG")]);
        assert!(check_predecessors(ContractKind::Cej, "74", None, &[]).is_empty());
    }
}
