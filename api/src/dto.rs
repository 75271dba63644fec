//! Request bodies as the contract spells them. Unknown fields are refused
//! (422 `unknown_field`); values are parsed into domain types in `parse`.

use docket_domain::types::{Channel, EscalationReason, Impact, Resolution, Visibility};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub category: String,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    pub number: String,
    pub amount_minor: u64,
    pub currency: String,
}

/// `POST /v1/tickets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicketBody {
    pub subject: String,
    pub description: String,
    pub reason: ReasonBody,
    pub order: Option<OrderBody>,
    pub customer_code: Option<String>,
    /// `YYYY-MM-DD`.
    pub incident_date: Option<String>,
    #[schema(value_type = Option<String>, example = "medium")]
    pub impact: Option<Impact>,
    #[schema(value_type = Option<String>, example = "portal")]
    pub channel: Option<Channel>,
    /// Required when the token's org is `*`.
    pub org: Option<String>,
}

/// `POST /v1/tickets/{id}/follow-ups`: as open, every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub subject: Option<String>,
    pub description: Option<String>,
    pub reason: Option<ReasonBody>,
    pub order: Option<OrderBody>,
    pub customer_code: Option<String>,
    pub incident_date: Option<String>,
    #[schema(value_type = Option<String>)]
    pub impact: Option<Impact>,
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    /// Must be the parent's org when given.
    pub org: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub body: String,
    #[schema(value_type = Option<String>, example = "public")]
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateBody {
    #[schema(value_type = String, example = "cannot_help")]
    pub reason: EscalationReason,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount_minor: u64,
    pub currency: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    #[schema(value_type = String, example = "resolved")]
    pub resolution: Resolution,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    pub timezone: Option<String>,
    pub working_days: Option<Vec<String>>,
    pub hours: Option<String>,
    pub holidays: Option<Vec<String>>,
}

/// `PUT /v1/orgs/{org}/policy`: omitted fields take the contract's defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub intake_window_days: Option<u32>,
    pub required_fields: Option<Vec<String>>,
    pub first_response_hours: Option<u32>,
    pub next_response_hours: Option<u32>,
    pub resolution_hours: Option<u32>,
    pub calendar: Option<CalendarBody>,
}

/// `POST /v1/admin/clock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// RFC 3339.
    pub now: String,
}
