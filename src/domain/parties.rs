//! The parties of a signed contract: who signs it, and what they signed, stay as they are.

use super::contract::{PartyRole, RecordedStatus};
use super::organisation::OrganisationKind;
use crate::problem_detail::FieldError;

/// A change to one party of a contract, as the signature rule sees it.
#[derive(Debug, Clone, Copy)]
pub enum PartyChange<'a> {
    /// A party joins with these roles.
    Added(&'a [PartyRole]),
    /// A party's roles go from `before` to `after`; `signature` when its signatory, délibération
    /// or signature data change.
    Changed { before: &'a [PartyRole], after: &'a [PartyRole], signature: bool },
    /// A party holding these roles leaves.
    Removed(&'a [PartyRole]),
}

/// Whether a contract in `status` allows `change`; the refusal says why. Before signature
/// everything is allowed; afterwards no signatory joins or leaves, and none changes what it signed.
pub fn signature_allows(status: RecordedStatus, change: PartyChange<'_>) -> Result<(), &'static str> {
    if status.is_editable() {
        return Ok(());
    }
    match change {
        PartyChange::Added(roles) if PartyRole::any_signs(roles) => {
            Err("the contract is signed: no signatory can be added")
        }
        PartyChange::Changed { before, after, signature }
            if signature || PartyRole::any_signs(before) != PartyRole::any_signs(after) =>
        {
            Err("the contract is signed: signatures and signatory roles are fixed")
        }
        PartyChange::Removed(roles) if PartyRole::any_signs(roles) => {
            Err("the contract is signed: its signatories stay")
        }
        _ => Ok(()),
    }
}

/// A CAF joins a contract only as the CAF of the contract's département; other organisations may
/// come from anywhere.
pub fn check_caf_department(
    kind: OrganisationKind,
    of_organisation: Option<&str>,
    of_contract: &str,
) -> Result<(), Vec<FieldError>> {
    if kind != OrganisationKind::Caf || of_organisation == Some(of_contract) {
        return Ok(());
    }
    let detail = format!("the CAF party is the CAF of département {of_contract}");
    Err(vec![FieldError::at_pointer("/organisation_id", "CAF_OF_ANOTHER_DEPARTMENT", detail)])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNS: &[PartyRole] = &[PartyRole::Signatory];
    const PAID: &[PartyRole] = &[PartyRole::Payee];

    #[test]
    fn before_signature_every_change_is_allowed() {
        for status in [RecordedStatus::Draft, RecordedStatus::InReview] {
            assert!(signature_allows(status, PartyChange::Added(SIGNS)).is_ok());
            assert!(signature_allows(status, PartyChange::Removed(SIGNS)).is_ok());
            let change = PartyChange::Changed { before: SIGNS, after: PAID, signature: true };
            assert!(signature_allows(status, change).is_ok());
        }
    }

    #[test]
    fn once_signed_signatories_neither_join_nor_leave() {
        let signed = RecordedStatus::Signed;
        let added = signature_allows(signed, PartyChange::Added(SIGNS));
        assert_eq!(added, Err("the contract is signed: no signatory can be added"));
        let removed = signature_allows(signed, PartyChange::Removed(SIGNS));
        assert_eq!(removed, Err("the contract is signed: its signatories stay"));
        assert!(signature_allows(signed, PartyChange::Added(PAID)).is_ok());
        assert!(signature_allows(signed, PartyChange::Removed(PAID)).is_ok());
    }

    #[test]
    fn once_signed_what_was_signed_stays() {
        let signed = RecordedStatus::Signed;
        let change = |before, after, signature| PartyChange::Changed { before, after, signature };
        let fixed = Err("the contract is signed: signatures and signatory roles are fixed");
        assert_eq!(signature_allows(signed, change(SIGNS, PAID, false)), fixed);
        assert!(signature_allows(signed, change(PAID, SIGNS, false)).is_err());
        assert!(signature_allows(signed, change(PAID, PAID, true)).is_err());
        let co_signs = &[PartyRole::CoSignatory, PartyRole::Payee][..];
        assert!(signature_allows(signed, change(SIGNS, co_signs, false)).is_ok());
    }

    #[test]
    fn a_caf_joins_only_contracts_of_its_department() {
        assert!(check_caf_department(OrganisationKind::Caf, Some("074"), "074").is_ok());
        let errors = check_caf_department(OrganisationKind::Caf, Some("073"), "074").unwrap_err();
        assert_eq!(errors[0].code, "CAF_OF_ANOTHER_DEPARTMENT");
        assert_eq!(errors[0].detail, "the CAF party is the CAF of département 074");
        assert!(check_caf_department(OrganisationKind::Caf, None, "074").is_err());
        assert!(check_caf_department(OrganisationKind::Commune, Some("073"), "074").is_ok());
    }
}
