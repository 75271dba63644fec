//! The versioned binary form of events, as the event store keeps them.
//!
//! A payload is the postcard encoding of the event's inner struct
//! (`TicketOpened`, not `Event::TicketOpened`): the envelope already names the
//! type, so the variant index is not stored and reordering `Event` can never
//! change a stored byte. Next to it the envelope stores the schema version of
//! that struct. `ticket_opened` (contact, sales channel), `comment_added`
//! (text module) and `policy_set` (`notify_email`) are at version 2; their
//! version-1 shapes are frozen in `frozen.rs`, with their upcasters.
//!
//! Decoding goes through one table, `SCHEMAS`: one row for every
//! (event type, schema version) ever written, each with the function that
//! reads those bytes into the frozen struct of that version and converts it,
//! through `Into<Event>`, to the current shape. For a current version that
//! conversion is the identity (`Event::from(CommentAdded)`); for an old one it
//! is the upcaster. Bytes are read with `postcard::take_from_bytes` and any
//! byte left over is an error: a payload is one value, exactly.
//!
//! # How to add version 2 of an event
//! Say `comment_added` gains a field.
//! 1. Copy today's `CommentAdded` into a `frozen` submodule of this module as
//!    `CommentAddedV1`: same fields, same order, same serde attributes. It
//!    is frozen from now on, like the bytes it reads.
//! 2. Change `CommentAdded` in `events.rs` to the new shape.
//! 3. Write the upcaster: `impl From<frozen::CommentAddedV1> for Event`,
//!    building the new shape from the old (a default for the new field, or a
//!    value derived from the old ones). It must be total: it cannot fail,
//!    because the fact was recorded.
//! 4. In `SCHEMAS`, point the `("comment_added", 1)` row at
//!    `read::<frozen::CommentAddedV1>` and add `("comment_added", 2)` with
//!    `read::<CommentAdded>`. Never remove a row: old bytes live forever.
//! 5. Return 2 for `Event::CommentAdded` in [`schema_version`], so `encode`
//!    writes the new version.
//! 6. Bless a `comment_added.v2.bin` golden fixture and keep the v1 file; its
//!    expected value in `tests/fixtures.rs` becomes the upcast value.
//!
//! The test `an_old_version_is_read_through_its_upcaster` in this module walks
//! steps 1, 3 and 4 with a test-only `CommentAddedV0`.

use serde::de::DeserializeOwned;

use crate::error::DomainError;
use crate::events::{
    AttachmentAdded, CommentAdded, Escalated, Event, FollowUpOpened, PolicySet, RefundIssued,
    TextModuleRemoved, TextModuleSaved, TicketClosed, TicketOpened,
};

mod frozen;

/// An event as the store keeps it: its type, its schema version, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    /// The contract's `type` (`ticket_opened`, ...).
    pub event_type: &'static str,
    /// The version of the payload's shape; see the module docs.
    pub schema_version: u16,
    /// The postcard encoding of the event's inner struct.
    pub payload: Vec<u8>,
}

/// Why stored bytes do not decode; carried by [`DomainError::Undecodable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeProblem {
    /// No schema of this build has this type (a newer build wrote it, or
    /// the bytes are corrupt).
    #[error("unknown event type {event_type:?}")]
    UnknownEventType {
        /// The type the envelope names.
        event_type: String,
    },
    /// The type is known but not at this version.
    #[error("event type {event_type} has no schema version {schema_version}")]
    UnknownSchemaVersion {
        /// The type the envelope names.
        event_type: &'static str,
        /// The version the envelope names.
        schema_version: u16,
    },
    /// The bytes do not read as that type and version.
    #[error("{event_type} v{schema_version} does not decode: {source}")]
    Malformed {
        /// The type the envelope names.
        event_type: &'static str,
        /// The version the envelope names.
        schema_version: u16,
        /// What postcard reported.
        #[source]
        source: postcard::Error,
    },
    /// The bytes read as one value with bytes left over.
    #[error("{event_type} v{schema_version} has {trailing_bytes} bytes after its end")]
    TrailingBytes {
        /// The type the envelope names.
        event_type: &'static str,
        /// The version the envelope names.
        schema_version: u16,
        /// The bytes left after the value.
        trailing_bytes: usize,
    },
}

