//! The lifecycle of a funding commitment, beside the contract's in `lifecycle.rs`: draft →
//! committed → closed, and what each state allows. Pure functions of facts the handler reads.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::RecordedStatus;
use super::funding::CommitmentStatus;
use super::lifecycle::{Unmet, unmet};

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
        if facts.contract_status != RecordedStatus::Signed {
            out.push(unmet(
                "CONTRACT_NOT_SIGNED",
                format!("money is committed under a signed contract; this one is {}", facts.contract_status),
            ));
        }
    }
    if out.is_empty() { Ok(target) } else { Err(out) }
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
        CommitmentFacts { status, has_decision_date: true, contract_status }
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
    fn every_unmet_condition_is_listed() {
        let bare = CommitmentFacts {
            status: CommitmentStatus::Closed,
            has_decision_date: false,
            contract_status: RecordedStatus::Draft,
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
