//! The vocabulary of contracts: kinds, statuses, intervention fields, party roles, action statuses.

use chrono::NaiveDate;

use super::codes::text_codes;
use crate::problem_detail::FieldError;

text_codes! {
    ContractKind {
        /// Convention territoriale globale.
        Ctg = "ctg" => "Convention territoriale globale",
        /// Contrat enfance et jeunesse (2006–2022), replaced by a CTG at its end.
        Cej = "cej" => "Contrat enfance et jeunesse",
    }
    /// The lifecycle state as recorded. Clients see [`ContractStatus`], where a signed contract is
    /// `signed`, `active` or `expired` depending on today's date.
    RecordedStatus {
        Draft = "draft" => "Brouillon",
        InReview = "in_review" => "En cours de validation",
        Signed = "signed" => "Signée",
        Terminated = "terminated" => "Résiliée",
        Cancelled = "cancelled" => "Abandonnée",
        Superseded = "superseded" => "Remplacée",
    }
    /// The status of a contract as clients see it.
    ContractStatus {
        Draft = "draft" => "Brouillon",
        InReview = "in_review" => "En cours de validation",
        /// Signed, its period not started yet.
        Signed = "signed" => "Signée, pas encore en vigueur",
        /// Signed, today inside its period.
        Active = "active" => "En vigueur",
        /// Signed, its period over.
        Expired = "expired" => "Échue",
        Terminated = "terminated" => "Résiliée",
        Cancelled = "cancelled" => "Abandonnée",
        /// A CEJ replaced by a signed CTG.
        Superseded = "superseded" => "Remplacée par une CTG",
    }
    /// A field of intervention of the CAF (champ d'intervention).
    Field {
        PetiteEnfance = "petite_enfance" => "Petite enfance",
        Enfance = "enfance" => "Enfance",
        Jeunesse = "jeunesse" => "Jeunesse",
        Parentalite = "parentalite" => "Parentalité",
        AnimationVieSociale = "animation_vie_sociale" => "Animation de la vie sociale",
        AccesAuxDroits = "acces_aux_droits" => "Accès aux droits",
        Logement = "logement" => "Logement",
        Handicap = "handicap" => "Handicap",
        InclusionNumerique = "inclusion_numerique" => "Inclusion numérique",
        AccompagnementSocial = "accompagnement_social" => "Accompagnement social",
    }
    /// A departmental scheme or contract a CTG is articulated with.
    SchemeKind {
        /// Schéma départemental des services aux familles.
        Sdsf = "sdsf" => "Schéma départemental des services aux familles",
        /// Schéma départemental de l'animation de la vie sociale.
        Sdavs = "sdavs" => "Schéma départemental de l'animation de la vie sociale",
        /// Schéma départemental d'amélioration de l'accessibilité des services au public.
        Sdaasp = "sdaasp" => "Schéma départemental d'amélioration de l'accessibilité des services au public",
        ContratDeVille = "contrat_de_ville" => "Contrat de ville",
        Other = "other" => "Autre",
    }
    /// What a party does in a contract; a party may hold several roles.
    PartyRole {
        Signatory = "signatory" => "Signataire",
        CoSignatory = "co_signatory" => "Cosignataire",
        Funder = "funder" => "Financeur",
        Payer = "payer" => "Payeur",
        Payee = "payee" => "Bénéficiaire des versements",
        Pilot = "pilot" => "Pilote",
        Coordinator = "coordinator" => "Coordinateur",
        AssociatedPartner = "associated_partner" => "Partenaire associé",
    }
    ActionStatus {
        Planned = "planned" => "Prévue",
        InProgress = "in_progress" => "En cours",
        Completed = "completed" => "Réalisée",
        Abandoned = "abandoned" => "Abandonnée",
        Postponed = "postponed" => "Reportée",
    }
}

impl RecordedStatus {
    /// The status clients see on `today`.
    pub fn seen_on(self, today: NaiveDate, start: NaiveDate, end: NaiveDate) -> ContractStatus {
        match self {
            Self::Draft => ContractStatus::Draft,
            Self::InReview => ContractStatus::InReview,
            Self::Signed if today < start => ContractStatus::Signed,
            Self::Signed if today > end => ContractStatus::Expired,
            Self::Signed => ContractStatus::Active,
            Self::Terminated => ContractStatus::Terminated,
            Self::Cancelled => ContractStatus::Cancelled,
            Self::Superseded => ContractStatus::Superseded,
        }
    }

    /// Whether the period, perimeter and fields may still be edited directly (before signature).
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::InReview)
    }
}

impl PartyRole {
    /// Roles whose holder signs the contract.
    pub fn signs(self) -> bool {
        matches!(self, Self::Signatory | Self::CoSignatory)
    }

    /// Whether a party holding `roles` signs the contract.
    pub fn any_signs(roles: &[Self]) -> bool {
        roles.iter().copied().any(Self::signs)
    }

