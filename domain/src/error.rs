//! The situations in which the domain refuses a command (and the one in
//! which stored bytes do not decode), as one enum.
//!
//! Each variant names the situation and carries what a caller needs to say
//! why. [`DomainError::code`] is the contract's stable snake_case `code`;
//! which HTTP status goes with it is the `api` crate's business, not ours.

use time::Date;

use crate::access::{Action, Read};
use crate::calendar::CalendarProblem;
use crate::codec::DecodeProblem;
use crate::types::{Currency, OrgId, Role, TicketId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The role may never do this, whatever the ticket (including a customer
    /// posting an internal comment). Checked before the ticket is looked at,
    /// so it leaks nothing about tickets.
    #[error("a {role} may not {action}", role = role.as_str())]
    Forbidden { role: Role, action: Action },

    /// The actor asked to act for an org other than the one it may act for
    /// here: an org token naming another org, or a follow-up naming an org
    /// other than its parent's.
    #[error("only org {allowed} may be acted for here, not {requested}")]
    ForbiddenOrg { allowed: OrgId, requested: OrgId },

    /// The actor may not ask this query at all (by role, or for the event
    /// feed by org scope; for a policy, not of that org).
    #[error("{}", read.refusal())]
    ReadForbidden { read: Read },

    /// An org-scoped token named another org in a read across orgs.
    #[error("a token of one org may not read another org's data")]
    ForbiddenOrgRead { allowed: OrgId, requested: OrgId },

    /// The ticket does not exist, or the actor may not see it. The two are
    /// one situation on purpose: an answer must not reveal that a ticket of
    /// another org exists.
    #[error("no such ticket")]
    NotFound,

    #[error("the ticket is closed")]
    TicketClosed,

    #[error("the ticket is already escalated")]
    AlreadyEscalated,

    #[error("a follow-up can only be opened on a closed ticket")]
    ParentNotClosed,

    #[error("the ticket has no order to refund")]
    NoOrder,

    #[error("the refund is in {refund} but the order is in {order}")]
    CurrencyMismatch { order: Currency, refund: Currency },

    /// `left_minor` is what may still be refunded (order amount minus the
    /// refunds already issued).
    #[error("the refunds would exceed the order amount; {left_minor} minor units are left")]
    RefundExceedsOrder { left_minor: u64 },

    #[error("the incident date {} is after today ({})", crate::types::date::format(*incident_date), crate::types::date::format(*today))]
    IncidentDateInFuture { incident_date: Date, today: Date },

    #[error("the incident date {} is more than {window_days} days ago", crate::types::date::format(*incident_date))]
    IntakeWindowExpired {
        incident_date: Date,
        window_days: u32,
    },

    /// `field` is the contract's name of the field (`org`, `customer_code`,
    /// `order`, `incident_date`, `reason_detail`).
    #[error("the field {field} is required")]
    MissingField { field: &'static str },

    /// A ticket with this id already exists (the caller's fresh id was not).
    #[error("ticket {ticket_id} already exists")]
    TicketExists { ticket_id: TicketId },

    #[error("the field {field} {problem}")]
    InvalidField {
        field: &'static str,
        problem: TextProblem,
    },

    #[error("the policy's {field} {problem}")]
    InvalidPolicy {
        field: &'static str,
        problem: PolicyProblem,
    },

    /// Stored event bytes that no schema of this build reads (a corrupt
    /// copy, or an event type from a newer build). Not a refusal of a
    /// command: `codec::decode` returns it, and no contract code fits.
    #[error("stored event does not decode: {0}")]
    Undecodable(DecodeProblem),
}

/// A calendar refused by `BusinessCalendar::from_spec` is an invalid policy.
impl From<CalendarProblem> for DomainError {
    fn from(problem: CalendarProblem) -> DomainError {
        DomainError::InvalidPolicy {
            field: "calendar",
            problem: PolicyProblem::Calendar(problem),
        }
    }
}

impl DomainError {
    /// The contract's stable `code`; clients branch on it.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Forbidden { .. } => "forbidden",
            DomainError::ForbiddenOrg { .. } => "forbidden_org",
            DomainError::ReadForbidden { .. } => "forbidden",
            DomainError::ForbiddenOrgRead { .. } => "forbidden_org",
            DomainError::NotFound => "not_found",
            DomainError::TicketClosed => "ticket_closed",
            DomainError::AlreadyEscalated => "already_escalated",
            DomainError::ParentNotClosed => "parent_not_closed",
            DomainError::NoOrder => "no_order",
            DomainError::CurrencyMismatch { .. } => "currency_mismatch",
            DomainError::RefundExceedsOrder { .. } => "refund_exceeds_order",
            DomainError::IncidentDateInFuture { .. } => "incident_date_in_future",
            DomainError::IntakeWindowExpired { .. } => "intake_window_expired",
            DomainError::MissingField { .. } => "missing_field",
            DomainError::TicketExists { .. } => "ticket_exists",
            DomainError::InvalidField { .. } => "invalid_field",
            DomainError::InvalidPolicy { .. } => "invalid_policy",
            DomainError::Undecodable(_) => "internal",
        }
    }
}

