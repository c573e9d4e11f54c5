//! What a signed contract keeps through an amendment: a CTG its minimum fields, every contract a
//! perimeter, the CAF and a collectivity of its perimeter among its signatories; a collectivity
//! joining the perimeter signs; and the amendment takes effect inside the (new) period. Then who
//! signs an amendment: every signatory of the contract as amended, a collectivity with its
//! council's délibération and the CAF with two names.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::codes::text_codes;
use super::contract::{ContractKind, Field};
use super::lifecycle::CTG_REQUIRED_FIELDS;
use super::organisation::OrganisationKind;
use crate::problem_detail::FieldError;

text_codes! {
    /// Where an amendment stands.
    AmendmentStatus {
        /// Gathering the signatures of the signatories it concerns; the contract is unchanged.
        Draft = "draft" => "En cours de signature",
        /// Signed by all of them and applied to the contract.
        Signed = "signed" => "Signé",
    }
}

/// One signatory's signature of an amendment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signature {
    pub organisation_id: Uuid,
    pub signed_on: NaiveDate,
    /// Who signs (for a CAF: its président).
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    /// The second name a CAF signs with: its directeur.
    pub second_signatory_name: Option<String>,
    pub second_signatory_title: Option<String>,
    /// The council's délibération authorising a collectivity to sign.
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
}

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

/// A party of the contract, or an organisation an amendment adds, as the party rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub organisation_id: Uuid,
    pub kind: OrganisationKind,
    /// Whether it signs the contract (as amended, for an added party).
    pub signs: bool,
    /// A collectivity of the amended perimeter: its EPCI, one of its communes, the EPCI of one
    /// of its communes, or a syndicat.
    pub of_perimeter: bool,
    /// For a commune, its INSEE code; for an EPCI, its SIREN: what a perimeter names it by.
    pub perimeter_code: Option<String>,
}

/// A commune or EPCI the amendment brings into the perimeter, with where the body names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joining {
    pub pointer: String,
    pub kind: OrganisationKind,
    pub code: String,
}

/// What an amendment does to who is party to the contract, as the rules see it.
#[derive(Debug, Clone)]
pub struct PartyChangeFacts<'a> {
    pub contract_kind: ContractKind,
    /// The parties now, placed against the amended perimeter.
    pub parties: &'a [Member],
    /// Each organisation of `add_parties`, in the body's order; `None` when no organisation has
    /// the id.
    pub added: &'a [Option<Member>],
    /// Each organisation of `remove_parties`, in the body's order.
    pub removed: &'a [Uuid],
    /// For each organisation of `remove_parties`: what keeps it in the contract, if anything.
    pub kept_by: &'a [Option<String>],
    /// The communes and EPCI the amended perimeter names that the current one does not.
    pub joining: &'a [Joining],
}

/// The signatories of the contract once the amendment applies: the parties that sign and stay,
/// then the added ones that sign.
pub fn signatories_after(parties: &[Member], added: &[Member], removed: &[Uuid]) -> Vec<Member> {
    parties
        .iter()
        .filter(|party| party.signs && !removed.contains(&party.organisation_id))
        .chain(added.iter().filter(|member| member.signs))
        .cloned()
        .collect()
}

