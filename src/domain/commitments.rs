//! The lifecycle of a funding commitment, beside the contract's in `lifecycle.rs`: draft →
//! committed → closed, and what each state allows. Pure functions of facts the handler reads.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::RecordedStatus;
use super::funding::{CommitmentStatus, Programme};
use super::lifecycle::{Unmet, unmet};
use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentAction {
    /// draft → committed: needs a decision date and a signed contract.
    Commit,
    /// committed → closed: no more payments.
    Close,
}

/// What the guards of a commitment's transitions look at.
#[derive(Debug, Clone, Copy)]
pub struct CommitmentFacts {
    pub status: CommitmentStatus,
    pub has_decision_date: bool,
    /// The status of its contract, read under the contract's lock.
    pub contract_status: RecordedStatus,
    pub programme: Programme,
    /// The sum of its years' amounts.
    pub total_cents: i64,
    /// What an `aide_diagnostic` may total when committed before its contract is signed.
    pub diagnostic_aid_ceiling_cents: i64,
}

/// The status `action` leads to, or every condition it does not meet.
pub fn transition(facts: &CommitmentFacts, action: CommitmentAction) -> Result<CommitmentStatus, Vec<Unmet>> {
    let mut out = Vec::new();
    let (from, target) = match action {
        CommitmentAction::Commit => (CommitmentStatus::Draft, CommitmentStatus::Committed),
        CommitmentAction::Close => (CommitmentStatus::Committed, CommitmentStatus::Closed),
    };
    if facts.status != from {
        let verb = match action {
            CommitmentAction::Commit => "commit",
            CommitmentAction::Close => "close",
        };
        out.push(unmet("WRONG_STATUS", format!("{verb} needs a {from} commitment, this one is {}", facts.status)));
    }
    if action == CommitmentAction::Commit {
        if !facts.has_decision_date {
            out.push(unmet("DECISION_DATE_REQUIRED", "record the decision_date first"));
        }
        // The diagnostic aid pays for preparing the contract, so it may be committed while the
        // contract is drafted or reviewed, up to a ceiling; once signed, it is money as any other.
        let early_diagnostic = facts.programme == Programme::AideDiagnostic
            && matches!(facts.contract_status, RecordedStatus::Draft | RecordedStatus::InReview);
        if facts.contract_status != RecordedStatus::Signed && !early_diagnostic {
            out.push(unmet(
                "CONTRACT_NOT_SIGNED",
                format!("money is committed under a signed contract; this one is {}", facts.contract_status),
            ));
        }
        if early_diagnostic && facts.total_cents > facts.diagnostic_aid_ceiling_cents {
            out.push(unmet(
                "DIAGNOSTIC_AID_OVER_CEILING",
                format!(
                    "before the contract is signed, the diagnostic aid may commit at most {} cents; this one totals {}",
                    facts.diagnostic_aid_ceiling_cents, facts.total_cents
                ),
            ));
        }
    }
    if out.is_empty() { Ok(target) } else { Err(out) }
}

