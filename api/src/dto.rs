//! Request bodies as the contract spells them. Unknown fields are refused
//! (422 `unknown_field`); values are parsed into domain types in `parse`.

use docket_domain::types::{Channel, EscalationReason, Impact, Resolution, Visibility};
use serde::Deserialize;
use utoipa::ToSchema;

/// Why the customer writes: a category and, optionally, more detail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// The reason's category, 1–64 characters; inbox filters and KPI rows
    /// use it.
    pub category: String,
    /// More about the reason, up to 2000 characters.
    pub detail: Option<String>,
}

/// The order a ticket is about; refunds are checked against it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The seller's order number, 1–64 characters; searchable with
    /// `GET /v1/tickets?order_number=`.
    pub number: String,
    /// The order's amount in minor units of `currency` (1250 is 12.50 EUR);
    /// the ticket's refunds together may not exceed it.
    pub amount_minor: u64,
    /// An ISO 4217 code in upper case, such as `EUR`.
    pub currency: String,
}

/// The person a ticket is about: notifications go to this address.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// An RFC 5322 addr-spec, at most 254 characters (422 `invalid_email`).
    pub email: String,
    /// A display name, 1–200 characters without control characters (422
    /// `invalid_contact_name`).
    pub name: Option<String>,
    /// `en` (the default), `it`, `fr` or `de` (422 `unsupported_language`).
    pub language: Option<String>,
}

/// `POST /v1/tickets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicketBody {
    /// The ticket's subject, 1–200 characters.
    pub subject: String,
    /// What happened, 1–20000 characters.
    pub description: String,
    /// Why the customer writes.
    pub reason: ReasonBody,
    /// The order the ticket is about; a ticket without one cannot be
    /// refunded (422 `no_order`).
    pub order: Option<OrderBody>,
    /// The customer's code at the seller, 1–64 characters.
    pub customer_code: Option<String>,
    /// When the incident happened, `YYYY-MM-DD`: not in the future, nor
    /// older than the org's intake window.
    pub incident_date: Option<String>,
    /// How badly the customer is affected: `low`, `medium` (the default),
    /// `high` or `critical`.
    #[schema(value_type = Option<String>, example = "medium")]
    pub impact: Option<Impact>,
    /// How the ticket reached the org: `portal` (the default), `email`,
    /// `phone`, `chat` or `api`.
    #[schema(value_type = Option<String>, example = "portal")]
    pub channel: Option<Channel>,
    /// Required when the token's org is `*`.
    pub org: Option<String>,
    /// The requester, who is mailed about the ticket.
    pub contact: Option<ContactBody>,
    /// The storefront the order was placed on, `^[a-z0-9][a-z0-9._-]{0,62}$`
    /// (422 `invalid_sales_channel`).
    pub sales_channel: Option<String>,
}

/// `POST /v1/tickets/{id}/follow-ups`: as open, every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    /// The new ticket's subject, 1–200 characters; the parent's when omitted.
    pub subject: Option<String>,
    /// What happened, 1–20000 characters; the parent's when omitted.
    pub description: Option<String>,
    /// Why the customer writes; the parent's when omitted.
    pub reason: Option<ReasonBody>,
    /// The order the ticket is about; the parent's when omitted.
    pub order: Option<OrderBody>,
    /// The customer's code at the seller, 1–64 characters; the parent's
    /// when omitted.
    pub customer_code: Option<String>,
    /// When the incident happened, `YYYY-MM-DD`; the parent's when omitted.
    /// Only a date given here is checked against today and the intake window.
    pub incident_date: Option<String>,
    /// How badly the customer is affected: `low`, `medium`, `high` or
    /// `critical`; the parent's when omitted.
    #[schema(value_type = Option<String>)]
    pub impact: Option<Impact>,
    /// How the ticket reached the org: `portal`, `email`, `phone`, `chat` or
    /// `api`; the parent's when omitted.
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    /// Must be the parent's org when given.
    pub org: Option<String>,
    /// The requester; the parent's when omitted or null.
    pub contact: Option<ContactBody>,
    /// The order's storefront; the parent's when omitted.
    pub sales_channel: Option<String>,
}