/// Why a text field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TextProblem {
    /// Empty, or only whitespace, where a text is required.
    #[error("must not be blank")]
    Blank,
    /// Longer than its limit, counted in Unicode scalar values.
    #[error("has {chars} characters; at most {max_chars} are allowed")]
    TooLong { max_chars: usize, chars: usize },
}

/// Why a policy value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyProblem {
    #[error("is {value}; it must be between {min} and {max}")]
    OutOfRange { value: u64, min: u64, max: u64 },
    #[error("names {name:?}, which is not an IANA time zone")]
    UnknownTimeZone { name: String },
    #[error("has no working day")]
    NoWorkingDay,
    #[error("has bits set beyond Sunday")]
    UnknownWorkingDay,
    #[error("has no working hours")]
    NoWorkingHours,
    #[error("has an interval {start_minute}..{end_minute} that is empty or past 24:00")]
    BadInterval { start_minute: u16, end_minute: u16 },
    #[error("has intervals that overlap or are out of order")]
    OverlappingIntervals,
    #[error("has {count} entries; at most {max} are allowed")]
    TooMany { count: usize, max: usize },
    /// The contract's `calendar` parts, refused by `BusinessCalendar::from_spec`.
    #[error("is refused: {0}")]
    Calendar(CalendarProblem),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Currency, OrgId, Role, TicketId};

    #[test]
    fn every_situation_has_the_contracts_code() {
        let org = |name| OrgId::parse(name).expect("valid");
        let eur = Currency::parse("EUR").expect("valid");
        let usd = Currency::parse("USD").expect("valid");
        let day = time::macros::date!(2026 - 11 - 22);
        let cases = [
            (
                DomainError::Forbidden {
                    role: Role::Customer,
                    action: Action::CommentInternally,
                },
                "forbidden",
            ),
            (
                DomainError::ForbiddenOrg {
                    allowed: org("acme"),
                    requested: org("globex"),
                },
                "forbidden_org",
            ),
            (
                DomainError::ReadForbidden {
                    read: crate::access::Read::Kpis,
                },
                "forbidden",
            ),
            (
                DomainError::ForbiddenOrgRead {
                    allowed: org("acme"),
                    requested: org("globex"),
                },
                "forbidden_org",
            ),
            (DomainError::NotFound, "not_found"),
            (DomainError::TicketClosed, "ticket_closed"),
            (DomainError::AlreadyEscalated, "already_escalated"),
            (DomainError::ParentNotClosed, "parent_not_closed"),
            (DomainError::NoOrder, "no_order"),
            (
                DomainError::CurrencyMismatch {
                    order: eur,
                    refund: usd,
                },
                "currency_mismatch",
            ),
            (
                DomainError::RefundExceedsOrder { left_minor: 1 },
                "refund_exceeds_order",
            ),
            (
                DomainError::IncidentDateInFuture {
                    incident_date: day,
                    today: day,
                },
                "incident_date_in_future",
            ),
            (
                DomainError::IntakeWindowExpired {
                    incident_date: day,
                    window_days: 14,
                },
                "intake_window_expired",
            ),
            (DomainError::MissingField { field: "org" }, "missing_field"),
            (
                DomainError::TicketExists {
                    ticket_id: TicketId(uuid::Uuid::nil()),
                },
                "ticket_exists",
            ),
            (
                DomainError::InvalidField {
                    field: "subject",
                    problem: TextProblem::Blank,
                },
                "invalid_field",
            ),
            (
                DomainError::InvalidPolicy {
                    field: "calendar.working_days",
                    problem: PolicyProblem::NoWorkingDay,
                },
                "invalid_policy",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn messages_carry_the_data() {
        let error = DomainError::RefundExceedsOrder { left_minor: 1_000 };
        assert!(error.to_string().contains("1000"));
        let error = DomainError::IncidentDateInFuture {
            incident_date: time::macros::date!(2026 - 11 - 23),
            today: time::macros::date!(2026 - 11 - 22),
        };
        assert!(error.to_string().contains("2026-11-23"), "{error}");
    }
}