/// Every way a correction would take a commitment committed before its contract was signed out of
/// what it was committed as: an `aide_diagnostic` within the ceiling. Nothing to say of one
/// committed under a signed contract, or of a draft.
pub fn check_correction_before_signature(facts: &CommitmentFacts) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if facts.status != CommitmentStatus::Committed || facts.contract_status == RecordedStatus::Signed {
        return Ok(());
    }
    if facts.programme != Programme::AideDiagnostic {
        let detail = "committed before the contract is signed, this commitment stays an aide_diagnostic";
        errors.push(FieldError::at_pointer("/programme", "CONTRACT_NOT_SIGNED", detail));
    } else if facts.total_cents > facts.diagnostic_aid_ceiling_cents {
        let detail = format!(
            "before the contract is signed, the diagnostic aid may commit at most {} cents; this would total {}",
            facts.diagnostic_aid_ceiling_cents, facts.total_cents
        );
        errors.push(FieldError::at_pointer("/years", "DIAGNOSTIC_AID_OVER_CEILING", detail));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Why a commitment cannot be changed as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditRefusal {
    /// A closed commitment no longer changes.
    Closed,
    /// A committed commitment is corrected, and a correction says why.
    ReasonRequired,
}

/// Whether a commitment in `status` may be changed: freely in draft, with a reason once committed,
/// never once closed.
pub fn check_edit(status: CommitmentStatus, has_reason: bool) -> Result<(), EditRefusal> {
    match status {
        CommitmentStatus::Closed => Err(EditRefusal::Closed),
        CommitmentStatus::Committed if !has_reason => Err(EditRefusal::ReasonRequired),
        _ => Ok(()),
    }
}

/// Only a draft commitment without payments can be deleted; a committed one is closed instead.
pub fn can_delete(status: CommitmentStatus, payments: i64) -> bool {
    status == CommitmentStatus::Draft && payments == 0
}

/// Payments need a committed commitment.
pub fn accepts_payments(status: CommitmentStatus) -> bool {
    status == CommitmentStatus::Committed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: CommitmentStatus, contract_status: RecordedStatus) -> CommitmentFacts {
        CommitmentFacts {
            status,
            has_decision_date: true,
            contract_status,
            programme: Programme::PrestationService,
            total_cents: 1_000_000,
            diagnostic_aid_ceiling_cents: 750_000,
        }
    }

    fn diagnostic_aid(contract_status: RecordedStatus, total_cents: i64) -> CommitmentFacts {
        CommitmentFacts {
            programme: Programme::AideDiagnostic,
            total_cents,
            ..facts(CommitmentStatus::Draft, contract_status)
        }
    }

    fn codes(facts: &CommitmentFacts) -> Vec<&'static str> {
        transition(facts, CommitmentAction::Commit).err().unwrap_or_default().iter().map(|u| u.code).collect()
    }

    #[test]
    fn the_diagnostic_aid_is_committed_before_signature_up_to_the_ceiling() {
        for status in [RecordedStatus::Draft, RecordedStatus::InReview] {
            assert!(codes(&diagnostic_aid(status, 750_000)).is_empty());
            assert_eq!(codes(&diagnostic_aid(status, 750_001)), ["DIAGNOSTIC_AID_OVER_CEILING"]);
        }
        // Signed, it is money as any other: no ceiling.
        assert!(codes(&diagnostic_aid(RecordedStatus::Signed, 2_000_000)).is_empty());
        // Ended, it is not committed at all.
        assert_eq!(codes(&diagnostic_aid(RecordedStatus::Terminated, 1)), ["CONTRACT_NOT_SIGNED"]);
        // Another programme still waits for the signature.
        assert_eq!(codes(&facts(CommitmentStatus::Draft, RecordedStatus::Draft)), ["CONTRACT_NOT_SIGNED"]);
    }

    #[test]
    fn a_draft_is_committed_under_a_signed_contract_only() {
        let signed = facts(CommitmentStatus::Draft, RecordedStatus::Signed);
        assert_eq!(transition(&signed, CommitmentAction::Commit).ok(), Some(CommitmentStatus::Committed));
        for contract_status in [RecordedStatus::Terminated, RecordedStatus::InReview, RecordedStatus::Superseded] {
            let unmet = transition(&facts(CommitmentStatus::Draft, contract_status), CommitmentAction::Commit)
                .expect_err("refused");
            assert_eq!(unmet.iter().map(|u| u.code).collect::<Vec<_>>(), ["CONTRACT_NOT_SIGNED"]);
        }
    }

    #[test]
    fn a_correction_before_signature_keeps_the_diagnostic_aid_within_the_ceiling() {
        let committed = |programme, total_cents, contract_status| CommitmentFacts {
            status: CommitmentStatus::Committed,
            programme,
            total_cents,
            ..facts(CommitmentStatus::Committed, contract_status)
        };
        let codes = |facts: &CommitmentFacts| {
            check_correction_before_signature(facts)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|error| (error.pointer.unwrap_or_default(), error.code))
                .collect::<Vec<_>>()
        };
        let diagnostic = Programme::AideDiagnostic;
        assert!(codes(&committed(diagnostic, 750_000, RecordedStatus::Draft)).is_empty());
        assert_eq!(
            codes(&committed(diagnostic, 750_001, RecordedStatus::InReview)),
            [("/years".to_owned(), "DIAGNOSTIC_AID_OVER_CEILING".to_owned())]
        );
        assert_eq!(
            codes(&committed(Programme::Coordination, 1, RecordedStatus::Draft)),
            [("/programme".to_owned(), "CONTRACT_NOT_SIGNED".to_owned())]
        );
        assert!(codes(&committed(Programme::Coordination, 2_000_000, RecordedStatus::Signed)).is_empty());
    }

    #[test]
    fn every_unmet_condition_is_listed() {
        let bare = CommitmentFacts {
            status: CommitmentStatus::Closed,
            has_decision_date: false,
            contract_status: RecordedStatus::Draft,
            programme: Programme::PrestationService,
            total_cents: 0,
            diagnostic_aid_ceiling_cents: 750_000,
        };
        let codes: Vec<_> =
            transition(&bare, CommitmentAction::Commit).expect_err("refused").iter().map(|u| u.code).collect();
        assert_eq!(codes, ["WRONG_STATUS", "DECISION_DATE_REQUIRED", "CONTRACT_NOT_SIGNED"]);
    }

    #[test]
    fn only_a_committed_commitment_closes() {
        let committed = facts(CommitmentStatus::Committed, RecordedStatus::Terminated);
        assert_eq!(transition(&committed, CommitmentAction::Close).ok(), Some(CommitmentStatus::Closed));
        assert!(transition(&facts(CommitmentStatus::Draft, RecordedStatus::Signed), CommitmentAction::Close).is_err());
    }

    #[test]
    fn edits_deletions_and_payments_follow_the_status() {
        assert_eq!(check_edit(CommitmentStatus::Draft, false), Ok(()));
        assert_eq!(check_edit(CommitmentStatus::Committed, false), Err(EditRefusal::ReasonRequired));
        assert_eq!(check_edit(CommitmentStatus::Committed, true), Ok(()));
        assert_eq!(check_edit(CommitmentStatus::Closed, true), Err(EditRefusal::Closed));
        assert!(can_delete(CommitmentStatus::Draft, 0));
        assert!(!can_delete(CommitmentStatus::Draft, 1));
        assert!(!can_delete(CommitmentStatus::Committed, 0));
        assert!(accepts_payments(CommitmentStatus::Committed));
        assert!(!accepts_payments(CommitmentStatus::Closed));
    }
}
