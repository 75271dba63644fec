//! The status machine, once: the ticket decider, the SLA clocks and the
//! ticket view all take a ticket's next status from [`after`].
//!
//! A new ticket is `open` (awaiting the org's answer). A public comment by
//! an agent or support moves it to `waiting`; a public comment by anyone
//! else (the customer) moves it back to `open`, escalated or not; an
//! escalation moves it to `waiting`; internal comments, refunds and
//! follow-up links change nothing; close moves it to `closed`, which is
//! final.

use crate::events::Event;
use crate::types::{Status, Visibility};

/// The status a ticket has after `event`, given the one it had before it.
pub fn after(current: Status, event: &Event) -> Status {
    if current == Status::Closed {
        return Status::Closed;
    }
    match event {
        Event::CommentAdded(comment) if comment.visibility == Visibility::Public => {
            if comment.author.role.answers_for_org() {
                Status::Waiting
            } else {
                Status::Open
            }
        }
        Event::Escalated(_) => Status::Waiting,
        Event::TicketClosed(_) => Status::Closed,
        Event::TicketOpened(_)
        | Event::CommentAdded(_)
        | Event::RefundIssued(_)
        | Event::FollowUpOpened(_)
        | Event::PolicySet(_)
        | Event::TextModuleSaved(_)
        | Event::TextModuleRemoved(_)
        | Event::AttachmentAdded(_) => current,
    }
}