/// Every rule the party changes break, pointed at the amendment body.
pub fn check_party_changes(facts: &PartyChangeFacts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let is_party = |id: &Uuid| facts.parties.iter().any(|party| party.organisation_id == *id);
    let mut seen = BTreeSet::new();
    for (index, member) in facts.added.iter().enumerate() {
        let pointer = format!("/changes/add_parties/{index}/organisation_id");
        let Some(member) = member else {
            errors.push(FieldError::at_pointer(pointer, "UNKNOWN_ORGANISATION", "no organisation has this id"));
            continue;
        };
        if is_party(&member.organisation_id) {
            let detail = "this organisation is already a party of the contract";
            errors.push(FieldError::at_pointer(pointer, "ALREADY_A_PARTY", detail));
        } else if facts.removed.contains(&member.organisation_id) || !seen.insert(member.organisation_id) {
            let detail = "an organisation is added once, and not removed by the same amendment";
            errors.push(FieldError::at_pointer(pointer, "DUPLICATE", detail));
        }
    }
    let mut seen = BTreeSet::new();
    for (index, id) in facts.removed.iter().enumerate() {
        let pointer = format!("/changes/remove_parties/{index}");
        let Some(party) = facts.parties.iter().find(|party| party.organisation_id == *id) else {
            errors.push(FieldError::at_pointer(
                pointer,
                "NOT_A_PARTY",
                "this organisation is not a party of the contract",
            ));
            continue;
        };
        if let Some(Some(reason)) = facts.kept_by.get(index) {
            errors.push(FieldError::at_pointer(&pointer, "PARTY_STILL_NEEDED", reason.clone()));
        }
        if !seen.insert(*id) {
            errors.push(FieldError::at_pointer(&pointer, "DUPLICATE", "an organisation is removed once"));
        }
        if party.kind == OrganisationKind::Caf && party.signs {
            errors.push(FieldError::at_pointer(pointer, "CAF_STAYS", "the CAF signs every contract: it cannot leave"));
        }
    }
    let added: Vec<Member> = facts.added.iter().flatten().cloned().collect();
    let signatories = signatories_after(facts.parties, &added, facts.removed);
    let collectivity_signs = match facts.contract_kind {
        ContractKind::Ctg => signatories.iter().any(|member| member.kind.is_collectivity() && member.of_perimeter),
        ContractKind::Cej => signatories.iter().any(|member| member.kind.is_collectivity()),
    };
    if !collectivity_signs {
        let detail =
            "the contract keeps at least one signatory collectivity of its perimeter (its EPCI or one of its communes)";
        let pointer = if facts.removed.is_empty() { "/changes/perimeter" } else { "/changes/remove_parties" };
        errors.push(FieldError::at_pointer(pointer, "LAST_COLLECTIVITY_SIGNATORY", detail));
    }
    for joining in facts.joining {
        let signs = signatories.iter().any(|member| {
            member.kind == joining.kind && member.perimeter_code.as_deref() == Some(joining.code.as_str())
        });
        if !signs {
            let detail = format!(
                "{} {} joins the perimeter: it signs the amendment, so add it as a signatory party (add_parties)",
                joining.kind, joining.code
            );
            errors.push(FieldError::at_pointer(&joining.pointer, "JOINING_COLLECTIVITY_MUST_SIGN", detail));
        }
    }
    errors
}

/// A commitment the financial annex of an amendment names, as found in the contract.
#[derive(Debug, Clone)]
pub struct AnnexFacts {
    pub commitment_id: Uuid,
    /// `None` when the contract has no such commitment; `Some(closed)` otherwise.
    pub closed: Option<bool>,
    /// The years the amendment sets for it, in the body's order.
    pub years: Vec<i32>,
}

/// What is wrong with an amendment's financial annex before it applies: commitments of the
/// contract, open, each once, their years inside the amended period, each once. The amounts are
/// judged when it applies, as a correction of each commitment.
pub fn check_annex(entries: &[AnnexFacts], period: std::ops::RangeInclusive<i32>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, entry) in entries.iter().enumerate() {
        let pointer = format!("/changes/annex/{index}/commitment_id");
        match entry.closed {
            None => errors.push(FieldError::at_pointer(
                &pointer,
                "NOT_OF_CONTRACT",
                "no commitment of this contract has this id",
            )),
            Some(true) => errors.push(FieldError::at_pointer(
                &pointer,
                "COMMITMENT_CLOSED",
                "a closed commitment no longer changes",
            )),
            Some(false) => {}
        }
        if !seen.insert(entry.commitment_id) {
            errors.push(FieldError::at_pointer(&pointer, "DUPLICATE", "a commitment is named once"));
        }
        let mut years = BTreeSet::new();
        for (at, year) in entry.years.iter().enumerate() {
            let pointer = format!("/changes/annex/{index}/years/{at}/year");
            if !period.contains(year) {
                let detail = format!("must fall inside the amended period, {} to {}", period.start(), period.end());
                errors.push(FieldError::at_pointer(&pointer, "OUTSIDE_PERIOD", detail));
            }
            if !years.insert(year) {
                errors.push(FieldError::at_pointer(&pointer, "DUPLICATE", "a year is given once"));
            }
        }
    }
    errors
}

/// One signature of an amendment, as the rules see it.
#[derive(Debug, Clone)]
pub struct SignatureFacts {
    pub kind: OrganisationKind,
    /// Whether the organisation is a signatory of the contract as amended.
    pub concerned: bool,
    pub has_deliberation_date: bool,
    pub has_deliberation_ref: bool,
    /// How many names it signs with.
    pub names: usize,
    pub signed_on: NaiveDate,
    /// When the contract itself was signed.
    pub contract_signed_on: Option<NaiveDate>,
}