    /// The roles a party holds: each once, in code order, as they are stored and answered.
    pub fn set_of(roles: &[Self]) -> Vec<Self> {
        let mut set = roles.to_vec();
        set.sort_unstable();
        set.dedup();
        set
    }
}

/// An action of the plan as its rules see it, with what the handler read about its references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionFacts {
    /// `false` when the action names an axis its contract does not have.
    pub axis_known: bool,
    /// `false` when the action names a pilot that is not a party of its contract.
    pub pilot_is_party: bool,
    pub planned: (Option<NaiveDate>, Option<NaiveDate>),
    pub actual: (Option<NaiveDate>, Option<NaiveDate>),
}

/// Every broken rule of an action: its axis and its pilot belong to the contract, and neither its
/// planned nor its actual period ends before it starts.
pub fn check_action(facts: &ActionFacts) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !facts.axis_known {
        errors.push(FieldError::at_pointer("/axis_id", "UNKNOWN_AXIS", "no axis of this contract has this id"));
    }
    if !facts.pilot_is_party {
        let detail = "the pilot must be a party of the contract";
        errors.push(FieldError::at_pointer("/pilot_organisation_id", "PILOT_NOT_A_PARTY", detail));
    }
    errors.extend(ends_before_start("planned", facts.planned));
    errors.extend(ends_before_start("actual", facts.actual));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// `DATE_BEFORE_START` at `/{name}_end` when both dates are known and the end comes first.
fn ends_before_start(name: &str, (start, end): (Option<NaiveDate>, Option<NaiveDate>)) -> Option<FieldError> {
    let (start, end) = (start?, end?);
    let detail = format!("must be on or after {name}_start");
    (end < start).then(|| FieldError::at_pointer(format!("/{name}_end"), "DATE_BEFORE_START", detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_signed_contract_is_seen_by_its_dates() {
        let (start, end) = (day("2024-01-01"), day("2027-12-31"));
        assert_eq!(RecordedStatus::Signed.seen_on(day("2023-12-31"), start, end), ContractStatus::Signed);
        assert_eq!(RecordedStatus::Signed.seen_on(day("2024-01-01"), start, end), ContractStatus::Active);
        assert_eq!(RecordedStatus::Signed.seen_on(day("2027-12-31"), start, end), ContractStatus::Active);
        assert_eq!(RecordedStatus::Signed.seen_on(day("2028-01-01"), start, end), ContractStatus::Expired);
        assert_eq!(RecordedStatus::Draft.seen_on(day("2025-01-01"), start, end), ContractStatus::Draft);
    }

    #[test]
    fn a_party_holds_each_role_once_and_signs_through_a_signing_role() {
        let roles = PartyRole::set_of(&[PartyRole::Payee, PartyRole::Signatory, PartyRole::Payee]);
        assert_eq!(roles, [PartyRole::Signatory, PartyRole::Payee]);
        assert!(PartyRole::any_signs(&roles));
        assert!(PartyRole::any_signs(&[PartyRole::CoSignatory]));
        assert!(!PartyRole::any_signs(&[PartyRole::Funder, PartyRole::Pilot]));
    }

    #[test]
    fn serde_and_stored_codes_agree() {
        for field in Field::ALL {
            assert_eq!(serde_json::to_value(field).unwrap(), field.as_str());
        }
        for role in PartyRole::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for status in ContractStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for status in ActionStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for kind in SchemeKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    fn action(axis_known: bool, pilot_is_party: bool) -> ActionFacts {
        ActionFacts { axis_known, pilot_is_party, planned: (None, None), actual: (None, None) }
    }

    #[test]
    fn an_action_with_known_references_and_ordered_dates_passes() {
        let ordered = (Some(day("2025-01-01")), Some(day("2025-01-01")));
        let facts = ActionFacts { planned: ordered, actual: (None, Some(day("2020-01-01"))), ..action(true, true) };
        assert_eq!(check_action(&facts), Ok(()));
    }

    #[test]
    fn an_action_lists_every_broken_rule() {
        let reversed = (Some(day("2025-02-01")), Some(day("2025-01-31")));
        let facts = ActionFacts { planned: reversed, actual: reversed, ..action(false, false) };
        let errors = check_action(&facts).unwrap_err();
        let found: Vec<(Option<&str>, &str, &str)> =
            errors.iter().map(|e| (e.pointer.as_deref(), e.code.as_str(), e.detail.as_str())).collect();
        assert_eq!(
            found,
            [
                (Some("/axis_id"), "UNKNOWN_AXIS", "no axis of this contract has this id"),
                (Some("/pilot_organisation_id"), "PILOT_NOT_A_PARTY", "the pilot must be a party of the contract"),
                (Some("/planned_end"), "DATE_BEFORE_START", "must be on or after planned_start"),
                (Some("/actual_end"), "DATE_BEFORE_START", "must be on or after actual_start"),
            ]
        );
    }
}
