//! Bounded texts of commands, parsed once at the edge and never re-checked.
//!
//! Every text type here holds a string that is not blank (not empty, not only
//! whitespace) and has at most its limit of characters, counted as Unicode
//! scalar values (`str::chars`), the unit a person counts in; bytes would
//! punish non-Latin scripts. Texts are kept as written: nothing is trimmed.
//!
//! Optional fields (`note?`, `reason.detail?`, `customer_code?`) use
//! `parse_optional`, which treats a blank text as absent: a blank note is no
//! note, and a blank `reason.detail` does not satisfy a policy that requires
//! `reason_detail`.

use std::fmt;

use crate::error::{DomainError, TextProblem};

/// A ticket's subject: 1–200 characters.
pub const SUBJECT_CHARS_MAX: usize = 200;
/// A ticket's description: 1–20 000 characters.
pub const DESCRIPTION_CHARS_MAX: usize = 20_000;
/// A comment's body: 1–20 000 characters.
pub const COMMENT_BODY_CHARS_MAX: usize = 20_000;
/// The note of an escalation or a close: at most 2 000 characters.
pub const NOTE_CHARS_MAX: usize = 2_000;
/// A refund's reason: 1–500 characters.
pub const REFUND_REASON_CHARS_MAX: usize = 500;
/// A customer code: 1–64 characters.
pub const CUSTOMER_CODE_CHARS_MAX: usize = 64;
/// An order number: 1–64 characters.
pub const ORDER_NUMBER_CHARS_MAX: usize = 64;
/// A reason category: 1–64 characters.
pub const REASON_CATEGORY_CHARS_MAX: usize = 64;
/// A reason's detail: at most 2 000 characters.
pub const REASON_DETAIL_CHARS_MAX: usize = 2_000;
/// A text module's title: 1–100 characters.
pub const TEXT_MODULE_TITLE_CHARS_MAX: usize = 100;
/// A text module's body: 1–20 000 characters.
pub const TEXT_MODULE_BODY_CHARS_MAX: usize = 20_000;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The contract's name of the field, as reported in errors.
            pub const FIELD: &'static str = $field;
            /// The most characters (Unicode scalar values) the text may have.
            pub const MAX_CHARS: usize = $max;

            /// Accepts a non-blank text of at most `MAX_CHARS` characters.
            pub fn parse(text: &str) -> Result<Self, DomainError> {
                check(text, $max)
                    .map(|()| $name(text.to_owned()))
                    .map_err(|problem| DomainError::InvalidField { field: $field, problem })
            }

            /// `None` and a blank text are both "not given".
            pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, DomainError> {
                match text {
                    Some(text) if !is_blank(text) => Self::parse(text).map(Some),
                    _ => Ok(None),
                }
            }

            /// The text as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text as written, by value.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// A ticket's subject (`subject`).
    Subject,
    "subject",
    SUBJECT_CHARS_MAX
);
bounded_text!(
    /// A ticket's description (`description`).
    Description,
    "description",
    DESCRIPTION_CHARS_MAX
);
bounded_text!(
    /// A comment's body (`body`).
    CommentBody,
    "body",
    COMMENT_BODY_CHARS_MAX
);
bounded_text!(
    /// The note of an escalation or a close (`note`).
    Note,
    "note",
    NOTE_CHARS_MAX
);
bounded_text!(
    /// Why a refund is made (`reason` of a refund).
    RefundReason,
    "reason",
    REFUND_REASON_CHARS_MAX
);
bounded_text!(
    /// The customer's code at the seller (`customer_code`).
    CustomerCode,
    "customer_code",
    CUSTOMER_CODE_CHARS_MAX
);
bounded_text!(
    /// The seller's order number (`order.number`).
    OrderNumber,
    "order.number",
    ORDER_NUMBER_CHARS_MAX
);
bounded_text!(
    /// The category of a ticket's reason (`reason.category`).
    ReasonCategory,
    "reason.category",
    REASON_CATEGORY_CHARS_MAX
);
bounded_text!(
    /// Free text about a ticket's reason (`reason.detail`).
    ReasonDetail,
    "reason.detail",
    REASON_DETAIL_CHARS_MAX
);