/// `POST /v1/tickets/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// The comment's text, 1–20000 characters; exactly one of `body` and
    /// `text_module` (422 `body_or_text_module`).
    pub body: Option<String>,
    /// The name of one of the ticket's org's text modules, filled with the
    /// ticket's values (agents and support only).
    pub text_module: Option<String>,
    /// Who sees it: `public` (the default) or `internal`; customers never
    /// see internal comments and may not post them (403).
    #[schema(value_type = Option<String>, example = "public")]
    pub visibility: Option<Visibility>,
}

/// `POST /v1/tickets/{id}/escalations`: hand the ticket to first-level
/// support.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateBody {
    /// Why support is needed: `cannot_help`, `not_addressed_to_seller`,
    /// `invoice_question`, `payment_provider`, `account_access` or `other`.
    #[schema(value_type = String, example = "cannot_help")]
    pub reason: EscalationReason,
    /// A note for support, up to 2000 characters.
    pub note: Option<String>,
}

/// `POST /v1/tickets/{id}/refunds`: a partial refund of the ticket's order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// The amount to refund in minor units, greater than 0; with the earlier
    /// refunds it may not exceed the order's amount (422 `refund_exceeds_order`).
    pub amount_minor: u64,
    /// The order's currency, such as `EUR` (else 422 `currency_mismatch`).
    pub currency: String,
    /// Why the refund is made, 1–500 characters.
    pub reason: String,
}

/// `POST /v1/tickets/{id}/close`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// How the ticket ended: `resolved`, `duplicate`, `no_response` or
    /// `rejected`.
    #[schema(value_type = String, example = "resolved")]
    pub resolution: Resolution,
    /// A closing note, up to 2000 characters.
    pub note: Option<String>,
}

/// The business calendar an org's SLA hours are counted on; an omitted
/// part takes the contract's default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    /// An IANA time zone name, such as `Europe/Rome`, in any case; default
    /// `UTC`.
    pub timezone: Option<String>,
    /// `mon`..`sun` or `monday`..`sunday`, in any case; default Monday to
    /// Friday.
    pub working_days: Option<Vec<String>>,
    /// `HH:MM-HH:MM`, or several such intervals joined by commas, not
    /// overlapping (`24:00` only as an end); default `00:00-24:00`.
    pub hours: Option<String>,
    /// Local dates `YYYY-MM-DD` on which nobody works, at most 500.
    pub holidays: Option<Vec<String>>,
}

/// `PUT /v1/orgs/{org}/policy`: omitted fields take the contract's defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// How many days after the incident a ticket may still be opened,
    /// 1–3650; default 14.
    pub intake_window_days: Option<u32>,
    /// Fields every new ticket must have, from `customer_code`, `order`,
    /// `incident_date` and `reason_detail`; default none.
    pub required_fields: Option<Vec<String>>,
    /// The `first_response` target in business hours, 1–8760; default 48.
    pub first_response_hours: Option<u32>,
    /// The `next_response` target in business hours, 1–8760; default 48.
    pub next_response_hours: Option<u32>,
    /// The `resolution` target in business hours, 1–8760; default none (no
    /// resolution clock).
    pub resolution_hours: Option<u32>,
    /// The calendar SLA hours are counted on; default UTC, Monday to
    /// Friday, all day.
    pub calendar: Option<CalendarBody>,
    /// The org team's address for notifications, validated as a contact's
    /// `email`; default none.
    pub notify_email: Option<String>,
}

/// `PUT /v1/orgs/{org}/text-modules/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextModuleBody {
    /// Plain text, 1–100 characters.
    pub title: String,
    /// 1–20000 characters; placeholders `{{ticket.number}}`,
    /// `{{ticket.subject}}`, `{{order.number}}`, `{{contact.name}}`,
    /// `{{customer_code}}`, `{{sales_channel}}`, `{{actor.sub}}`.
    pub body: String,
    /// The sales channels it is for, at most 50, a set; default every
    /// channel.
    pub sales_channels: Option<Vec<String>>,
}

/// `POST /v1/admin/clock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// The test clock's new time, RFC 3339; never before its current time
    /// (409 `clock_would_go_back`).
    pub now: String,
}

/// `POST /v1/tickets/{id}/attachments`, as `multipart/form-data` parts.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct AttachmentForm {
    /// The file, with a filename: PNG, JPEG, GIF, WebP, PDF, MP4, WebM,
    /// QuickTime or plain text, told from its bytes; at most
    /// `--attachment-max-bytes` (default 26214400 bytes).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `public` (the default) or `internal`.
    pub visibility: Option<String>,
}
