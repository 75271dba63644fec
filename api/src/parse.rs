//! Request bodies into domain commands: every value is parsed here, at the
//! edge, into a type that cannot hold an illegal one.

use std::num::NonZeroU64;

use docket_domain::calendar::{BusinessCalendar, CalendarSpec};
use docket_domain::policy::{OrgPolicy, RequiredField, SetPolicy, ValidPolicy};
use docket_domain::text::{
    CommentBody, CustomerCode, Description, Note, OrderNumber, ReasonCategory, ReasonDetail,
    RefundReason, Subject,
};
use docket_domain::ticket::{
    AddComment, CloseTicket, Command, Escalate, IssueRefund, OpenFollowUp, OpenTicket, OrderInput,
    ReasonInput,
};
use docket_domain::types::{Currency, Money, OrgId, TicketId, TicketNumber};
use time::Date;
use uuid::Uuid;

use crate::dto;
use crate::problem::ApiError;

/// The parts of an open request that do not need fresh ids.
pub struct OpenRequest {
    pub org: Option<OrgId>,
    subject: Subject,
    description: Description,
    reason: ReasonInput,
    order: Option<OrderInput>,
    customer_code: Option<CustomerCode>,
    incident_date: Option<Date>,
    body: dto::OpenTicketBody,
}

impl OpenRequest {
    pub fn parse(body: dto::OpenTicketBody) -> Result<OpenRequest, ApiError> {
        Ok(OpenRequest {
            org: optional_org(body.org.as_deref())?,
            subject: Subject::parse(&body.subject)?,
            description: Description::parse(&body.description)?,
            reason: reason(&body.reason)?,
            order: body.order.as_ref().map(order).transpose()?,
            customer_code: CustomerCode::parse_optional(body.customer_code.as_deref())?,
            incident_date: optional_date("incident_date", body.incident_date.as_deref())?,
            body,
        })
    }

    pub fn command(&self, ticket_id: TicketId, number: TicketNumber) -> Command {
        Command::Open(OpenTicket {
            ticket_id,
            number,
            org: self.org.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            reason: self.reason.clone(),
            order: self.order.clone(),
            customer_code: self.customer_code.clone(),
            incident_date: self.incident_date,
            impact: self.body.impact,
            channel: self.body.channel,
        })
    }
}

/// A follow-up request, every field optional.
pub struct FollowUpRequest {
    org: Option<OrgId>,
    subject: Option<Subject>,
    description: Option<Description>,
    reason: Option<ReasonInput>,
    order: Option<OrderInput>,
    customer_code: Option<CustomerCode>,
    incident_date: Option<Date>,
    body: dto::FollowUpBody,
}

impl FollowUpRequest {
    pub fn parse(body: dto::FollowUpBody) -> Result<FollowUpRequest, ApiError> {
        Ok(FollowUpRequest {
            org: optional_org(body.org.as_deref())?,
            subject: Subject::parse_optional(body.subject.as_deref())?,
            description: Description::parse_optional(body.description.as_deref())?,
            reason: body.reason.as_ref().map(reason).transpose()?,
            order: body.order.as_ref().map(order).transpose()?,
            customer_code: CustomerCode::parse_optional(body.customer_code.as_deref())?,
            incident_date: optional_date("incident_date", body.incident_date.as_deref())?,
            body,
        })
    }

    pub fn command(&self, ticket_id: TicketId, number: TicketNumber) -> OpenFollowUp {
        OpenFollowUp {
            ticket_id,
            number,
            org: self.org.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            reason: self.reason.clone(),
            order: self.order.clone(),
            customer_code: self.customer_code.clone(),
            incident_date: self.incident_date,
            impact: self.body.impact,
            channel: self.body.channel,
        }
    }
}

pub fn comment(body: dto::CommentBody) -> Result<Command, ApiError> {
    Ok(Command::Comment(AddComment {
        comment_id: Uuid::now_v7(),
        body: CommentBody::parse(&body.body)?,
        visibility: body.visibility.unwrap_or_default(),
    }))
}

pub fn escalate(body: dto::EscalateBody) -> Result<Command, ApiError> {
    Ok(Command::Escalate(Escalate {
        reason: body.reason,
        note: Note::parse_optional(body.note.as_deref())?,
    }))
}

