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

/// Why the domain refused a command or a query, or why stored bytes do not
/// decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The role may never do this, whatever the ticket (including a customer
    /// posting an internal comment). Checked before the ticket is looked at,
    /// so it leaks nothing about tickets.
    #[error("a {role} may not {action}", role = role.as_str())]
    Forbidden {
        /// The actor's role.
        role: Role,
        /// What it tried.
        action: Action,
    },

    /// The actor asked to act for an org other than the one it may act for
    /// here: an org token naming another org, or a follow-up naming an org
    /// other than its parent's.
    #[error("only org {allowed} may be acted for here, not {requested}")]
    ForbiddenOrg {
        /// The org the actor may act for here.
        allowed: OrgId,
        /// The org it named.
        requested: OrgId,
    },

    /// The actor may not ask this query at all (by role, or for the event
    /// feed by org scope; for a policy, not of that org).
    #[error("{}", read.refusal())]
    ReadForbidden {
        /// The query refused.
        read: Read,
    },

    /// An org-scoped token named another org in a read across orgs.
    #[error("a token of one org may not read another org's data")]
    ForbiddenOrgRead {
        /// The token's own org.
        allowed: OrgId,
        /// The org it named.
        requested: OrgId,
    },

    /// The ticket does not exist, or the actor may not see it. The two are
    /// one situation on purpose: an answer must not reveal that a ticket of
    /// another org exists.
    #[error("no such ticket")]
    NotFound,

    /// The ticket is closed, and nothing changes a closed ticket. Checked
    /// before the command's other rules.
    #[error("the ticket is closed")]
    TicketClosed,

    /// An escalation of a ticket that was escalated before.
    #[error("the ticket is already escalated")]
    AlreadyEscalated,

    /// A follow-up of a ticket that is not closed.
    #[error("a follow-up can only be opened on a closed ticket")]
    ParentNotClosed,

    /// A refund on a ticket without an order.
    #[error("the ticket has no order to refund")]
    NoOrder,

    /// A refund in another currency than the order's.
    #[error("the refund is in {refund} but the order is in {order}")]
    CurrencyMismatch {
        /// The order's currency, the only one a refund may use.
        order: Currency,
        /// The refund's currency.
        refund: Currency,
    },

    /// A refund larger than what is left of the order amount.
    #[error("the refunds would exceed the order amount; {left_minor} minor units are left")]
    RefundExceedsOrder {
        /// What may still be refunded (order amount minus the refunds already
        /// issued), in minor units of the order's currency.
        left_minor: u64,
    },

    /// An incident date after today (the UTC date of the decision).
    #[error("the incident date {} is after today ({})", crate::types::date::format(*incident_date), crate::types::date::format(*today))]
    IncidentDateInFuture {
        /// The date given.
        incident_date: Date,
        /// The UTC date of the decision.
        today: Date,
    },

    /// An incident date further back than the org's intake window.
    #[error("the incident date {} is more than {window_days} days ago", crate::types::date::format(*incident_date))]
    IntakeWindowExpired {
        /// The date given.
        incident_date: Date,
        /// The policy's `intake_window_days`.
        window_days: u32,
    },

    /// A field the org's policy requires is missing, or `org` on an open
    /// with a platform token.
    #[error("the field {field} is required")]
    MissingField {
        /// The contract's name of the field (`org`, `customer_code`, `order`,
        /// `incident_date`, `reason_detail`).
        field: &'static str,
    },

    /// A ticket with this id already exists (the caller's fresh id was not).
    #[error("ticket {ticket_id} already exists")]
    TicketExists {
        /// The id asked for.
        ticket_id: TicketId,
    },

    /// A text field of a command that is blank or too long.
    #[error("the field {field} {problem}")]
    InvalidField {
        /// The field's name in the contract.
        field: &'static str,
        /// What is wrong with it.
        problem: TextProblem,
    },

    /// A policy value out of range, or a calendar that cannot be used.
    #[error("the policy's {field} {problem}")]
    InvalidPolicy {
        /// The field's path in the contract (`calendar.hours`).
        field: &'static str,
        /// What is wrong with it.
        problem: PolicyProblem,
    },

    /// A contact's address is not an addr-spec of at most 254 characters.
    #[error(
        "{email:?} is not an e-mail address (an RFC 5322 addr-spec of at most 254 characters)"
    )]
    InvalidEmail {
        /// The text given (cut past the limit).
        email: String,
    },

    /// A contact's name is empty, too long or holds control characters.
    #[error("a contact name is 1-200 characters without control characters")]
    InvalidContactName,

    /// A contact's language is not one Docket writes in.
    #[error("language {language:?} is not one of en, it, fr, de")]
    UnsupportedLanguage {
        /// The text given.
        language: String,
    },

    /// A sales channel does not match `^[a-z0-9][a-z0-9._-]{0,62}$`.
    #[error("sales channel {sales_channel:?} must match ^[a-z0-9][a-z0-9._-]{{0,62}}$")]
    InvalidSalesChannel {
        /// The text given (cut past the limit).
        sales_channel: String,
    },

    /// A text module names more sales channels than allowed.
    #[error("a text module names {count} sales channels; at most {max} are allowed")]
    TooManySalesChannels {
        /// How many distinct channels were given.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// A well-formed placeholder with a name the contract does not know.
    #[error("the placeholder {{{{{name}}}}} is not one of the contract's")]
    UnknownPlaceholder {
        /// The name inside the braces.
        name: String,
    },

    /// A `{{` that does not open a well-formed placeholder, or a `}}`
    /// without its `{{`.
    #[error("the template has a malformed placeholder near character {at_char}")]
    InvalidTemplate {
        /// Where (in characters from the start) the first fault is.
        at_char: usize,
    },

    /// A comment names a text module its ticket's org does not have.
    #[error("the org has no text module {name:?}")]
    UnknownTextModule {
        /// The name given.
        name: String,
    },

    /// The text module is for other sales channels than the ticket's.
    #[error("text module {name:?} is not for this ticket's sales channel")]
    TextModuleNotForChannel {
        /// The module's name.
        name: String,
    },

    /// A placeholder of the module has no value on this ticket.
    #[error("the placeholder {{{{{placeholder}}}}} has no value on this ticket")]
    PlaceholderWithoutValue {
        /// The placeholder's name.
        placeholder: String,
    },

    /// The bytes are none of the accepted media types.
    #[error("attachments may be PNG, JPEG, GIF or WebP images, PDF documents, MP4, WebM or QuickTime videos, or plain text; these bytes are {detected}")]
    UnsupportedAttachmentType {
        /// What the bytes look like (a media type, or `unknown`).
        detected: String,
    },

    /// An attachment of zero bytes.
    #[error("an attachment must have at least one byte")]
    EmptyAttachment,

    /// The ticket has as many attachments as it may.
    #[error("a ticket may have at most {max} attachments")]
    TooManyAttachments {
        /// The limit.
        max: usize,
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
            DomainError::InvalidEmail { .. } => "invalid_email",
            DomainError::InvalidContactName => "invalid_contact_name",
            DomainError::UnsupportedLanguage { .. } => "unsupported_language",
            DomainError::InvalidSalesChannel { .. } => "invalid_sales_channel",
            DomainError::TooManySalesChannels { .. } => "invalid_field",
            DomainError::UnknownPlaceholder { .. } => "unknown_placeholder",
            DomainError::InvalidTemplate { .. } => "invalid_template",
            DomainError::UnknownTextModule { .. } => "unknown_text_module",
            DomainError::TextModuleNotForChannel { .. } => "text_module_not_for_channel",
            DomainError::PlaceholderWithoutValue { .. } => "placeholder_without_value",
            DomainError::UnsupportedAttachmentType { .. } => "unsupported_attachment_type",
            DomainError::EmptyAttachment => "empty_attachment",
            DomainError::TooManyAttachments { .. } => "too_many_attachments",
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
    TooLong {
        /// The field's limit, in characters.
        max_chars: usize,
        /// The text's length, in characters.
        chars: usize,
    },
}

/// Why a policy value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyProblem {
    /// A number outside its bounds (both inclusive).
    #[error("is {value}; it must be between {min} and {max}")]
    OutOfRange {
        /// The value given.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A zone name the bundled tz database does not know.
    #[error("names {name:?}, which is not an IANA time zone")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
    /// A week without working days: no budget would ever be spent.
    #[error("has no working day")]
    NoWorkingDay,
    /// A working-days mask with bits above the seven days.
    #[error("has bits set beyond Sunday")]
    UnknownWorkingDay,
    /// A day without working intervals: no budget would ever be spent.
    #[error("has no working hours")]
    NoWorkingHours,
    /// An interval that is empty, reversed or ends after 24:00.
    #[error("has an interval {start_minute}..{end_minute} that is empty or past 24:00")]
    BadInterval {
        /// Its start, in minutes after midnight.
        start_minute: u16,
        /// Its end, in minutes after midnight.
        end_minute: u16,
    },
    /// Intervals that overlap or are not sorted.
    #[error("has intervals that overlap or are out of order")]
    OverlappingIntervals,
    /// A list longer than its bound (working intervals, holidays).
    #[error("has {count} entries; at most {max} are allowed")]
    TooMany {
        /// The entries given.
        count: usize,
        /// The bound.
        max: usize,
    },
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
