//! The vocabulary of the contract as types that cannot hold an illegal value.
//!
//! Every constructor here is a parser: the `api` crate calls it at the edge and
//! the rest of the system never re-checks. Persisted types serialize compactly
//! for postcard (not human readable) and as the contract's JSON shapes for
//! serde_json (human readable), through the same `Serialize` impl.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

/// A ticket's identity: a UUID (v7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub Uuid);

impl TicketId {
    /// The event-store stream that holds this ticket's events.
    pub fn stream(&self) -> String {
        format!("ticket-{}", self.0)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The human ticket number: exactly 11 decimal digits, unique, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNumber(u64);

impl TicketNumber {
    /// The last number there is: the largest of 11 digits.
    pub const MAX: u64 = 99_999_999_999;
    /// The first number handed out; numbers below it would print with a
    /// leading zero, which people drop when they retype them.
    pub const FIRST: u64 = 10_000_000_000;

    /// Parses the 11-digit text form; anything else is `None`.
    pub fn parse(text: &str) -> Option<TicketNumber> {
        if text.len() != 11 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(TicketNumber)
    }

    /// The `sequence`-th ticket number (0-based) of a deployment.
    pub fn from_sequence(sequence: u64) -> Option<TicketNumber> {
        let value = Self::FIRST.checked_add(sequence)?;
        (value <= Self::MAX).then_some(TicketNumber(value))
    }

    /// The number as an integer.
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:011}", self.0)
    }
}

impl Serialize for TicketNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for TicketNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            TicketNumber::parse(&text)
                .ok_or_else(|| D::Error::custom("a ticket number is 11 digits"))
        } else {
            let value = u64::deserialize(deserializer)?;
            if (Self::FIRST..=Self::MAX).contains(&value) {
                Ok(TicketNumber(value))
            } else {
                Err(D::Error::custom("ticket number out of range"))
            }
        }
    }
}

/// An org id: `^[a-z0-9][a-z0-9_-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct OrgId(String);

impl OrgId {
    /// Parses an org id; `None` unless it matches the contract's pattern.
    pub fn parse(text: &str) -> Option<OrgId> {
        let bytes = text.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes[1.min(bytes.len())..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
        (first_ok && rest_ok && bytes.len() <= 63).then(|| OrgId(text.to_owned()))
    }

    /// The org id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The event-store stream that holds this org's policy events.
    pub fn policy_stream(&self) -> String {
        format!("policy-{}", self.0)
    }
}

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(deserializer)?;
        OrgId::parse(&text).ok_or_else(|| D::Error::custom("invalid org id"))
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which orgs a token speaks for: one org, or the whole platform (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgScope {
    /// `"*"`: every org (platform-wide staff).
    Platform,
    /// One org.
    Org(OrgId),
}

impl OrgScope {
    /// Parses a token's `org` claim: `"*"` or an org id.
    pub fn parse(text: &str) -> Option<OrgScope> {
        if text == "*" {
            Some(OrgScope::Platform)
        } else {
            OrgId::parse(text).map(OrgScope::Org)
        }
    }

    /// Whether a ticket of `org` is in this scope.
    pub fn covers(&self, org: &OrgId) -> bool {
        match self {
            OrgScope::Platform => true,
            OrgScope::Org(own) => own == org,
        }
    }
}

impl fmt::Display for OrgScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrgScope::Platform => f.write_str("*"),
            OrgScope::Org(org) => org.fmt(f),
        }
    }
}

/// What an actor is (the token's `role`); the contract's roles table says
/// what each may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Opens tickets and follow-ups and comments publicly, in its org.
    Customer,
    /// Works its org's tickets: comments, escalates, refunds, closes.
    Agent,
    /// First-level support of the platform; sees escalated tickets only.
    Support,
    /// Reads everything, changes nothing.
    Auditor,
    /// Reads KPIs only.
    Analyst,
    /// Sets org policies and the test clock; reads what an auditor reads.
    Admin,
}

impl Role {
    /// Parses the contract's name of a role.
    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "customer" => Role::Customer,
            "agent" => Role::Agent,
            "support" => Role::Support,
            "auditor" => Role::Auditor,
            "analyst" => Role::Analyst,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// The contract's name of the role.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Support => "support",
            Role::Auditor => "auditor",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Agents and first-level support answer on the org's behalf.
    pub fn answers_for_org(&self) -> bool {
        matches!(self, Role::Agent | Role::Support)
    }
}

/// Who does something: the token's claims, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// Who the actor is (the token's `sub`).
    pub sub: String,
    /// The token's `role`.
    pub role: Role,
    /// The orgs the token speaks for (the token's `org`).
    pub org: OrgScope,
}

