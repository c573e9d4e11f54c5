//! The contract lifecycle: draft → in_review → signed, with request_changes, terminate and cancel.
//! Every guard is checked and every unmet one is reported, so a refusal says all that is missing.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::codes::text_codes;
use super::contract::{ContractKind, Field, PartyRole, RecordedStatus};
use super::organisation::OrganisationKind;

text_codes! {
    TransitionAction {
        /// draft → in_review
        Submit = "submit" => "Soumettre à validation",
        /// in_review → draft, with a reason
        RequestChanges = "request_changes" => "Demander des modifications",
        /// in_review → signed
        Sign = "sign" => "Signer",
        /// signed → terminated, with a reason and the date it ends
        Terminate = "terminate" => "Résilier",
        /// draft or in_review → cancelled, with a reason
        Cancel = "cancel" => "Abandonner",
    }
}

/// A party as the guards see it.
#[derive(Debug, Clone)]
pub struct PartyFacts {
    pub organisation_name: String,
    pub organisation_kind: OrganisationKind,
    pub roles: Vec<PartyRole>,
    pub signed_on: Option<NaiveDate>,
    pub deliberation_date: Option<NaiveDate>,
    pub deliberation_ref: Option<String>,
    /// A commune or EPCI of the contract's perimeter.
    pub in_perimeter: bool,
    /// How many names it signs with (a CAF signs with two: its président and its directeur).
    pub signatory_names: usize,
}

impl PartyFacts {
    fn signs(&self) -> bool {
        self.roles.iter().any(|role| role.signs())
    }
}

/// A contract as the guards see it.
#[derive(Debug, Clone)]
pub struct ContractFacts {
    pub kind: ContractKind,
    pub status: RecordedStatus,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub fields: BTreeSet<Field>,
    pub perimeter_size: usize,
    pub parties: Vec<PartyFacts>,
}

/// What the caller sent with the transition.
#[derive(Debug, Clone, Default)]
pub struct TransitionRequest {
    pub reason: Option<String>,
    pub effective_on: Option<NaiveDate>,
}

/// One unmet condition of a refused transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub code: &'static str,
    pub detail: String,
}

pub(crate) fn unmet(code: &'static str, detail: impl Into<String>) -> Unmet {
    Unmet { code, detail: detail.into() }
}

/// The CTG minimum content (Cnaf circular 2020-01): these three fields, plus at least one more.
pub const CTG_REQUIRED_FIELDS: [Field; 3] = [Field::PetiteEnfance, Field::Jeunesse, Field::Parentalite];

/// The content and signatories a contract needs before it can be submitted or signed.
fn content_guards(facts: &ContractFacts, out: &mut Vec<Unmet>) {
    if facts.kind == ContractKind::Ctg {
        for field in CTG_REQUIRED_FIELDS {
            if !facts.fields.contains(&field) {
                out.push(unmet("MISSING_REQUIRED_FIELD", format!("a CTG must cover the field {field}")));
            }
        }
        if facts.fields.iter().filter(|field| !CTG_REQUIRED_FIELDS.contains(field)).count() == 0 {
            out.push(unmet(
                "MISSING_ADDITIONAL_FIELD",
                "a CTG must cover at least one field beyond petite_enfance, jeunesse and parentalite",
            ));
        }
    }
    if facts.perimeter_size == 0 {
        out.push(unmet("EMPTY_PERIMETER", "the perimeter names no EPCI and no commune"));
    }
    let signatories: Vec<&PartyFacts> = facts.parties.iter().filter(|party| party.signs()).collect();
    if !signatories.iter().any(|party| party.organisation_kind == OrganisationKind::Caf) {
        out.push(unmet("MISSING_CAF_SIGNATORY", "the CAF must be a signatory party"));
    }
    if !signatories.iter().any(|party| party.organisation_kind.is_collectivity()) {
        out.push(unmet("MISSING_COLLECTIVITY_SIGNATORY", "at least one collectivity must be a signatory party"));
    } else if facts.kind == ContractKind::Ctg && !signatories.iter().any(|party| party.in_perimeter) {
        out.push(unmet(
            "MISSING_PERIMETER_SIGNATORY",
            "a collectivity of the perimeter (its EPCI or one of its communes) must be a signatory party",
        ));
    }
}

