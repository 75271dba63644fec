//! Who may do what, by role alone: the first check of every command, made
//! before any ticket is looked at so that a refusal reveals nothing about
//! tickets. Which tickets an actor sees is `ticket::can_see`.

use std::fmt;

use crate::error::DomainError;
use crate::types::Role;

/// Something an actor may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    OpenTicket,
    OpenFollowUp,
    /// A public comment.
    Comment,
    CommentInternally,
    Escalate,
    Refund,
    Close,
    SetPolicy,
}

impl Action {
    /// The contract's roles table. Auditors, analysts and admins change no
    /// ticket; only admins set policies.
    pub fn is_permitted_for(&self, role: Role) -> bool {
        use Role::*;
        match self {
            Action::OpenTicket | Action::OpenFollowUp => matches!(role, Customer | Agent),
            Action::Comment => matches!(role, Customer | Agent | Support),
            Action::CommentInternally => matches!(role, Agent | Support),
            Action::Escalate => matches!(role, Agent),
            Action::Refund | Action::Close => matches!(role, Agent | Support),
            Action::SetPolicy => matches!(role, Admin),
        }
    }

    /// `Ok` if `role` may do this at all, else `Forbidden`.
    pub fn permit(&self, role: Role) -> Result<(), DomainError> {
        if self.is_permitted_for(role) {
            Ok(())
        } else {
            Err(DomainError::Forbidden {
                role,
                action: *self,
            })
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Action::OpenTicket => "open a ticket",
            Action::OpenFollowUp => "open a follow-up",
            Action::Comment => "comment",
            Action::CommentInternally => "post an internal comment",
            Action::Escalate => "escalate",
            Action::Refund => "refund",
            Action::Close => "close a ticket",
            Action::SetPolicy => "set an org policy",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