/// The part of an actor recorded inside an event (the envelope has the rest).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// Who acted (the token's `sub`).
    pub sub: String,
    /// The role the actor acted in.
    pub role: Role,
}

/// An ISO 4217 code: three ASCII upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses three ASCII upper-case letters, on the ISO 4217 list or not
    /// (stored events decode with this).
    pub fn parse(text: &str) -> Option<Currency> {
        let bytes: [u8; 3] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_uppercase())
            .then_some(Currency(bytes))
    }

    /// [`Currency::parse`], for a command: also one of the codes of the
    /// ISO 4217 list (current, superseded, funds and special codes alike;
    /// a refund may concern an order paid in a currency since replaced).
    /// Stored events are decoded with `parse` alone: a code accepted once
    /// stays readable whatever the list becomes.
    pub fn parse_iso_4217(text: &str) -> Option<Currency> {
        Currency::parse(text).filter(|_| iso_currency::Currency::from_code(text).is_some())
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a currency is ASCII by construction")
    }

    /// Digits after the decimal point of an amount in major units: the ISO
    /// 4217 exponent (0 for JPY, 3 for KWD), 2 for a code without one.
    pub fn minor_digits(&self) -> u32 {
        iso_currency::Currency::from_code(self.as_str())
            .and_then(|currency| currency.exponent())
            .map_or(2, u32::from)
    }

    /// `amount_minor` in major units with this currency's digits and the
    /// code: `4990` EUR is `49.90 EUR`.
    pub fn format(&self, amount_minor: u64) -> String {
        let digits = self.minor_digits();
        let scale = 10u64.pow(digits);
        if digits == 0 {
            format!("{amount_minor} {self}")
        } else {
            format!(
                "{}.{:0width$} {self}",
                amount_minor / scale,
                amount_minor % scale,
                width = digits as usize
            )
        }
    }

    /// An amount a person typed in major units (`49.9`, `49.90`, `49,90`,
    /// `50`) as minor units; `None` for more digits than the currency has,
    /// a sign, or anything that is not a number.
    pub fn parse_major(&self, text: &str) -> Option<u64> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let digits = self.minor_digits() as usize;
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > digits
        {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let fraction: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<u64>().ok()? * 10u64.pow((digits - fraction.len()) as u32)
        };
        whole
            .checked_mul(10u64.pow(digits as u32))?
            .checked_add(fraction)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(self.as_str())
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let parsed = if deserializer.is_human_readable() {
            Currency::parse(&String::deserialize(deserializer)?)
        } else {
            let bytes = <[u8; 3]>::deserialize(deserializer)?;
            std::str::from_utf8(&bytes).ok().and_then(Currency::parse)
        };
        parsed.ok_or_else(|| D::Error::custom("a currency is three upper-case letters"))
    }
}

/// An amount of money: integer minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units of `currency` (cents for `EUR`).
    pub amount_minor: u64,
    /// The currency of `amount_minor`.
    pub currency: Currency,
}

/// The order a ticket is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Order {
    /// The seller's order number, as the customer knows it (1–64 chars).
    pub number: String,
    /// The order's total.
    pub amount: Money,
}

/// Why a ticket was opened: a category (1–64 chars) and free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// The kind of request (`reason.category`): inboxes filter and KPIs group by it.
    pub category: String,
    /// Free text (`reason.detail`), if given.
    pub detail: Option<String>,
}

/// How badly the customer is affected; the contract's default is `medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// `low`: the least urgent.
    Low,
    /// `medium`, the default.
    #[default]
    Medium,
    /// `high`: more urgent than the default.
    High,
    /// `critical`: the most urgent.
    Critical,
}

/// How the ticket reached the org; the contract's default is `portal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The seller's web portal (`portal`), the default.
    #[default]
    Portal,
    /// By e-mail (`email`).
    Email,
    /// By phone (`phone`).
    Phone,
    /// By chat (`chat`).
    Chat,
    /// Through an integration (`api`).
    Api,
}

/// Who is shown a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Shown to everyone who may see the ticket, customers included.
    #[default]
    Public,
    /// Shown to staff, auditors and admins, never to customers.
    Internal,
}

/// Why an agent hands a ticket to first-level support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The seller cannot help.
    CannotHelp,
    /// The request is not for the seller.
    NotAddressedToSeller,
    /// A question about an invoice.
    InvoiceQuestion,
    /// A matter for the payment provider.
    PaymentProvider,
    /// The customer cannot get into their account.
    AccountAccess,
    /// Any other reason.
    Other,
}

/// How a ticket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The customer's request was dealt with.
    Resolved,
    /// The same request as another ticket.
    Duplicate,
    /// The customer stopped answering.
    NoResponse,
    /// The request was refused.
    Rejected,
}

