//! The rules a directory entry (an organisation, an equipment) meets whenever it is written,
//! judged on facts the handler has loaded from the directory and the territory reference. Every
//! broken rule is reported, so that one answer lists all a client has to fix.

use chrono::NaiveDate;

use super::draft::Problem;
use super::identifiers::{check_siren, check_siret};
use super::organisation::OrganisationKind;

fn problem(pointer: &str, code: &'static str, detail: impl Into<String>) -> Problem {
    Problem { pointer: pointer.to_owned(), code, detail: detail.into() }
}

/// An organisation as a creation asks for it, or as a change leaves it (the current entry with the
/// patch applied); once resolved, as it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationDraft {
    pub kind: OrganisationKind,
    /// Blank in a draft: taken from the reference.
    pub name: String,
    pub siren: Option<String>,
    pub department: Option<String>,
    pub insee_code: Option<String>,
}

impl OrganisationDraft {
    /// The SIREN to look up in the territory reference: any well-formed one. A commune's or an
    /// EPCI's must be listed; any other kind's must not be, since a commune or an EPCI is
    /// registered as what it is.
    pub fn siren_to_list(&self) -> Option<&str> {
        self.siren.as_deref().filter(|siren| check_siren(siren).is_ok())
    }
}

/// What the territory reference lists under a SIREN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    Commune {
        name: String,
        insee: String,
        department: String,
    },
    /// With the départements its member communes lie in.
    Epci {
        name: String,
        departments: Vec<String>,
    },
}

/// What the handler loads for an [`OrganisationDraft`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganisationFacts {
    /// The entry for [`OrganisationDraft::siren_to_list`]; `None` when not listed.
    pub listed: Option<Listed>,
    /// The département of the commune with the draft's INSEE code; `None` when no commune has it.
    pub commune_department: Option<String>,
    /// Whether the département the draft names exists (`true` when it names none: one taken
    /// from the reference exists).
    pub department_known: bool,
}

/// Judges a draft: a SIREN for every kind but `other`, well-formed, and listed for a commune or
/// an EPCI, whose listing gives the name, the INSEE code and the département; the INSEE code and
/// the département exist and agree (the département defaults from the commune); a CAF serves one
/// département; and a name.
pub fn resolve_organisation(
    draft: OrganisationDraft,
    facts: OrganisationFacts,
) -> Result<OrganisationDraft, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut draft = OrganisationDraft { name: draft.name.trim().to_owned(), ..draft };
    // A listed commune's INSEE code replaces the one sent, so its département is the one to agree with.
    let commune_department = match &facts.listed {
        Some(Listed::Commune { department, .. }) if draft.kind == OrganisationKind::Commune => Some(department.clone()),
        _ => facts.commune_department,
    };
    match &draft.siren {
        None if draft.kind.requires_siren() => {
            problems.push(problem("/siren", "REQUIRED", "every kind but other needs a SIREN"));
        }
        None => {}
        Some(siren) => match check_siren(siren) {
            Err(error) => {
                problems.push(problem("/siren", error.siren_code(), "must be 9 digits with a valid Luhn check digit"));
            }
            Ok(()) => problems.extend(fill_from_listing(&mut draft, facts.listed)),
        },
    }
    problems.extend(check_place(&mut draft, commune_department, facts.department_known));
    if draft.name.is_empty() && problems.iter().all(|problem| problem.pointer != "/siren") {
        problems.push(problem("/name", "REQUIRED", "a name is required"));
    }
    if problems.is_empty() { Ok(draft) } else { Err(problems) }
}