/// Encodes an event at its current schema version.
pub fn encode(event: &Event) -> EncodedEvent {
    let payload = postcard::to_stdvec(&event.data()).expect(
        "every event shape encodes into a Vec: no sequence of unknown length, \
         no fallible custom Serialize (instants are not part of events)",
    );
    EncodedEvent {
        event_type: event.event_type(),
        schema_version: schema_version(event),
        payload,
    }
}

/// Decodes stored bytes of any schema version ever written into the current
/// shape.
pub fn decode(event_type: &str, schema_version: u16, payload: &[u8]) -> Result<Event, DomainError> {
    decode_with(SCHEMAS, event_type, schema_version, payload).map_err(DomainError::Undecodable)
}

/// The schema version `encode` writes for this event.
pub fn schema_version(event: &Event) -> u16 {
    match event {
        Event::TicketOpened(_) => 2,
        Event::CommentAdded(_) => 2,
        Event::Escalated(_) => 1,
        Event::RefundIssued(_) => 1,
        Event::TicketClosed(_) => 1,
        Event::FollowUpOpened(_) => 1,
        Event::PolicySet(_) => 2,
        Event::TextModuleSaved(_) => 1,
        Event::TextModuleRemoved(_) => 1,
        Event::AttachmentAdded(_) => 1,
    }
}

/// How to read the bytes of one (event type, schema version).
#[derive(Clone, Copy)]
pub(crate) struct Schema {
    pub(crate) event_type: &'static str,
    pub(crate) schema_version: u16,
    pub(crate) read: fn(&[u8]) -> Result<Event, ReadError>,
}

/// Every (event type, schema version) ever written. Rows are never removed.
pub(crate) const SCHEMAS: &[Schema] = &[
    Schema {
        event_type: "ticket_opened",
        schema_version: 1,
        read: read::<frozen::TicketOpenedV1>,
    },
    Schema {
        event_type: "ticket_opened",
        schema_version: 2,
        read: read::<TicketOpened>,
    },
    Schema {
        event_type: "comment_added",
        schema_version: 1,
        read: read::<frozen::CommentAddedV1>,
    },
    Schema {
        event_type: "comment_added",
        schema_version: 2,
        read: read::<CommentAdded>,
    },
    Schema {
        event_type: "escalated",
        schema_version: 1,
        read: read::<Escalated>,
    },
    Schema {
        event_type: "refund_issued",
        schema_version: 1,
        read: read::<RefundIssued>,
    },
    Schema {
        event_type: "ticket_closed",
        schema_version: 1,
        read: read::<TicketClosed>,
    },
    Schema {
        event_type: "follow_up_opened",
        schema_version: 1,
        read: read::<FollowUpOpened>,
    },
    Schema {
        event_type: "policy_set",
        schema_version: 1,
        read: read::<frozen::PolicySetV1>,
    },
    Schema {
        event_type: "policy_set",
        schema_version: 2,
        read: read::<PolicySet>,
    },
    Schema {
        event_type: "text_module_saved",
        schema_version: 1,
        read: read::<TextModuleSaved>,
    },
    Schema {
        event_type: "text_module_removed",
        schema_version: 1,
        read: read::<TextModuleRemoved>,
    },
    Schema {
        event_type: "attachment_added",
        schema_version: 1,
        read: read::<AttachmentAdded>,
    },
];

pub(crate) enum ReadError {
    Malformed(postcard::Error),
    TrailingBytes(usize),
}

/// Reads one `Stored` value that fills `payload` exactly, and brings it to
/// the current shape.
pub(crate) fn read<Stored: DeserializeOwned + Into<Event>>(
    payload: &[u8],
) -> Result<Event, ReadError> {
    let (stored, rest) =
        postcard::take_from_bytes::<Stored>(payload).map_err(ReadError::Malformed)?;
    if !rest.is_empty() {
        return Err(ReadError::TrailingBytes(rest.len()));
    }
    Ok(stored.into())
}