fn signature_guards(facts: &ContractFacts, out: &mut Vec<Unmet>) {
    for party in facts.parties.iter().filter(|party| party.signs()) {
        let name = &party.organisation_name;
        if party.signed_on.is_none() {
            out.push(unmet("PARTY_NOT_SIGNED", format!("{name} has not signed (signed_on)")));
        }
        if party.organisation_kind == OrganisationKind::Caf && party.signatory_names < 2 {
            out.push(unmet(
                "CAF_SIGNATORIES_MISSING",
                format!("{name} signs with two names: its président (signatory_name) and its directeur (second_signatory_name)"),
            ));
        }
        // A council's délibération: collectivities only, not the CAF, the État, the MSA, the CPAM
        // or an association.
        if party.organisation_kind.is_collectivity() {
            if party.deliberation_date.is_none() {
                out.push(unmet("MISSING_DELIBERATION_DATE", format!("{name} has no délibération date")));
            }
            if party.deliberation_ref.as_deref().is_none_or(|r| r.trim().is_empty()) {
                out.push(unmet("MISSING_DELIBERATION_REF", format!("{name} has no délibération reference")));
            }
        }
    }
}

fn reason_guard(request: &TransitionRequest, out: &mut Vec<Unmet>) {
    if request.reason.as_deref().is_none_or(|reason| reason.trim().is_empty()) {
        out.push(unmet("REASON_REQUIRED", "this transition needs a reason"));
    }
}

/// The recorded status `action` leads to from `facts`, or every condition it does not meet.
pub fn transition(
    facts: &ContractFacts,
    action: TransitionAction,
    request: &TransitionRequest,
) -> Result<RecordedStatus, Vec<Unmet>> {
    use RecordedStatus::{Cancelled, Draft, InReview, Signed, Terminated};
    let (allowed_from, target): (&[RecordedStatus], RecordedStatus) = match action {
        TransitionAction::Submit => (&[Draft], InReview),
        TransitionAction::RequestChanges => (&[InReview], Draft),
        TransitionAction::Sign => (&[InReview], Signed),
        TransitionAction::Terminate => (&[Signed], Terminated),
        TransitionAction::Cancel => (&[Draft, InReview], Cancelled),
    };
    let mut out = Vec::new();
    if !allowed_from.contains(&facts.status) {
        let from: Vec<&str> = allowed_from.iter().map(|status| status.as_str()).collect();
        out.push(unmet(
            "WRONG_STATUS",
            format!("{action} needs a contract in {}, this one is {}", from.join(" or "), facts.status),
        ));
    }
    match action {
        TransitionAction::Submit => content_guards(facts, &mut out),
        TransitionAction::Sign => {
            content_guards(facts, &mut out);
            signature_guards(facts, &mut out);
        }
        TransitionAction::RequestChanges | TransitionAction::Cancel => reason_guard(request, &mut out),
        TransitionAction::Terminate => {
            reason_guard(request, &mut out);
            match request.effective_on {
                None => {
                    out.push(unmet(
                        "EFFECTIVE_ON_REQUIRED",
                        "terminate needs effective_on, the date the contract ends",
                    ));
                }
                Some(day) if day < facts.start_date || day > facts.end_date => {
                    out.push(unmet("EFFECTIVE_ON_OUTSIDE_PERIOD", "effective_on must fall inside the contract period"));
                }
                Some(_) => {}
            }
        }
    }
    if out.is_empty() { Ok(target) } else { Err(out) }
}