/// Every rule one signature of an amendment breaks: the signatory signs the contract as amended;
/// a collectivity signs on its council's délibération, the CAF with its président and directeur.
pub fn check_signature(facts: &SignatureFacts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if facts.contract_signed_on.is_some_and(|contract| facts.signed_on < contract) {
        let detail = "an amendment is signed after the contract it amends";
        errors.push(FieldError::at_pointer("/signed_on", "SIGNED_BEFORE_CONTRACT", detail));
    }
    if !facts.concerned {
        let detail = "only the signatories of the contract as amended sign the amendment";
        errors.push(FieldError::at_pointer("/organisation_id", "NOT_A_SIGNATORY", detail));
    }
    if facts.kind.is_collectivity() {
        if !facts.has_deliberation_date {
            let detail = "a collectivity signs on its council's délibération";
            errors.push(FieldError::at_pointer("/deliberation_date", "MISSING_DELIBERATION_DATE", detail));
        }
        if !facts.has_deliberation_ref {
            let detail = "a collectivity signs on its council's délibération";
            errors.push(FieldError::at_pointer("/deliberation_ref", "MISSING_DELIBERATION_REF", detail));
        }
    }
    if facts.kind == OrganisationKind::Caf && facts.names < 2 {
        let detail =
            "the CAF signs with two names: its président (signatory_name) and its directeur (second_signatory_name)";
        errors.push(FieldError::at_pointer("/second_signatory_name", "CAF_SIGNATORIES_MISSING", detail));
    } else if facts.names == 0 {
        errors.push(FieldError::at_pointer("/signatory_name", "REQUIRED", "name who signs"));
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

    fn member(n: u128, kind: OrganisationKind, signs: bool, code: Option<&str>) -> Member {
        Member {
            organisation_id: Uuid::from_u128(n),
            kind,
            signs,
            of_perimeter: kind.is_collectivity(),
            perimeter_code: code.map(str::to_owned),
        }
    }

    fn parties() -> Vec<Member> {
        vec![
            member(1, OrganisationKind::Caf, true, None),
            member(2, OrganisationKind::Epci, true, Some("200000172")),
            member(3, OrganisationKind::Association, false, None),
        ]
    }

    fn party_facts<'a>(
        parties: &'a [Member],
        added: &'a [Option<Member>],
        removed: &'a [Uuid],
        kept_by: &'a [Option<String>],
        joining: &'a [Joining],
    ) -> PartyChangeFacts<'a> {
        PartyChangeFacts { contract_kind: ContractKind::Ctg, parties, added, removed, kept_by, joining }
    }

    #[test]
    fn a_commune_joining_the_perimeter_signs_the_amendment() {
        let parties = parties();
        let joining = [Joining {
            pointer: "/changes/perimeter/communes/0".into(),
            kind: OrganisationKind::Commune,
            code: "74042".into(),
        }];
        let none = party_facts(&parties, &[], &[], &[], &joining);
        assert_eq!(
            codes(&check_party_changes(&none)),
            [("/changes/perimeter/communes/0", "JOINING_COLLECTIVITY_MUST_SIGN")]
        );
        let as_payee = [Some(member(4, OrganisationKind::Commune, false, Some("74042")))];
        let paid_only = party_facts(&parties, &as_payee, &[], &[], &joining);
        assert_eq!(codes(&check_party_changes(&paid_only)).len(), 1);
        let signing = [Some(member(4, OrganisationKind::Commune, true, Some("74042")))];
        assert!(check_party_changes(&party_facts(&parties, &signing, &[], &[], &joining)).is_empty());
    }

    #[test]
    fn the_last_collectivity_signatory_and_the_caf_stay() {
        let parties = parties();
        let removed = [Uuid::from_u128(2), Uuid::from_u128(1)];
        let kept = [None, None];
        let errors = check_party_changes(&party_facts(&parties, &[], &removed, &kept, &[]));
        assert_eq!(
            codes(&errors),
            [("/changes/remove_parties/1", "CAF_STAYS"), ("/changes/remove_parties", "LAST_COLLECTIVITY_SIGNATORY")]
        );
        // After an EPCI merger, the new EPCI comes in as the old one goes.
        let merged = [Some(member(5, OrganisationKind::Epci, true, Some("200066793")))];
        let removed = [Uuid::from_u128(2)];
        assert!(check_party_changes(&party_facts(&parties, &merged, &removed, &[None], &[])).is_empty());
        // A signatory collectivity outside the perimeter does not count.
        let outside = [Some(Member { of_perimeter: false, ..member(5, OrganisationKind::Epci, true, None) })];
        assert_eq!(
            codes(&check_party_changes(&party_facts(&parties, &outside, &removed, &[None], &[]))),
            [("/changes/remove_parties", "LAST_COLLECTIVITY_SIGNATORY")]
        );
    }

    #[test]
    fn added_and_removed_organisations_are_checked_each_at_its_place() {
        let parties = parties();
        let added = [
            None,
            Some(member(3, OrganisationKind::Association, false, None)),
            Some(member(6, OrganisationKind::Commune, true, None)),
            Some(member(6, OrganisationKind::Commune, true, None)),
        ];
        let removed = [Uuid::from_u128(9), Uuid::from_u128(3)];
        let kept = [None, Some("it receives funding under the contract".to_owned())];
        let errors = check_party_changes(&party_facts(&parties, &added, &removed, &kept, &[]));
        assert_eq!(
            codes(&errors),
            [
                ("/changes/add_parties/0/organisation_id", "UNKNOWN_ORGANISATION"),
                ("/changes/add_parties/1/organisation_id", "ALREADY_A_PARTY"),
                ("/changes/add_parties/3/organisation_id", "DUPLICATE"),
                ("/changes/remove_parties/0", "NOT_A_PARTY"),
                ("/changes/remove_parties/1", "PARTY_STILL_NEEDED"),
            ]
        );
        assert_eq!(errors[4].detail, "it receives funding under the contract");
    }

    #[test]
    fn who_signs_an_amendment_and_with_what() {
        let commune = SignatureFacts {
            kind: OrganisationKind::Commune,
            concerned: true,
            has_deliberation_date: true,
            has_deliberation_ref: true,
            names: 1,
            signed_on: date("2025-05-12"),
            contract_signed_on: Some(date("2024-02-01")),
        };
        assert!(check_signature(&commune).is_empty());
        let without_deliberation =
            SignatureFacts { has_deliberation_date: false, has_deliberation_ref: false, ..commune.clone() };
        assert_eq!(
            codes(&check_signature(&without_deliberation)),
            [("/deliberation_date", "MISSING_DELIBERATION_DATE"), ("/deliberation_ref", "MISSING_DELIBERATION_REF")]
        );
        let msa = SignatureFacts { kind: OrganisationKind::Msa, ..without_deliberation };
        assert!(check_signature(&msa).is_empty());
        let caf = SignatureFacts { kind: OrganisationKind::Caf, ..commune.clone() };
        assert_eq!(codes(&check_signature(&caf)), [("/second_signatory_name", "CAF_SIGNATORIES_MISSING")]);
        let stranger = SignatureFacts { concerned: false, names: 0, signed_on: date("2024-01-31"), ..commune };
        assert_eq!(
            codes(&check_signature(&stranger)),
            [
                ("/signed_on", "SIGNED_BEFORE_CONTRACT"),
                ("/organisation_id", "NOT_A_SIGNATORY"),
                ("/signatory_name", "REQUIRED")
            ]
        );
    }

    #[test]
    fn an_annex_names_open_commitments_of_the_contract_in_the_amended_period() {
        let (one, two) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let entries = [
            AnnexFacts { commitment_id: one, closed: Some(false), years: vec![2025, 2029, 2025] },
            AnnexFacts { commitment_id: two, closed: Some(true), years: vec![2026] },
            AnnexFacts { commitment_id: Uuid::from_u128(3), closed: None, years: vec![] },
            AnnexFacts { commitment_id: one, closed: Some(false), years: vec![] },
        ];
        assert_eq!(
            codes(&check_annex(&entries, 2024..=2028)),
            [
                ("/changes/annex/0/years/1/year", "OUTSIDE_PERIOD"),
                ("/changes/annex/0/years/2/year", "DUPLICATE"),
                ("/changes/annex/1/commitment_id", "COMMITMENT_CLOSED"),
                ("/changes/annex/2/commitment_id", "NOT_OF_CONTRACT"),
                ("/changes/annex/3/commitment_id", "DUPLICATE"),
            ]
        );
        assert!(check_annex(&entries[..1], 2024..=2029).len() == 1, "only the repeated year is left");
    }
}
