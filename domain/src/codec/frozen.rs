//! Shapes of events as older schema versions wrote them, frozen like the
//! bytes they read, and their upcasters to today's shape. Never edit one:
//! add the next version beside it (see the module doc of `codec`).

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::calendar::BusinessCalendar;
use crate::events::{CommentAdded, Event, PolicySet, TicketOpened};
use crate::policy::{OrgPolicy, RequiredField};
use crate::types::{
    Author, Channel, Impact, Order, OrgId, Reason, TicketId, TicketNumber, Visibility,
};

/// `ticket_opened` v1: before contacts and sales channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TicketOpenedV1 {
    pub(crate) ticket_id: TicketId,
    pub(crate) number: TicketNumber,
    pub(crate) org: OrgId,
    pub(crate) subject: String,
    pub(crate) description: String,
    pub(crate) reason: Reason,
    pub(crate) order: Option<Order>,
    pub(crate) customer_code: Option<String>,
    #[serde(with = "crate::types::date::option")]
    pub(crate) incident_date: Option<Date>,
    pub(crate) impact: Impact,
    pub(crate) channel: Channel,
    pub(crate) opened_by: Author,
    pub(crate) follow_up_of: Option<TicketId>,
}

/// A ticket opened before contacts existed has none, and no sales channel.
impl From<TicketOpenedV1> for Event {
    fn from(old: TicketOpenedV1) -> Event {
        Event::TicketOpened(TicketOpened {
            ticket_id: old.ticket_id,
            number: old.number,
            org: old.org,
            subject: old.subject,
            description: old.description,
            reason: old.reason,
            order: old.order,
            customer_code: old.customer_code,
            incident_date: old.incident_date,
            impact: old.impact,
            channel: old.channel,
            opened_by: old.opened_by,
            follow_up_of: old.follow_up_of,
            contact: None,
            sales_channel: None,
        })
    }
}

/// `comment_added` v1: before text modules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CommentAddedV1 {
    pub(crate) comment_id: Uuid,
    pub(crate) author: Author,
    pub(crate) body: String,
    pub(crate) visibility: Visibility,
}

/// A comment written before text modules existed was written by hand.
impl From<CommentAddedV1> for Event {
    fn from(old: CommentAddedV1) -> Event {
        Event::CommentAdded(CommentAdded {
            comment_id: old.comment_id,
            author: old.author,
            body: old.body,
            visibility: old.visibility,
            text_module: None,
        })
    }
}

/// An org policy as `policy_set` v1 held it: before `notify_email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrgPolicyV1 {
    pub(crate) intake_window_days: u32,
    pub(crate) required_fields: Vec<RequiredField>,
    pub(crate) first_response_hours: u32,
    pub(crate) next_response_hours: u32,
    pub(crate) resolution_hours: Option<u32>,
    pub(crate) calendar: BusinessCalendar,
}

/// `policy_set` v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicySetV1 {
    pub(crate) org: OrgId,
    pub(crate) policy: OrgPolicyV1,
    pub(crate) set_by: Author,
}

/// A policy set before `notify_email` existed mails no team.
impl From<PolicySetV1> for Event {
    fn from(old: PolicySetV1) -> Event {
        let policy = old.policy;
        Event::PolicySet(PolicySet {
            org: old.org,
            policy: OrgPolicy {
                intake_window_days: policy.intake_window_days,
                required_fields: policy.required_fields,
                first_response_hours: policy.first_response_hours,
                next_response_hours: policy.next_response_hours,
                resolution_hours: policy.resolution_hours,
                calendar: policy.calendar,
                notify_email: None,
            },
            set_by: old.set_by,
        })
    }
}
