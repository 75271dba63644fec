//! Which events mail whom (contract v1.2, "E-mail notifications"): the
//! requester (the ticket's contact) hears of every public change the team
//! makes, the team (the org policy's `notify_email`) of every customer
//! message, and both of an open and a close. Internal comments,
//! attachments, text-module and policy changes mail nobody.

use crate::events::Event;
use crate::types::Visibility;

/// Who a mail goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The ticket's contact.
    Requester,
    /// The org's team (`notify_email`).
    Team,
}

impl Side {
    /// The name used in `Message-ID`s (`requester`, `team`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Side::Requester => "requester",
            Side::Team => "team",
        }
    }
}

/// What a mail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A ticket (or a follow-up) was opened.
    Opened,
    /// An agent or first-level support answered publicly.
    TeamReply,
    /// The customer wrote publicly.
    CustomerMessage,
    /// The ticket was escalated to first-level support.
    Escalated,
    /// Part of the order was refunded.
    Refunded,
    /// The ticket was closed.
    Closed,
}

impl MailKind {
    /// Every kind, for tests that render them all.
    pub const ALL: [MailKind; 6] = [
        MailKind::Opened,
        MailKind::TeamReply,
        MailKind::CustomerMessage,
        MailKind::Escalated,
        MailKind::Refunded,
        MailKind::Closed,
    ];

    /// The template's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MailKind::Opened => "opened",
            MailKind::TeamReply => "team_reply",
            MailKind::CustomerMessage => "customer_message",
            MailKind::Escalated => "escalated",
            MailKind::Refunded => "refunded",
            MailKind::Closed => "closed",
        }
    }
}

/// The mails `event` calls for, by side: the contract's table.
pub fn mails_for(event: &Event) -> Vec<(Side, MailKind)> {
    match event {
        Event::TicketOpened(_) => vec![
            (Side::Requester, MailKind::Opened),
            (Side::Team, MailKind::Opened),
        ],
        Event::CommentAdded(comment) if comment.visibility == Visibility::Public => {
            if comment.author.role.answers_for_org() {
                vec![(Side::Requester, MailKind::TeamReply)]
            } else {
                vec![(Side::Team, MailKind::CustomerMessage)]
            }
        }
        Event::Escalated(_) => vec![(Side::Requester, MailKind::Escalated)],
        Event::RefundIssued(_) => vec![(Side::Requester, MailKind::Refunded)],
        Event::TicketClosed(_) => vec![
            (Side::Requester, MailKind::Closed),
            (Side::Team, MailKind::Closed),
        ],
        Event::CommentAdded(_)
        | Event::FollowUpOpened(_)
        | Event::PolicySet(_)
        | Event::TextModuleSaved(_)
        | Event::TextModuleRemoved(_)
        | Event::AttachmentAdded(_) => Vec::new(),
    }
}
