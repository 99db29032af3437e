//! The filing state machine.
//!
//! ```text
//! draft ─submit→ submitted ─start-review→ provincial-review ─approve→ national-review ─approve→ approved
//!   ↑                                        │  (kinds without national review go straight to approved)
//! returned ←return─────────────────────────┘ (also from national-review); reject → rejected
//! approved ─(change filing submitted)→ change-submitted ─(change approved/rejected)→ approved
//! approved ─cancel→ cancelled
//! ```

use crate::domain::{FilingKind, Role, Status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user asks to do with a filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Submit,
    StartReview,
    Approve,
    Return,
    Reject,
    Cancel,
}

impl Action {
    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::StartReview => "start-review",
            Action::Approve => "approve",
            Action::Return => "return",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
        }
    }
    /// Parses the stable string form.
    pub fn parse(s: &str) -> Option<Action> {
        [
            Action::Submit,
            Action::StartReview,
            Action::Approve,
            Action::Return,
            Action::Reject,
            Action::Cancel,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a filing in state {from}")]
pub struct IllegalTransition {
    pub from: Status,
    pub action: &'static str,
}

/// The state after `action`, or why it is illegal.
pub fn next(from: Status, kind: FilingKind, action: Action) -> Result<Status, IllegalTransition> {
    use Status::*;
    let to = match (from, action) {
        (Draft | Returned, Action::Submit) => Submitted,
        (Submitted, Action::StartReview) => ProvincialReview,
        (ProvincialReview, Action::Approve) if kind.needs_national_review() => NationalReview,
        (ProvincialReview, Action::Approve) | (NationalReview, Action::Approve) => Approved,
        (ProvincialReview | NationalReview, Action::Return) => Returned,
        (ProvincialReview | NationalReview, Action::Reject) => Rejected,
        (Approved, Action::Cancel) => Cancelled,
        _ => {
            return Err(IllegalTransition {
                from,
                action: action.as_str(),
            });
        }
    };
    Ok(to)
}

/// Which role acts at a given state for a given action (the organisation or
/// province scope is checked by the caller).
pub fn actor_role_ok(role: Role, from: Status, action: Action) -> bool {
    match action {
        Action::Submit => role.is_provider(),
        Action::Cancel => matches!(role, Role::ProviderAdmin | Role::NationalReviewer),
        Action::StartReview => role == Role::ProvincialReviewer,
        Action::Approve | Action::Return | Action::Reject => match from {
            Status::NationalReview => role == Role::NationalReviewer,
            _ => role == Role::ProvincialReviewer,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn full_paths() {
        let k = FilingKind::GenaiFiling;
        let mut s = Draft;
        for a in [
            Action::Submit,
            Action::StartReview,
            Action::Approve,
            Action::Approve,
        ] {
            s = next(s, k, a).unwrap();
        }
        assert_eq!(s, Approved);
        assert_eq!(
            next(
                ProvincialReview,
                FilingKind::GenaiRegistration,
                Action::Approve
            ),
            Ok(Approved)
        );
        assert_eq!(
            next(ProvincialReview, FilingKind::Algorithm, Action::Approve),
            Ok(NationalReview)
        );
        assert_eq!(next(Approved, k, Action::Cancel), Ok(Cancelled));
        assert_eq!(next(NationalReview, k, Action::Return), Ok(Returned));
        assert_eq!(next(Returned, k, Action::Submit), Ok(Submitted));
    }

    #[test]
    fn every_illegal_pair_is_refused() {
        let mut legal = 0;
        for &from in Status::ALL {
            for a in [
                Action::Submit,
                Action::StartReview,
                Action::Approve,
                Action::Return,
                Action::Reject,
                Action::Cancel,
            ] {
                match next(from, FilingKind::GenaiFiling, a) {
                    Ok(_) => legal += 1,
                    Err(e) => assert!(e.to_string().contains(from.as_str())),
                }
            }
        }
        assert_eq!(legal, 10);
        assert!(next(Cancelled, FilingKind::Algorithm, Action::Approve).is_err());
        assert!(next(Rejected, FilingKind::Algorithm, Action::Submit).is_err());
        assert!(next(Draft, FilingKind::Algorithm, Action::Approve).is_err());
    }
}