/// A commune's or an EPCI's SIREN must be listed, which gives its name, INSEE code and
/// département.
fn fill_from_listing(draft: &mut OrganisationDraft, listed: Option<Listed>) -> Vec<Problem> {
    let mut problems = Vec::new();
    match (draft.kind, listed) {
        (OrganisationKind::Commune, None) => {
            problems.push(problem("/siren", "SIREN_NOT_IN_REFERENCE", "no current commune has this SIREN"));
        }
        (OrganisationKind::Epci, None) => {
            problems.push(problem("/siren", "SIREN_NOT_IN_REFERENCE", "no EPCI has this SIREN"));
        }
        (OrganisationKind::Commune, Some(Listed::Commune { name, insee, .. })) => {
            if draft.name.is_empty() {
                draft.name = name;
            }
            if draft.insee_code.as_ref().is_some_and(|code| *code != insee) {
                let detail = format!("the commune with this SIREN is {insee}");
                problems.push(problem("/insee_code", "INSEE_CODE_MISMATCH", detail));
            }
            draft.insee_code = Some(insee);
        }
        // Registered under another kind, a commune or an EPCI would keep its real owner from
        // registering it and from signing anything.
        (kind, Some(Listed::Commune { name, insee, .. })) if kind != OrganisationKind::Commune => {
            let detail = format!("this SIREN is the commune {name} ({insee}): register it as kind commune");
            problems.push(problem("/kind", "SIREN_OF_A_COMMUNE", detail));
        }
        (kind, Some(Listed::Epci { name, .. })) if kind != OrganisationKind::Epci => {
            let detail = format!("this SIREN is the EPCI {name}: register it as kind epci");
            problems.push(problem("/kind", "SIREN_OF_AN_EPCI", detail));
        }
        (OrganisationKind::Epci, Some(Listed::Epci { name, departments })) => {
            if draft.name.is_empty() {
                draft.name = name;
            }
            match (&draft.department, departments.as_slice()) {
                (None, [only]) => draft.department = Some(only.clone()),
                (None, _) => {
                    let detail = format!("this EPCI spans {}: name one", departments.join(", "));
                    problems.push(problem("/department", "REQUIRED", detail));
                }
                (Some(given), _) if !departments.contains(given) => {
                    let detail = format!("this EPCI lies in {}", departments.join(", "));
                    problems.push(problem("/department", "OUTSIDE_EPCI", detail));
                }
                (Some(_), _) => {}
            }
        }
        _ => {}
    }
    problems
}

/// The INSEE code and the département exist and agree; the département defaults from the commune.
/// A département taken from the reference exists; `department_known` says whether one given does.
fn check_place(
    draft: &mut OrganisationDraft,
    commune_department: Option<String>,
    department_known: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(code) = &draft.insee_code {
        match commune_department {
            None => problems.push(problem("/insee_code", "UNKNOWN_COMMUNE", "no commune has this INSEE code")),
            Some(of_commune) => match &draft.department {
                None => draft.department = Some(of_commune),
                Some(given) if *given != of_commune => {
                    let detail = format!("commune {code} lies in {of_commune}");
                    problems.push(problem("/department", "DEPARTMENT_MISMATCH", detail));
                }
                Some(_) => {}
            },
        }
    }
    match &draft.department {
        Some(_) if !department_known => {
            problems.push(problem("/department", "UNKNOWN_DEPARTMENT", "no département has this code"));
        }
        None if draft.kind == OrganisationKind::Caf => {
            problems.push(problem("/department", "REQUIRED", "a CAF serves one département"));
        }
        _ => {}
    }
    problems
}

/// What the handler loads for an equipment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EquipmentFacts {
    /// Whether an organisation has the manager's id, and its SIREN if it has one.
    pub manager_found: bool,
    pub manager_siren: Option<String>,
    /// The département of the equipment's commune; `None` when no commune has its INSEE code.
    pub commune_department: Option<String>,
}

