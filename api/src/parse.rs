//! Request bodies into domain commands: every value is parsed here, at the
//! edge, into a type that cannot hold an illegal one.

use std::num::NonZeroU64;

use docket_domain::calendar::{BusinessCalendar, CalendarSpec};
use docket_domain::contact::{Contact, ContactName, EmailAddress, Language, SalesChannel};
use docket_domain::error::DomainError;
use docket_domain::policy::{OrgPolicy, RequiredField, SetPolicy, ValidPolicy};
use docket_domain::text::{
    CommentBody, CustomerCode, Description, Note, OrderNumber, ReasonCategory, ReasonDetail,
    RefundReason, Subject, TextModuleBody, TextModuleTitle,
};
use docket_domain::text_module::{SaveTextModule, TextModuleCommand, TextModuleName};
use docket_domain::ticket::{
    AddComment, CloseTicket, Command, CommentText, Escalate, IssueRefund, OpenFollowUp, OpenTicket,
    OrderInput, ReasonInput,
};
use docket_domain::types::{Currency, Money, OrgId, TicketId, TicketNumber};
use time::Date;
use uuid::Uuid;

use crate::dto;
use crate::problem::{edge, ApiError};

/// The parts of an open request that do not need fresh ids.
pub struct OpenRequest {
    /// The body's `org`, which picks the policy the open is decided under.
    pub org: Option<OrgId>,
    subject: Subject,
    description: Description,
    reason: ReasonInput,
    order: Option<OrderInput>,
    customer_code: Option<CustomerCode>,
    incident_date: Option<Date>,
    contact: Option<Contact>,
    sales_channel: Option<SalesChannel>,
    body: dto::OpenTicketBody,
}

impl OpenRequest {
    /// Parses a `POST /v1/tickets` body, or answers 422 for its first bad field.
    pub fn parse(body: dto::OpenTicketBody) -> Result<OpenRequest, ApiError> {
        Ok(OpenRequest {
            org: optional_org(body.org.as_deref())?,
            subject: Subject::parse(&body.subject)?,
            description: Description::parse(&body.description)?,
            reason: reason(&body.reason)?,
            order: body.order.as_ref().map(order).transpose()?,
            customer_code: CustomerCode::parse_optional(body.customer_code.as_deref())?,
            incident_date: optional_date("incident_date", body.incident_date.as_deref())?,
            contact: body.contact.as_ref().map(contact).transpose()?,
            sales_channel: optional_sales_channel(body.sales_channel.as_deref())?,
            body,
        })
    }

    /// The open command, with the new ticket's freshly drawn id and number.
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
            contact: self.contact.clone(),
            sales_channel: self.sales_channel.clone(),
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
    contact: Option<Contact>,
    sales_channel: Option<SalesChannel>,
    body: dto::FollowUpBody,
}

impl FollowUpRequest {
    /// Parses a `POST /v1/tickets/{id}/follow-ups` body, or answers 422 for its
    /// first bad field.
    pub fn parse(body: dto::FollowUpBody) -> Result<FollowUpRequest, ApiError> {
        Ok(FollowUpRequest {
            org: optional_org(body.org.as_deref())?,
            subject: Subject::parse_optional(body.subject.as_deref())?,
            description: Description::parse_optional(body.description.as_deref())?,
            reason: body.reason.as_ref().map(reason).transpose()?,
            order: body.order.as_ref().map(order).transpose()?,
            customer_code: CustomerCode::parse_optional(body.customer_code.as_deref())?,
            incident_date: optional_date("incident_date", body.incident_date.as_deref())?,
            contact: body.contact.as_ref().map(contact).transpose()?,
            sales_channel: optional_sales_channel(body.sales_channel.as_deref())?,
            body,
        })
    }

    /// The follow-up command, with the new ticket's freshly drawn id and number.
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
            contact: self.contact.clone(),
            sales_channel: self.sales_channel.clone(),
        }
    }
}

/// A `POST /v1/tickets/{id}/comments` body as a command, with a new comment id.
pub fn comment(body: dto::CommentBody) -> Result<Command, ApiError> {
    let text = match (&body.body, &body.text_module) {
        (Some(text), None) => CommentText::Written(CommentBody::parse(text)?),
        (None, Some(name)) => {
            CommentText::FromModule(TextModuleName::parse(name).map_err(|_| {
                ApiError::from(DomainError::UnknownTextModule {
                    name: name.chars().take(64).collect(),
                })
            })?)
        }
        _ => return Err(edge::body_or_text_module()),
    };
    Ok(Command::Comment(AddComment {
        comment_id: Uuid::now_v7(),
        body: text,
        visibility: body.visibility.unwrap_or_default(),
    }))
}

/// A `contact` object as the domain's `Contact`.
pub fn contact(body: &dto::ContactBody) -> Result<Contact, ApiError> {
    Ok(Contact {
        email: EmailAddress::parse(&body.email)?,
        name: body.name.as_deref().map(ContactName::parse).transpose()?,
        language: match &body.language {
            Some(language) => Language::parse(language)?,
            None => Language::default(),
        },
    })
}

/// An optional `sales_channel` (422 `invalid_sales_channel`).
pub fn optional_sales_channel(text: Option<&str>) -> Result<Option<SalesChannel>, ApiError> {
    Ok(text.map(SalesChannel::parse).transpose()?)
}

/// A `PUT /v1/orgs/{org}/text-modules/{name}` body as a command.
pub fn save_text_module(
    org: OrgId,
    name: TextModuleName,
    body: dto::TextModuleBody,
) -> Result<TextModuleCommand, ApiError> {
    let sales_channels = body
        .sales_channels
        .iter()
        .flatten()
        .map(|channel| SalesChannel::parse(channel))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TextModuleCommand::Save(SaveTextModule {
        org,
        name,
        title: TextModuleTitle::parse(&body.title)?,
        body: TextModuleBody::parse(&body.body)?,
        sales_channels,
    }))
}

/// A `POST /v1/tickets/{id}/escalations` body as a command.
pub fn escalate(body: dto::EscalateBody) -> Result<Command, ApiError> {
    Ok(Command::Escalate(Escalate {
        reason: body.reason,
        note: Note::parse_optional(body.note.as_deref())?,
    }))
}

/// A `POST /v1/tickets/{id}/refunds` body as a command, with a new refund id.
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

/// A `POST /v1/tickets/{id}/close` body as a command.
pub fn close(body: dto::CloseBody) -> Result<Command, ApiError> {
    Ok(Command::Close(CloseTicket {
        resolution: body.resolution,
        note: Note::parse_optional(body.note.as_deref())?,
    }))
}

/// A `PUT /v1/orgs/{org}/policy` body as a checked policy for `org`; omitted
/// fields take the contract's defaults (422 `invalid_policy` for a bad value).
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
    let notify_email = body
        .notify_email
        .as_deref()
        .map(EmailAddress::parse)
        .transpose()?;
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
        notify_email,
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

/// An `org` given in a body or query: an org id, or 422 `invalid_field`.
pub fn optional_org(text: Option<&str>) -> Result<Option<OrgId>, ApiError> {
    text.map(|text| {
        OrgId::parse(text).ok_or_else(|| {
            ApiError::invalid("invalid_field", "org must match ^[a-z0-9][a-z0-9_-]{0,62}$")
        })
    })
    .transpose()
}

/// A `YYYY-MM-DD` value of `field`, if given, or 422 `invalid_field` naming it.
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
