//! Who a ticket is about and where its order was placed: the requester's
//! contact (the address notifications go to, seed 003) and the sales
//! channel (the marketplace storefront, seed 004), both parsed at the edge
//! into types that cannot hold a value the contract refuses.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The longest address the contract accepts, in characters.
pub const EMAIL_CHARS_MAX: usize = 254;
/// The longest contact name, in characters.
pub const CONTACT_NAME_CHARS_MAX: usize = 200;
/// The longest sales channel, in characters (one, then up to 62 more).
pub const SALES_CHANNEL_CHARS_MAX: usize = 63;

/// An e-mail address: an RFC 5322 addr-spec (no display name, no
/// comments, no obsolete forms), at most [`EMAIL_CHARS_MAX`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts an addr-spec (`invalid_email` otherwise). The syntax check is
    /// the `email_address` crate's, without display text; comments,
    /// folding whitespace and the obsolete forms are not in its grammar.
    pub fn parse(text: &str) -> Result<EmailAddress, DomainError> {
        let invalid = || DomainError::InvalidEmail {
            email: text.chars().take(EMAIL_CHARS_MAX + 1).collect(),
        };
        if text.is_empty() || text.chars().count() > EMAIL_CHARS_MAX {
            return Err(invalid());
        }
        let options = email_address::Options::default().without_display_text();
        email_address::EmailAddress::parse_with_options(text, options).map_err(|_| invalid())?;
        Ok(EmailAddress(text.to_owned()))
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the last `@` (the domain, or a domain literal).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name for display: 1–[`CONTACT_NAME_CHARS_MAX`] characters,
/// no control characters (so it can never break a mail header's line).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactName(String);

impl ContactName {
    /// Accepts a name (`invalid_contact_name` otherwise).
    pub fn parse(text: &str) -> Result<ContactName, DomainError> {
        let chars = text.chars().count();
        if chars == 0 || chars > CONTACT_NAME_CHARS_MAX || text.chars().any(char::is_control) {
            return Err(DomainError::InvalidContactName);
        }
        Ok(ContactName(text.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The languages Docket writes to people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English, the default.
    #[default]
    En,
    /// Italian.
    It,
    /// French.
    Fr,
    /// German.
    De,
}

impl Language {
    /// Every language, in the contract's order.
    pub const ALL: [Language; 4] = [Language::En, Language::It, Language::Fr, Language::De];

    /// Accepts `en`, `it`, `fr` or `de` (`unsupported_language` otherwise).
    pub fn parse(text: &str) -> Result<Language, DomainError> {
        Language::ALL
            .into_iter()
            .find(|language| language.as_str() == text)
            .ok_or_else(|| DomainError::UnsupportedLanguage {
                language: text.chars().take(16).collect(),
            })
    }

    /// The ISO 639-1 code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Language::En => "en",
            Language::It => "it",
            Language::Fr => "fr",
            Language::De => "de",
        }
    }
}

/// A ticket's requester: where notifications go, and in which language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Contact {
    /// The requester's address.
    pub email: EmailAddress,
    /// The requester's name, if given.
    pub name: Option<ContactName>,
    /// The language to write in (`en` when not given).
    pub language: Language,
}

/// The marketplace storefront an order was placed on (`kaufland.de`):
/// `^[a-z0-9][a-z0-9._-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SalesChannel(String);

impl SalesChannel {
    /// Accepts a channel (`invalid_sales_channel` otherwise).
    pub fn parse(text: &str) -> Result<SalesChannel, DomainError> {
        let mut chars = text.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && text.len() <= SALES_CHANNEL_CHARS_MAX {
            Ok(SalesChannel(text.to_owned()))
        } else {
            Err(DomainError::InvalidSalesChannel {
                sales_channel: text.chars().take(SALES_CHANNEL_CHARS_MAX + 1).collect(),
            })
        }
    }

    /// The channel as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SalesChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_addr_specs_of_at_most_254_characters() {
        for good in [
            "anna@example.com",
            "anna.rossi+tickets@example.co.uk",
            "\"anna rossi\"@example.com",
            "anna@[192.0.2.1]",
            "José@exämple.it",
        ] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
        let local = "a".repeat(64);
        let label = "b".repeat(63);
        let long = format!("{local}@{label}.{label}.{}", "c".repeat(61));
        assert_eq!(long.chars().count(), 254);
        assert!(EmailAddress::parse(&long).is_ok());
        let too_long = format!("{local}@{label}.{label}.{}", "c".repeat(62));
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "Anna <anna@example.com>",
            "anna@example.com (Anna)",
            "an na@example.com",
            "anna@exa mple.com",
            "anna@example.com\r\nBcc: eve@example.com",
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    EmailAddress::parse(bad),
                    Err(DomainError::InvalidEmail { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_have_no_control_characters() {
        assert!(ContactName::parse("Anna Rossi").is_ok());
        assert!(ContactName::parse(&"é".repeat(200)).is_ok());
        for bad in [
            "",
            "Anna\r\nBcc: eve@example.com",
            "tab\there",
            &"x".repeat(201),
        ] {
            assert_eq!(
                ContactName::parse(bad),
                Err(DomainError::InvalidContactName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn languages_and_channels_take_the_contracts_values() {
        assert_eq!(Language::parse("it"), Ok(Language::It));
        assert!(Language::parse("es").is_err());
        assert!(Language::parse("EN").is_err());
        for good in ["kaufland.de", "a", "0shop_1-2.x", &"a".repeat(63)] {
            assert!(SalesChannel::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Kaufland.de",
            ".shop",
            "-shop",
            "shop/de",
            &"a".repeat(64),
        ] {
            assert!(SalesChannel::parse(bad).is_err(), "{bad}");
        }
    }
}
