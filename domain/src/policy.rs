//! An org's policy: intake rules and SLA targets, an event-sourced stream of
//! its own (`policy-{org}`), so a change of policy is a recorded fact with a
//! time, and every clock can keep the policy in force when it started.

use serde::{Deserialize, Serialize};

use crate::calendar::BusinessCalendar;

/// A field an org may require on every new ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    CustomerCode,
    Order,
    IncidentDate,
    ReasonDetail,
}

impl RequiredField {
    pub fn parse(text: &str) -> Option<RequiredField> {
        Some(match text {
            "customer_code" => RequiredField::CustomerCode,
            "order" => RequiredField::Order,
            "incident_date" => RequiredField::IncidentDate,
            "reason_detail" => RequiredField::ReasonDetail,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RequiredField::CustomerCode => "customer_code",
            RequiredField::Order => "order",
            RequiredField::IncidentDate => "incident_date",
            RequiredField::ReasonDetail => "reason_detail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Reports are accepted only this many days after the incident.
    pub intake_window_days: u32,
    /// Sorted, without duplicates.
    pub required_fields: Vec<RequiredField>,
    pub first_response_hours: u32,
    pub next_response_hours: u32,
    pub resolution_hours: Option<u32>,
    pub calendar: BusinessCalendar,
}

impl Default for OrgPolicy {
    /// The contract's defaults, in force for an org that never set a policy.
    fn default() -> Self {
        OrgPolicy {
            intake_window_days: 14,
            required_fields: Vec::new(),
            first_response_hours: 48,
            next_response_hours: 48,
            resolution_hours: None,
            calendar: BusinessCalendar::default(),
        }
    }
}