pub(crate) fn decode_with(
    schemas: &[Schema],
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Result<Event, DecodeProblem> {
    let mut of_type = schemas
        .iter()
        .filter(|schema| schema.event_type == event_type)
        .peekable();
    let Some(first) = of_type.peek() else {
        return Err(DecodeProblem::UnknownEventType {
            event_type: event_type.to_owned(),
        });
    };
    let known_type = first.event_type;
    let Some(schema) = of_type.find(|schema| schema.schema_version == schema_version) else {
        return Err(DecodeProblem::UnknownSchemaVersion {
            event_type: known_type,
            schema_version,
        });
    };
    (schema.read)(payload).map_err(|error| match error {
        ReadError::Malformed(source) => DecodeProblem::Malformed {
            event_type: schema.event_type,
            schema_version,
            source,
        },
        ReadError::TrailingBytes(trailing_bytes) => DecodeProblem::TrailingBytes {
            event_type: schema.event_type,
            schema_version,
            trailing_bytes,
        },
    })
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    use super::*;
    use crate::types::{Author, Role, Visibility};

    /// `comment_added` as it could have been before comments had a
    /// visibility: a frozen older shape, as step 1 of the module doc keeps it.
    #[derive(Serialize, Deserialize)]
    struct CommentAddedV0 {
        comment_id: Uuid,
        author: Author,
        body: String,
    }

    /// Step 3: the upcaster. Before internal comments existed, every comment
    /// was public.
    impl From<CommentAddedV0> for Event {
        fn from(old: CommentAddedV0) -> Event {
            Event::CommentAdded(CommentAdded {
                comment_id: old.comment_id,
                author: old.author,
                body: old.body,
                visibility: Visibility::Public,
                text_module: None,
            })
        }
    }

    #[test]
    fn an_old_version_is_read_through_its_upcaster() {
        // Step 4: the real table, plus a row for the old version.
        let schemas: Vec<Schema> = SCHEMAS
            .iter()
            .copied()
            .chain([Schema {
                event_type: "comment_added",
                schema_version: 0,
                read: read::<CommentAddedV0>,
            }])
            .collect();
        let author = Author {
            sub: "u-1".to_owned(),
            role: Role::Customer,
        };
        let old = CommentAddedV0 {
            comment_id: Uuid::from_u128(7),
            author: author.clone(),
            body: "Where is my parcel?".to_owned(),
        };
        let old_bytes = postcard::to_stdvec(&old).expect("encodes");

        let upcast = decode_with(&schemas, "comment_added", 0, &old_bytes);

        assert_eq!(
            upcast,
            Ok(Event::CommentAdded(CommentAdded {
                comment_id: Uuid::from_u128(7),
                author,
                body: "Where is my parcel?".to_owned(),
                visibility: Visibility::Public,
                text_module: None,
            }))
        );
        // The current version still reads through the same table.
        let current = upcast.expect("decoded above");
        let encoded = encode(&current);
        assert_eq!(
            decode_with(
                &schemas,
                encoded.event_type,
                encoded.schema_version,
                &encoded.payload
            ),
            Ok(current)
        );
        // And without its row, the old version is unknown.
        assert!(matches!(
            decode("comment_added", 0, &old_bytes),
            Err(DomainError::Undecodable(
                DecodeProblem::UnknownSchemaVersion {
                    event_type: "comment_added",
                    schema_version: 0
                }
            ))
        ));
    }

    #[test]
    fn no_two_rows_read_the_same_type_and_version() {
        for (i, a) in SCHEMAS.iter().enumerate() {
            for b in &SCHEMAS[i + 1..] {
                assert!(
                    (a.event_type, a.schema_version) != (b.event_type, b.schema_version),
                    "{} v{} twice",
                    a.event_type,
                    a.schema_version
                );
            }
        }
    }

    #[test]
    fn an_unknown_type_is_refused() {
        assert_eq!(
            decode("ticket_reopened", 1, &[]),
            Err(DomainError::Undecodable(DecodeProblem::UnknownEventType {
                event_type: "ticket_reopened".to_owned()
            }))
        );
    }

    #[test]
    fn an_unknown_version_is_refused() {
        assert_eq!(
            decode("escalated", 2, &[0, 0, 0, 0]),
            Err(DomainError::Undecodable(
                DecodeProblem::UnknownSchemaVersion {
                    event_type: "escalated",
                    schema_version: 2
                }
            ))
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let encoded = encode(&Event::Escalated(Escalated {
            reason: crate::types::EscalationReason::Other,
            note: None,
            escalated_by: Author {
                sub: "a".to_owned(),
                role: Role::Agent,
            },
        }));
        let mut payload = encoded.payload.clone();
        payload.push(0);
        assert!(matches!(
            decode(encoded.event_type, encoded.schema_version, &payload),
            Err(DomainError::Undecodable(DecodeProblem::TrailingBytes {
                trailing_bytes: 1,
                ..
            }))
        ));
    }
}