fn check(text: &str, max_chars: usize) -> Result<(), TextProblem> {
    if is_blank(text) {
        return Err(TextProblem::Blank);
    }
    // Counting stops one past the limit: a 1 MiB body costs no more than a
    // text of the limit's length.
    let chars = text.chars().take(max_chars + 1).count();
    if chars > max_chars {
        return Err(TextProblem::TooLong {
            max_chars,
            chars: text.chars().count(),
        });
    }
    Ok(())
}

fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

bounded_text!(
    /// A text module's title (`title`), plain text.
    TextModuleTitle,
    "title",
    TEXT_MODULE_TITLE_CHARS_MAX
);
bounded_text!(
    /// A text module's body (`body`), with placeholders.
    TextModuleBody,
    "body",
    TEXT_MODULE_BODY_CHARS_MAX
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_of_exactly_the_limit_is_accepted() {
        let text = "é".repeat(SUBJECT_CHARS_MAX);
        assert_eq!(Subject::parse(&text).map(Subject::into_string), Ok(text));
    }

    #[test]
    fn a_subject_one_character_over_the_limit_is_refused() {
        let text = "é".repeat(SUBJECT_CHARS_MAX + 1);
        assert_eq!(
            Subject::parse(&text),
            Err(DomainError::InvalidField {
                field: "subject",
                problem: TextProblem::TooLong {
                    max_chars: 200,
                    chars: 201
                }
            })
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        // 64 four-byte characters: 256 bytes, 64 characters.
        let text = "😀".repeat(64);
        assert!(CustomerCode::parse(&text).is_ok());
    }

    #[test]
    fn an_empty_or_whitespace_only_required_text_is_refused() {
        for text in ["", " ", "\t\n", "\u{3000}"] {
            assert_eq!(
                CommentBody::parse(text),
                Err(DomainError::InvalidField {
                    field: "body",
                    problem: TextProblem::Blank
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn texts_are_kept_as_written() {
        let body = CommentBody::parse("  hello \n").map(CommentBody::into_string);
        assert_eq!(body, Ok("  hello \n".to_owned()));
    }

    #[test]
    fn a_blank_optional_text_is_absent() {
        assert_eq!(Note::parse_optional(None), Ok(None));
        assert_eq!(Note::parse_optional(Some("")), Ok(None));
        assert_eq!(Note::parse_optional(Some("   ")), Ok(None));
        assert_eq!(
            Note::parse_optional(Some("why")).map(|n| n.map(Note::into_string)),
            Ok(Some("why".to_owned()))
        );
    }

    #[test]
    fn an_optional_text_over_its_limit_is_refused() {
        let text = "x".repeat(NOTE_CHARS_MAX + 1);
        assert_eq!(
            Note::parse_optional(Some(&text)).map(|_| ()),
            Err(DomainError::InvalidField {
                field: "note",
                problem: TextProblem::TooLong {
                    max_chars: 2_000,
                    chars: 2_001
                }
            })
        );
    }

    /// Each type accepts a text of exactly its limit and refuses one more.
    macro_rules! limit_case {
        ($ty:ident, $field:literal, $max:literal) => {{
            assert_eq!(($ty::FIELD, $ty::MAX_CHARS), ($field, $max));
            assert!($ty::parse(&"a".repeat($max)).is_ok(), $field);
            assert!($ty::parse(&"a".repeat($max + 1)).is_err(), $field);
        }};
    }

    #[test]
    fn every_limit_is_the_contracts() {
        limit_case!(Subject, "subject", 200);
        limit_case!(Description, "description", 20_000);
        limit_case!(CommentBody, "body", 20_000);
        limit_case!(Note, "note", 2_000);
        limit_case!(RefundReason, "reason", 500);
        limit_case!(CustomerCode, "customer_code", 64);
        limit_case!(OrderNumber, "order.number", 64);
        limit_case!(ReasonCategory, "reason.category", 64);
        limit_case!(ReasonDetail, "reason.detail", 2_000);
    }
}