pub fn refund(body: dto::RefundBody) -> Result<Command, ApiError> {
    let amount_minor = NonZeroU64::new(body.amount_minor)
        .ok_or_else(|| ApiError::invalid("invalid_field", "amount_minor must be greater than 0"))?;
    Ok(Command::Refund(IssueRefund {
        refund_id: Uuid::now_v7(),
        amount_minor,
        // Three letters suffice: the refund must be in the order's currency
        // (422 `currency_mismatch` otherwise), which was checked against the
        // ISO list when the ticket was opened, or is what an older version
        // accepted then and must still be refundable.
        currency: Currency::parse(&body.currency).ok_or_else(|| {
            ApiError::invalid("invalid_field", "currency must be three upper-case letters")
        })?,
        reason: RefundReason::parse(&body.reason)?,
    }))
}

pub fn close(body: dto::CloseBody) -> Result<Command, ApiError> {
    Ok(Command::Close(CloseTicket {
        resolution: body.resolution,
        note: Note::parse_optional(body.note.as_deref())?,
    }))
}

pub fn policy(org: OrgId, body: dto::PolicyBody) -> Result<SetPolicy, ApiError> {
    let defaults = OrgPolicy::default();
    let mut required_fields = Vec::new();
    for name in body.required_fields.iter().flatten() {
        let field = RequiredField::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "invalid_policy",
                format!(
                    "required_fields: {name:?} is not one of customer_code, order, incident_date, reason_detail"
                ),
            )
        })?;
        required_fields.push(field);
    }
    let calendar = match body.calendar {
        None => defaults.calendar,
        Some(calendar) => BusinessCalendar::from_spec(&CalendarSpec {
            timezone: calendar.timezone,
            working_days: calendar.working_days,
            hours: calendar.hours,
            holidays: calendar.holidays,
        })
        .map_err(|error| ApiError::invalid("invalid_policy", format!("calendar: {error}")))?,
    };
    let policy = OrgPolicy {
        intake_window_days: body
            .intake_window_days
            .unwrap_or(defaults.intake_window_days),
        required_fields,
        first_response_hours: body
            .first_response_hours
            .unwrap_or(defaults.first_response_hours),
        next_response_hours: body
            .next_response_hours
            .unwrap_or(defaults.next_response_hours),
        resolution_hours: body.resolution_hours,
        calendar,
    };
    Ok(SetPolicy {
        org,
        policy: ValidPolicy::parse(policy)?,
    })
}

/// A path's org id (an unknown shape is simply no such org: 404).
pub fn path_org(text: &str) -> Result<OrgId, ApiError> {
    OrgId::parse(text).ok_or_else(ApiError::not_found)
}

/// A path's ticket id: anything but a UUID is 404, as an unknown ticket.
pub fn path_ticket(text: &str) -> Result<TicketId, ApiError> {
    Uuid::parse_str(text)
        .map(TicketId)
        .map_err(|_| ApiError::not_found())
}

pub fn optional_org(text: Option<&str>) -> Result<Option<OrgId>, ApiError> {
    text.map(|text| {
        OrgId::parse(text).ok_or_else(|| {
            ApiError::invalid("invalid_field", "org must match ^[a-z0-9][a-z0-9_-]{0,62}$")
        })
    })
    .transpose()
}

pub fn optional_date(field: &str, text: Option<&str>) -> Result<Option<Date>, ApiError> {
    text.map(|text| {
        docket_domain::types::date::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "invalid_field",
                format!("{field} must be a date YYYY-MM-DD"),
            )
        })
    })
    .transpose()
}

fn currency(text: &str) -> Result<Currency, ApiError> {
    Currency::parse_iso_4217(text).ok_or_else(|| {
        ApiError::invalid(
            "invalid_field",
            "currency must be a code of the ISO 4217 list, in upper case (such as EUR)",
        )
    })
}

fn reason(body: &dto::ReasonBody) -> Result<ReasonInput, ApiError> {
    Ok(ReasonInput {
        category: ReasonCategory::parse(&body.category)?,
        detail: ReasonDetail::parse_optional(body.detail.as_deref())?,
    })
}

fn order(body: &dto::OrderBody) -> Result<OrderInput, ApiError> {
    Ok(OrderInput {
        number: OrderNumber::parse(&body.number)?,
        amount: Money {
            amount_minor: body.amount_minor,
            currency: currency(&body.currency)?,
        },
    })
}
