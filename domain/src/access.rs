//! Who may do and read what: every access rule of the contract, held once
//! for every edge (the JSON API, the console, the tools).
//!
//! - [`Action`]: which role may try a command at all, the first check of
//!   every command, made before any ticket is looked at so that a refusal
//!   reveals nothing about tickets.
//! - [`Read`]: which role (and org scope) may ask which query.
//! - [`Scope`] and [`can_see`]: which tickets an actor sees (its orgs; for
//!   first-level support, escalated tickets only).
//! - [`CommentsShown`]: whether internal comments are shown (never to
//!   customers).
//! - [`org_filter`]: which org a read across orgs may name.

use std::fmt;

use crate::error::DomainError;
use crate::types::{Actor, OrgId, OrgScope, Role};

/// Something an actor may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open a ticket.
    OpenTicket,
    /// Open a follow-up of a closed ticket.
    OpenFollowUp,
    /// A public comment.
    Comment,
    /// An internal comment, never shown to customers.
    CommentInternally,
    /// Hand a ticket to first-level support.
    Escalate,
    /// Issue a partial refund.
    Refund,
    /// Close a ticket.
    Close,
    /// Set an org's policy.
    SetPolicy,
    /// Save or remove an org's text modules.
    ManageTextModules,
    /// Make a comment from a text module.
    UseTextModule,
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
            Action::ManageTextModules => matches!(role, Agent | Admin),
            Action::UseTextModule => matches!(role, Agent | Support),
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

    /// The action in words, for error messages ("a customer may not ...").
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
            Action::ManageTextModules => "manage text modules",
            Action::UseTextModule => "use a text module",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A query an actor may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Read {
    /// Ticket views, histories and search.
    Tickets,
    /// Inboxes and SLA lists: the lists people work from.
    Inboxes,
    /// KPI rows (`GET /v1/kpis`).
    Kpis,
    /// The whole log in order (`GET /v1/events`).
    EventFeed,
    /// An org's policy.
    Policy,
    /// An org's text modules.
    TextModules,
}

impl Read {
    /// The contract's roles table for queries. The event feed is for
    /// platform-wide auditors and admins only; which org's policy an actor
    /// reads is [`may_read_policy_of`].
    pub fn is_permitted_for(&self, actor: &Actor) -> bool {
        use Role::*;
        match self {
            Read::Tickets => actor.role != Analyst,
            Read::Inboxes => matches!(actor.role, Agent | Support | Auditor | Admin),
            Read::Kpis => matches!(actor.role, Analyst | Admin | Auditor | Agent),
            Read::EventFeed => {
                matches!(actor.role, Auditor | Admin) && actor.org == OrgScope::Platform
            }
            Read::Policy => matches!(actor.role, Admin | Auditor | Agent),
            Read::TextModules => matches!(actor.role, Agent | Support | Auditor | Admin),
        }
    }

    /// `Ok` if `actor` may ask this at all, else `ReadForbidden`.
    pub fn permit(&self, actor: &Actor) -> Result<(), DomainError> {
        if self.is_permitted_for(actor) {
            Ok(())
        } else {
            Err(DomainError::ReadForbidden { read: *self })
        }
    }

    /// Who may ask it, said to the one who may not.
    pub fn refusal(&self) -> &'static str {
        match self {
            Read::Tickets => "analysts may read KPIs only",
            Read::Inboxes => "inboxes are for agents, support, auditors and admins",
            Read::Kpis => "KPIs are for analysts, agents, auditors and admins",
            Read::EventFeed => "the event feed is for platform-wide auditors and admins",
            Read::Policy => "only admins, auditors and the org's agents read its policy",
            Read::TextModules => "text modules are for agents, support, auditors and admins",
        }
    }
}

/// Whether `actor` may read `org`'s policy: admins and auditors of a scope
/// covering it, and the org's own agents.
pub fn may_read_policy_of(actor: &Actor, org: &OrgId) -> Result<(), DomainError> {
    Read::Policy.permit(actor)?;
    let may = match actor.role {
        Role::Agent => actor.org == OrgScope::Org(org.clone()),
        _ => actor.org.covers(org),
    };
    if may {
        Ok(())
    } else {
        Err(DomainError::ReadForbidden { read: Read::Policy })
    }
}

/// The org a read across orgs (inbox, SLA, KPIs) is about: an org-scoped
/// token reads its own org whether it names it or not, and naming another
/// is `ForbiddenOrgRead`; a platform token reads what it names (or all).
pub fn org_filter(actor: &Actor, asked: Option<OrgId>) -> Result<Option<OrgId>, DomainError> {
    match (&actor.org, asked) {
        (OrgScope::Org(own), Some(asked)) if *own != asked => Err(DomainError::ForbiddenOrgRead {
            allowed: own.clone(),
            requested: asked,
        }),
        (OrgScope::Org(own), _) => Ok(Some(own.clone())),
        (OrgScope::Platform, asked) => Ok(asked),
    }
}

/// Which tickets a reader may see: the token's orgs, and for first-level
/// support only escalated tickets. The read models filter with it where no
/// domain `Ticket` is at hand; [`can_see`] is the same rule for one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The orgs whose tickets the reader sees.
    pub orgs: OrgScope,
    /// Support sees a ticket only once it has been escalated.
    pub escalated_only: bool,
}

impl Scope {
    /// The scope of a token's actor.
    pub fn of(actor: &Actor) -> Scope {
        Scope {
            orgs: actor.org.clone(),
            escalated_only: actor.role == Role::Support,
        }
    }

    /// Whether a ticket of `org`, escalated or not, is in the scope.
    pub fn covers(&self, org: &OrgId, escalated: bool) -> bool {
        self.orgs.covers(org) && (escalated || !self.escalated_only)
    }
}

/// Whether `actor` may see a ticket of `org` that is (or is not) escalated.
/// Whether the role may read tickets at all is [`Read::Tickets`].
pub fn can_see(actor: &Actor, org: &OrgId, escalated: bool) -> bool {
    Scope::of(actor).covers(org, escalated)
}

/// Which comments (and comment events) a reader is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentsShown {
    /// Public and internal: staff, auditors, admins.
    All,
    /// Public only: customers never see internal notes.
    PublicOnly,
}

impl CommentsShown {
    /// What `actor` is shown.
    pub fn to(actor: &Actor) -> CommentsShown {
        match actor.role {
            Role::Customer => CommentsShown::PublicOnly,
            _ => CommentsShown::All,
        }
    }

    /// Whether a comment of `visibility` is shown.
    pub fn shows(&self, visibility: crate::types::Visibility) -> bool {
        match self {
            CommentsShown::All => true,
            CommentsShown::PublicOnly => visibility == crate::types::Visibility::Public,
        }
    }
}