/// Judges an equipment: its manager exists; a SIRET is well-formed and one of the manager's
/// establishments; its commune exists; it does not close before it opens. Returns its
/// département, the commune's.
pub fn locate_equipment(
    siret: Option<&str>,
    opened_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    facts: EquipmentFacts,
) -> Result<String, Vec<Problem>> {
    let mut problems = Vec::new();
    if !facts.manager_found {
        problems.push(problem("/manager_id", "UNKNOWN_ORGANISATION", "no organisation has this id"));
    }
    if let Some(siret) = siret {
        match check_siret(siret) {
            Err(error) => {
                problems.push(problem("/siret", error.siret_code(), "must be 14 digits with a valid check digit"));
            }
            Ok(()) => {
                if let Some(siren) = facts.manager_siren.filter(|siren| !siret.starts_with(siren.as_str())) {
                    let detail = format!("an establishment of the manager starts with its SIREN {siren}");
                    problems.push(problem("/siret", "SIRET_NOT_OF_MANAGER", detail));
                }
            }
        }
    }
    if facts.commune_department.is_none() {
        problems.push(problem("/commune", "UNKNOWN_COMMUNE", "no commune has this INSEE code"));
    }
    if let (Some(opened), Some(closed)) = (opened_on, closed_on)
        && closed < opened
    {
        problems.push(problem("/closed_on", "DATE_BEFORE_START", "must be on or after opened_on"));
    }
    match facts.commune_department {
        Some(department) if problems.is_empty() => Ok(department),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(problems: &[Problem]) -> Vec<(&str, &str)> {
        problems.iter().map(|p| (p.pointer.as_str(), p.code)).collect()
    }

    fn draft(kind: OrganisationKind, siren: Option<&str>) -> OrganisationDraft {
        OrganisationDraft {
            kind,
            name: String::new(),
            siren: siren.map(str::to_owned),
            department: None,
            insee_code: None,
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn every_well_formed_siren_is_looked_up() {
        assert_eq!(draft(OrganisationKind::Epci, Some("200000172")).siren_to_list(), Some("200000172"));
        assert_eq!(draft(OrganisationKind::Epci, Some("200000173")).siren_to_list(), None);
        assert_eq!(draft(OrganisationKind::Association, Some("200000172")).siren_to_list(), Some("200000172"));
    }

    #[test]
    fn a_commune_or_an_epci_is_registered_as_what_it_is() {
        let commune = Listed::Commune { name: "Bonneville".into(), insee: "74042".into(), department: "74".into() };
        let epci = Listed::Epci { name: "CC Faucigny - Glières".into(), departments: strings(&["74"]) };
        for (kind, listed, code) in [
            (OrganisationKind::Association, commune.clone(), "SIREN_OF_A_COMMUNE"),
            (OrganisationKind::Epci, commune, "SIREN_OF_A_COMMUNE"),
            (OrganisationKind::Association, epci.clone(), "SIREN_OF_AN_EPCI"),
            (OrganisationKind::Commune, epci, "SIREN_OF_AN_EPCI"),
        ] {
            let facts = OrganisationFacts { listed: Some(listed), department_known: true, ..Default::default() };
            let mut named = draft(kind, Some("217400423"));
            named.name = "Une association".into();
            named.department = Some("33".into());
            let problems = resolve_organisation(named, facts).unwrap_err();
            assert_eq!(problems.iter().map(|p| (p.pointer.as_str(), p.code)).collect::<Vec<_>>(), [("/kind", code)]);
        }
    }

    #[test]
    fn a_commune_takes_its_name_code_and_department_from_the_reference() {
        let listed = Listed::Commune { name: "Bonneville".into(), insee: "74042".into(), department: "74".into() };
        let facts = OrganisationFacts { listed: Some(listed), department_known: true, ..Default::default() };
        let resolved = resolve_organisation(draft(OrganisationKind::Commune, Some("217400423")), facts).unwrap();
        assert_eq!(resolved.name, "Bonneville");
        assert_eq!(resolved.insee_code.as_deref(), Some("74042"));
        assert_eq!(resolved.department.as_deref(), Some("74"));
    }

    #[test]
    fn a_commune_names_its_own_insee_code_and_department() {
        let listed = Listed::Commune { name: "Bonneville".into(), insee: "74042".into(), department: "74".into() };
        let mut commune = draft(OrganisationKind::Commune, Some("217400423"));
        commune.insee_code = Some("73001".into());
        commune.department = Some("73".into());
        let facts =
            OrganisationFacts { listed: Some(listed), commune_department: Some("73".into()), department_known: true };
        let problems = resolve_organisation(commune, facts).unwrap_err();
        assert_eq!(codes(&problems), [("/insee_code", "INSEE_CODE_MISMATCH"), ("/department", "DEPARTMENT_MISMATCH")]);
        assert_eq!(problems[1].detail, "commune 74042 lies in 74");
    }

    #[test]
    fn an_epci_across_departments_names_one_of_them() {
        let listed = || Some(Listed::Epci { name: "CC".into(), departments: strings(&["73", "74"]) });
        let epci = draft(OrganisationKind::Epci, Some("200000172"));
        let problems = resolve_organisation(epci.clone(), OrganisationFacts { listed: listed(), ..Default::default() });
        assert_eq!(codes(&problems.unwrap_err()), [("/department", "REQUIRED")]);
        let elsewhere = OrganisationDraft { department: Some("01".into()), ..epci.clone() };
        let facts = OrganisationFacts { listed: listed(), department_known: true, ..Default::default() };
        assert_eq!(codes(&resolve_organisation(elsewhere, facts).unwrap_err()), [("/department", "OUTSIDE_EPCI")]);
        let within = OrganisationDraft { department: Some("74".into()), ..epci };
        let facts = OrganisationFacts { listed: listed(), department_known: true, ..Default::default() };
        assert_eq!(resolve_organisation(within, facts).unwrap().name, "CC");
    }

    #[test]
    fn a_siren_is_required_well_formed_and_listed() {
        let unnamed = resolve_organisation(draft(OrganisationKind::Caf, None), OrganisationFacts::default());
        assert_eq!(codes(&unnamed.unwrap_err()), [("/siren", "REQUIRED"), ("/department", "REQUIRED")]);
        let bad = resolve_organisation(draft(OrganisationKind::Other, Some("200000173")), OrganisationFacts::default());
        assert_eq!(codes(&bad.unwrap_err()), [("/siren", "INVALID_SIREN_CHECKSUM")]);
        let unlisted =
            resolve_organisation(draft(OrganisationKind::Epci, Some("200000172")), OrganisationFacts::default());
        assert_eq!(codes(&unlisted.unwrap_err()), [("/siren", "SIREN_NOT_IN_REFERENCE")]);
        let nameless = resolve_organisation(draft(OrganisationKind::Other, None), OrganisationFacts::default());
        assert_eq!(codes(&nameless.unwrap_err()), [("/name", "REQUIRED")]);
    }

    #[test]
    fn a_place_named_exists() {
        let mut other = draft(OrganisationKind::Other, None);
        other.name = "  Club  ".into();
        other.insee_code = Some("99999".into());
        other.department = Some("99".into());
        let problems = resolve_organisation(other.clone(), OrganisationFacts::default()).unwrap_err();
        assert_eq!(codes(&problems), [("/insee_code", "UNKNOWN_COMMUNE"), ("/department", "UNKNOWN_DEPARTMENT")]);
        other.insee_code = None;
        let facts = OrganisationFacts { department_known: true, ..Default::default() };
        assert_eq!(resolve_organisation(other, facts).unwrap().name, "Club");
    }

    #[test]
    fn an_equipment_lies_in_its_commune_and_belongs_to_its_manager() {
        let facts = || EquipmentFacts {
            manager_found: true,
            manager_siren: Some("200000172".into()),
            commune_department: Some("74".into()),
        };
        let day = |text: &str| text.parse::<NaiveDate>().ok();
        assert_eq!(locate_equipment(Some("20000017200003"), None, None, facts()), Ok("74".into()));
        let foreign = locate_equipment(Some("35600000000015"), day("2024-02-01"), day("2024-01-01"), facts());
        assert_eq!(
            codes(&foreign.unwrap_err()),
            [("/siret", "SIRET_NOT_OF_MANAGER"), ("/closed_on", "DATE_BEFORE_START")]
        );
        let nothing = locate_equipment(Some("1"), None, None, EquipmentFacts::default());
        assert_eq!(
            codes(&nothing.unwrap_err()),
            [
                ("/manager_id", "UNKNOWN_ORGANISATION"),
                ("/siret", "INVALID_SIRET_FORMAT"),
                ("/commune", "UNKNOWN_COMMUNE")
            ]
        );
    }
}