/// `open`: awaiting the org's answer; `waiting`: awaiting the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Awaiting the org's answer.
    Open,
    /// Awaiting the customer.
    Waiting,
    /// Final: nothing changes a closed ticket.
    Closed,
}

impl Status {
    /// The contract's name of the status.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Waiting => "waiting",
            Status::Closed => "closed",
        }
    }
}

/// Persisted instants: i64 unix nanoseconds in postcard, RFC 3339 in JSON.
pub mod instant {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    /// Writes an instant as i64 unix nanoseconds (postcard) or RFC 3339 in UTC (JSON).
    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        if serializer.is_human_readable() {
            let text = at
                .to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .map_err(S::Error::custom)?;
            serializer.serialize_str(&text)
        } else {
            let nanos = i64::try_from(at.unix_timestamp_nanos()).map_err(S::Error::custom)?;
            serializer.serialize_i64(nanos)
        }
    }

    /// Reads an instant written by [`serialize`]; JSON instants come back in UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            OffsetDateTime::parse(&text, &Rfc3339)
                .map(|at| at.to_offset(time::UtcOffset::UTC))
                .map_err(D::Error::custom)
        } else {
            let nanos = i64::deserialize(deserializer)?;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(D::Error::custom)
        }
    }

    /// `Option<OffsetDateTime>`, each instant as above.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use time::OffsetDateTime;

        /// Writes an optional instant, each as [`super::serialize`] does.
        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            struct Wrapped<'a>(&'a OffsetDateTime);
            impl Serialize for Wrapped<'_> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    super::serialize(self.0, serializer)
                }
            }
            match at {
                Some(at) => serializer.serialize_some(&Wrapped(at)),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional instant written by [`serialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] OffsetDateTime);
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(at)| at))
        }
    }
}

/// Persisted calendar dates: (year, ordinal day) in postcard, `YYYY-MM-DD` in JSON.
pub mod date {
    use super::*;
    use time::Date;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]");

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        Date::parse(text, FORMAT).ok()
    }

    /// Formats as `YYYY-MM-DD`.
    pub fn format(date: Date) -> String {
        date.format(FORMAT).expect("a date always formats")
    }

    /// Writes a date as its Julian day number (postcard) or `YYYY-MM-DD` (JSON).
    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&format(*date))
        } else {
            serializer.serialize_i32(date.to_julian_day())
        }
    }

    /// Reads a date written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            parse(&text).ok_or_else(|| D::Error::custom("a date is YYYY-MM-DD"))
        } else {
            Date::from_julian_day(i32::deserialize(deserializer)?).map_err(D::Error::custom)
        }
    }

    /// The same for `Option<Date>`.
    pub mod option {
        use super::*;

        /// Writes an optional date, each as [`super::serialize`] does.
        pub fn serialize<S: Serializer>(
            date: &Option<Date>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            struct Wrapped<'a>(&'a Date);
            impl Serialize for Wrapped<'_> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    super::serialize(self.0, serializer)
                }
            }
            match date {
                Some(date) => serializer.serialize_some(&Wrapped(date)),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional date written by [`serialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Date>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] Date);
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(date)| date))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Currency;

    #[test]
    fn a_command_takes_only_codes_of_the_iso_4217_list_and_events_keep_any_three_letters() {
        for code in ["EUR", "USD", "JPY", "CHF", "HRK", "XAU"] {
            assert!(Currency::parse_iso_4217(code).is_some(), "{code}");
        }
        for code in ["ZZZ", "EURO", "eur", "EU", "", "ÉUR"] {
            assert!(Currency::parse_iso_4217(code).is_none(), "{code}");
        }
        // What an older version accepted stays decodable.
        assert!(Currency::parse("ZZZ").is_some());
    }

    #[test]
    fn amounts_read_and_print_in_major_units_with_the_currencys_digits() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(eur.format(4990), "49.90 EUR");
        assert_eq!(eur.format(5), "0.05 EUR");
        assert_eq!(jpy.format(500), "500 JPY");
        assert_eq!(kwd.format(1234), "1.234 KWD");
        assert_eq!(eur.parse_major("49.9"), Some(4990));
        assert_eq!(eur.parse_major("49,90"), Some(4990));
        assert_eq!(eur.parse_major(" 50 "), Some(5000));
        assert_eq!(jpy.parse_major("500"), Some(500));
        assert_eq!(kwd.parse_major("1.234"), Some(1234));
        for bad in [
            "",
            "-1",
            "1.234",
            "1.2.3",
            "abc",
            ".5",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(eur.parse_major(bad), None, "{bad}");
        }
        assert_eq!(jpy.parse_major("5.0"), None);
    }
}