/// The date a signature takes effect: the one given, else the last party signature.
pub fn signature_date(facts: &ContractFacts, request: &TransitionRequest) -> Option<NaiveDate> {
    request.effective_on.or_else(|| facts.parties.iter().filter_map(|party| party.signed_on).max())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn party(kind: OrganisationKind, roles: &[PartyRole], signed: bool) -> PartyFacts {
        PartyFacts {
            organisation_name: format!("{kind}"),
            organisation_kind: kind,
            roles: roles.to_vec(),
            signed_on: signed.then(|| day("2024-02-01")),
            deliberation_date: signed.then(|| day("2024-01-15")),
            deliberation_ref: signed.then(|| "DEL-2024-01".to_owned()),
            in_perimeter: matches!(kind, OrganisationKind::Epci | OrganisationKind::Commune),
            signatory_names: if signed { 2 } else { 0 },
        }
    }

    fn ready_ctg(status: RecordedStatus) -> ContractFacts {
        ContractFacts {
            kind: ContractKind::Ctg,
            status,
            start_date: day("2024-01-01"),
            end_date: day("2028-12-31"),
            fields: [Field::PetiteEnfance, Field::Jeunesse, Field::Parentalite, Field::Logement].into(),
            perimeter_size: 7,
            parties: vec![
                party(OrganisationKind::Caf, &[PartyRole::Signatory, PartyRole::Payer], true),
                party(OrganisationKind::Epci, &[PartyRole::Signatory], true),
                party(OrganisationKind::Association, &[PartyRole::AssociatedPartner], false),
            ],
        }
    }

    fn codes(result: Result<RecordedStatus, Vec<Unmet>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|u| u.code).collect()
    }

    #[test]
    fn a_complete_ctg_goes_through_review_to_signature() {
        let request = TransitionRequest::default();
        assert_eq!(
            transition(&ready_ctg(RecordedStatus::Draft), TransitionAction::Submit, &request),
            Ok(RecordedStatus::InReview)
        );
        assert_eq!(
            transition(&ready_ctg(RecordedStatus::InReview), TransitionAction::Sign, &request),
            Ok(RecordedStatus::Signed)
        );
    }

    #[test]
    fn a_ctg_is_signed_by_a_collectivity_of_its_perimeter_and_only_collectivities_deliberate() {
        // The Conseil départemental signs, but no commune or EPCI of the perimeter does.
        let mut facts = ready_ctg(RecordedStatus::Draft);
        facts.parties[1] = party(OrganisationKind::Departement, &[PartyRole::Signatory], true);
        assert_eq!(
            codes(transition(&facts, TransitionAction::Submit, &TransitionRequest::default())),
            ["MISSING_PERIMETER_SIGNATORY"]
        );
        // An EPCI outside the perimeter does not count either.
        facts.parties[1] =
            PartyFacts { in_perimeter: false, ..party(OrganisationKind::Epci, &[PartyRole::Signatory], true) };
        assert_eq!(
            codes(transition(&facts, TransitionAction::Submit, &TransitionRequest::default())),
            ["MISSING_PERIMETER_SIGNATORY"]
        );
        // The État and an association sign without a délibération; the EPCI may not.
        let mut facts = ready_ctg(RecordedStatus::InReview);
        for kind in [OrganisationKind::Etat, OrganisationKind::Association, OrganisationKind::Msa] {
            let mut signatory = party(kind, &[PartyRole::CoSignatory], true);
            signatory.deliberation_date = None;
            signatory.deliberation_ref = None;
            facts.parties.push(signatory);
        }
        assert_eq!(
            transition(&facts, TransitionAction::Sign, &TransitionRequest::default()),
            Ok(RecordedStatus::Signed)
        );
        // The CAF signs with two names.
        facts.parties[0].signatory_names = 1;
        assert_eq!(
            codes(transition(&facts, TransitionAction::Sign, &TransitionRequest::default())),
            ["CAF_SIGNATORIES_MISSING"]
        );
        facts.parties[0].signatory_names = 2;
        facts.parties[1].deliberation_ref = None;
        assert_eq!(
            codes(transition(&facts, TransitionAction::Sign, &TransitionRequest::default())),
            ["MISSING_DELIBERATION_REF"]
        );
    }

    #[test]
    fn submit_lists_every_missing_piece_of_content() {
        let mut facts = ready_ctg(RecordedStatus::Draft);
        facts.fields = [Field::PetiteEnfance].into();
        facts.perimeter_size = 0;
        facts.parties.clear();
        assert_eq!(
            codes(transition(&facts, TransitionAction::Submit, &TransitionRequest::default())),
            vec![
                "MISSING_REQUIRED_FIELD",
                "MISSING_REQUIRED_FIELD",
                "MISSING_ADDITIONAL_FIELD",
                "EMPTY_PERIMETER",
                "MISSING_CAF_SIGNATORY",
                "MISSING_COLLECTIVITY_SIGNATORY"
            ]
        );
    }

    #[test]
    fn the_three_required_fields_alone_are_not_enough_for_a_ctg_but_are_for_a_cej() {
        let mut facts = ready_ctg(RecordedStatus::Draft);
        facts.fields = CTG_REQUIRED_FIELDS.into();
        assert_eq!(
            codes(transition(&facts, TransitionAction::Submit, &TransitionRequest::default())),
            vec!["MISSING_ADDITIONAL_FIELD"]
        );
        facts.kind = ContractKind::Cej;
        facts.fields = [Field::Enfance].into();
        assert!(transition(&facts, TransitionAction::Submit, &TransitionRequest::default()).is_ok());
    }

    #[test]
    fn an_associated_partner_does_not_count_as_a_signatory() {
        let mut facts = ready_ctg(RecordedStatus::Draft);
        facts.parties.retain(|p| p.organisation_kind != OrganisationKind::Epci);
        assert_eq!(
            codes(transition(&facts, TransitionAction::Submit, &TransitionRequest::default())),
            vec!["MISSING_COLLECTIVITY_SIGNATORY"]
        );
    }

    #[test]
    fn sign_needs_every_signatory_signed_and_the_collectivities_deliberations() {
        let mut facts = ready_ctg(RecordedStatus::InReview);
        facts.parties[1] = party(OrganisationKind::Epci, &[PartyRole::Signatory], false);
        facts.parties[0].signed_on = None;
        assert_eq!(
            codes(transition(&facts, TransitionAction::Sign, &TransitionRequest::default())),
            vec!["PARTY_NOT_SIGNED", "PARTY_NOT_SIGNED", "MISSING_DELIBERATION_DATE", "MISSING_DELIBERATION_REF"]
        );
        // The CAF signs without a délibération.
        let mut facts = ready_ctg(RecordedStatus::InReview);
        facts.parties[0].deliberation_date = None;
        facts.parties[0].deliberation_ref = None;
        assert!(transition(&facts, TransitionAction::Sign, &TransitionRequest::default()).is_ok());
    }

    #[test]
    fn each_action_starts_only_from_its_statuses() {
        use RecordedStatus::*;
        let reason = TransitionRequest { reason: Some("why".into()), effective_on: Some(day("2025-06-30")) };
        let table: [(TransitionAction, &[RecordedStatus]); 5] = [
            (TransitionAction::Submit, &[Draft]),
            (TransitionAction::RequestChanges, &[InReview]),
            (TransitionAction::Sign, &[InReview]),
            (TransitionAction::Terminate, &[Signed]),
            (TransitionAction::Cancel, &[Draft, InReview]),
        ];
        for (action, allowed) in table {
            for status in [Draft, InReview, Signed, Terminated, Cancelled, Superseded] {
                let result = transition(&ready_ctg(status), action, &reason);
                assert_eq!(result.is_ok(), allowed.contains(&status), "{action} from {status}: {result:?}");
                if !allowed.contains(&status) {
                    assert!(codes(result).contains(&"WRONG_STATUS"));
                }
            }
        }
    }

    #[test]
    fn reasons_and_termination_dates_are_required() {
        let none = TransitionRequest::default();
        assert_eq!(
            codes(transition(&ready_ctg(RecordedStatus::InReview), TransitionAction::RequestChanges, &none)),
            vec!["REASON_REQUIRED"]
        );
        assert_eq!(
            codes(transition(
                &ready_ctg(RecordedStatus::Draft),
                TransitionAction::Cancel,
                &TransitionRequest { reason: Some("  ".into()), effective_on: None }
            )),
            vec!["REASON_REQUIRED"]
        );
        assert_eq!(
            codes(transition(&ready_ctg(RecordedStatus::Signed), TransitionAction::Terminate, &none)),
            vec!["REASON_REQUIRED", "EFFECTIVE_ON_REQUIRED"]
        );
        let late = TransitionRequest { reason: Some("fusion".into()), effective_on: Some(day("2029-01-01")) };
        assert_eq!(
            codes(transition(&ready_ctg(RecordedStatus::Signed), TransitionAction::Terminate, &late)),
            vec!["EFFECTIVE_ON_OUTSIDE_PERIOD"]
        );
    }

    #[test]
    fn the_signature_date_defaults_to_the_last_party_signature() {
        let mut facts = ready_ctg(RecordedStatus::InReview);
        facts.parties[1].signed_on = Some(day("2024-03-10"));
        assert_eq!(signature_date(&facts, &TransitionRequest::default()), Some(day("2024-03-10")));
        let given = TransitionRequest { reason: None, effective_on: Some(day("2024-04-01")) };
        assert_eq!(signature_date(&facts, &given), Some(day("2024-04-01")));
    }
}
