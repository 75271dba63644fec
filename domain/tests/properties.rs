//! Invariants over random command sequences and random bytes.
//!
//! The command sequences mix every role, three token scopes (acme, another
//! org, the platform), public and internal comments, refunds of random
//! amounts and currencies, closes and follow-ups; most commands are refused,
//! and the refusals are checked as carefully as the successes.

mod support;

use docket_domain::attachment::MediaType;
use docket_domain::calendar::{BusinessCalendar, WorkingHours};
use docket_domain::codec::{decode, encode, schema_version, DecodeProblem};
use docket_domain::contact::{Contact, ContactName, EmailAddress, Language, SalesChannel};
use docket_domain::error::DomainError;
use docket_domain::events::{
    AttachmentAdded, CommentAdded, Escalated, Event, FollowUpOpened, PolicySet, RefundIssued,
    TextModuleRemoved, TextModuleSaved, TextModuleUse, TicketClosed, TicketOpened,
};
use docket_domain::policy::{OrgPolicy, RequiredField};
use docket_domain::ticket::{self};
use docket_domain::types::{
    Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution,
    Status, TicketId, TicketNumber, Visibility,
};
use proptest::prelude::*;
use support::sessions::*;
use time::Date;
use uuid::Uuid;

// ============================================================ strategies

// ============================================================ deciders

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sessions_keep_every_invariant(session in any_session()) {
        let mut state = ticket::initial();
        let mut history: Vec<Event> = Vec::new();
        for (actor, op) in &session {
            let before = state.clone();
            let status_before = before.opened.as_ref().map(|t| t.status);
            let outcome = run(&before, actor, op);
            let permitted = action(op).is_permitted_for(actor.role);
            match &outcome {
                Ok(events) => {
                    prop_assert!(permitted, "{actor:?} may not {op:?}");
                    let is_open = matches!(op, Op::Open { .. });
                    prop_assert!(is_open || sees(&history, actor), "{:?} saw an invisible ticket", actor);
                    prop_assert!(!events.is_empty());
                    // A closed ticket changes only by the link to a follow-up.
                    if status_before == Some(Status::Closed) {
                        prop_assert!(matches!(op, Op::FollowUp));
                        prop_assert!(matches!(events.as_slice(), [Event::FollowUpOpened(_)]));
                    }
                    for event in events {
                        state = ticket::apply(state, event);
                        history.push(event.clone());
                    }
                    let status = state.opened.as_ref().map(|t| t.status);
                    prop_assert_eq!(status, status_after(status_before, op, actor), "{:?} by {:?}", op, actor);
                }
                Err(error) => {
                    let visible = sees(&history, actor);
                    let closed = status_before == Some(Status::Closed);
                    let explained = match op {
                        _ if !permitted => {
                            *error == DomainError::Forbidden { role: actor.role, action: action(op) }
                        }
                        Op::Open { .. } => matches!(
                            error,
                            DomainError::MissingField { field: "org" }
                                | DomainError::ForbiddenOrg { .. }
                                | DomainError::TicketExists { .. }
                        ),
                        // No existence leak: invisible is the same as missing.
                        _ if !visible => *error == DomainError::NotFound,
                        Op::FollowUp => !closed && *error == DomainError::ParentNotClosed,
                        _ if closed => *error == DomainError::TicketClosed,
                        Op::Escalate => *error == DomainError::AlreadyEscalated,
                        Op::Refund { .. } => matches!(
                            error,
                            DomainError::NoOrder
                                | DomainError::CurrencyMismatch { .. }
                                | DomainError::RefundExceedsOrder { .. }
                        ),
                        // A visible ticket that is not closed takes any
                        // permitted comment or close.
                        Op::Comment(_) | Op::Close => false,
                    };
                    prop_assert!(explained, "{:?} by {:?} on {:?}: {:?}", op, actor, before, error);
                }
            }

            prop_assert_eq!(ticket::can_see(&state, actor), sees(&history, actor));
            // Versions are contiguous: one per event, from 1.
            prop_assert_eq!(state.version, history.len() as u64);
            // Folding is deterministic and agrees with stepwise application.
            let folded = ticket::fold(&history);
            prop_assert_eq!(&folded, &ticket::fold(&history));
            prop_assert_eq!(&folded, &state);
            // Refunds never exceed the order, and add up to `refunded_minor`.
            if let Some(opened) = &state.opened {
                let refunded: u64 = history
                    .iter()
                    .filter_map(|e| match e {
                        Event::RefundIssued(r) => Some(r.amount.amount_minor),
                        _ => None,
                    })
                    .sum();
                prop_assert_eq!(refunded, opened.refunded_minor);
                let order_minor = opened.order.as_ref().map_or(0, |o| o.amount.amount_minor);
                prop_assert!(refunded <= order_minor);
            }
        }
    }

    #[test]
    fn apply_is_total_and_deterministic_over_any_events(events in proptest::collection::vec(any_event(), 0..30)) {
        let once = ticket::fold(&events);
        prop_assert_eq!(&once, &ticket::fold(&events));
        let ticket_events = events.iter().filter(|e| e.is_of_a_ticket()).count();
        prop_assert_eq!(once.version, ticket_events as u64);
    }
}

// ================================================================ codec

fn any_text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn any_author() -> impl Strategy<Value = Author> {
    (any_text(), any_role()).prop_map(|(sub, role)| Author { sub, role })
}

fn any_ticket_id() -> impl Strategy<Value = TicketId> {
    any::<u128>().prop_map(|n| TicketId(Uuid::from_u128(n)))
}

fn any_number() -> impl Strategy<Value = TicketNumber> {
    (0..=TicketNumber::MAX - TicketNumber::FIRST)
        .prop_map(|n| TicketNumber::from_sequence(n).expect("in range"))
}

fn any_org() -> impl Strategy<Value = OrgId> {
    "[a-z0-9][a-z0-9_-]{0,20}".prop_map(|text| OrgId::parse(&text).expect("matches the pattern"))
}

fn any_money() -> impl Strategy<Value = Money> {
    (any::<u64>(), "[A-Z]{3}").prop_map(|(amount_minor, code)| Money {
        amount_minor,
        currency: Currency::parse(&code).expect("three capitals"),
    })
}

fn any_date() -> impl Strategy<Value = Date> {
    (0..5_000_000i32).prop_map(|day| Date::from_julian_day(day).expect("in range"))
}

fn one_of<T: Clone + std::fmt::Debug + 'static>(values: &[T]) -> impl Strategy<Value = T> {
    proptest::sample::select(values.to_vec())
}

fn any_ticket_opened() -> impl Strategy<Value = Event> {
    (
        (
            any_ticket_id(),
            any_number(),
            any_org(),
            any_text(),
            any_text(),
        ),
        (any_text(), proptest::option::of(any_text())),
        proptest::option::of((any_text(), any_money())),
        proptest::option::of(any_text()),
        proptest::option::of(any_date()),
        one_of(&[Impact::Low, Impact::Medium, Impact::High, Impact::Critical]),
        one_of(&[
            Channel::Portal,
            Channel::Email,
            Channel::Phone,
            Channel::Chat,
            Channel::Api,
        ]),
        any_author(),
        proptest::option::of(any_ticket_id()),
    )
        .prop_map(
            |(
                (ticket_id, number, org, subject, description),
                (category, detail),
                order,
                customer_code,
                incident_date,
                impact,
                channel,
                opened_by,
                follow_up_of,
            )| {
                Event::TicketOpened(TicketOpened {
                    ticket_id,
                    number,
                    org,
                    subject,
                    description,
                    reason: Reason { category, detail },
                    order: order.map(|(number, amount)| Order { number, amount }),
                    customer_code,
                    incident_date,
                    impact,
                    channel,
                    opened_by,
                    follow_up_of,
                    contact: None,
                    sales_channel: None,
                })
            },
        )
        .prop_flat_map(|opened| {
            (
                Just(opened),
                proptest::option::of(any_contact()),
                proptest::option::of(any_text()),
            )
        })
        .prop_map(|(opened, contact, channel)| match opened {
            Event::TicketOpened(mut opened) => {
                opened.contact = contact;
                // Stored facts are not re-validated: any text round-trips.
                opened.sales_channel = channel.and_then(|c| SalesChannel::parse(&c).ok());
                Event::TicketOpened(opened)
            }
            other => other,
        })
}

fn any_contact() -> impl Strategy<Value = Contact> {
    (
        one_of(&[
            "a@example.com",
            "anna.rossi+x@example.it",
            "\"q r\"@[192.0.2.1]",
        ]),
        proptest::option::of("[^\\p{Cc}]{1,40}"),
        one_of(&Language::ALL),
    )
        .prop_map(|(email, name, language)| Contact {
            email: EmailAddress::parse(email).expect("valid"),
            name: name.and_then(|name| ContactName::parse(&name).ok()),
            language,
        })
}

fn any_policy() -> impl Strategy<Value = OrgPolicy> {
    (
        any::<u32>(),
        proptest::collection::vec(
            one_of(&[
                RequiredField::CustomerCode,
                RequiredField::Order,
                RequiredField::IncidentDate,
                RequiredField::ReasonDetail,
            ]),
            0..4,
        ),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::option::of(any::<u32>()),
        ),
        (
            any_text(),
            any::<u8>(),
            proptest::collection::vec((any::<u16>(), any::<u16>()), 0..4),
            proptest::collection::vec(any_date(), 0..4),
        ),
    )
        .prop_map(
            |(intake_window_days, required_fields, (first, next, resolution), calendar)| {
                let (timezone, working_days, hours, holidays) = calendar;
                OrgPolicy {
                    intake_window_days,
                    required_fields,
                    first_response_hours: first,
                    next_response_hours: next,
                    resolution_hours: resolution,
                    notify_email: None,
                    calendar: BusinessCalendar {
                        timezone,
                        working_days,
                        hours: hours
                            .into_iter()
                            .map(|(start_minute, end_minute)| WorkingHours {
                                start_minute,
                                end_minute,
                            })
                            .collect(),
                        holidays,
                    },
                }
            },
        )
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        any_ticket_opened(),
        (
            any::<u128>(),
            any_author(),
            any_text(),
            one_of(&[Visibility::Public, Visibility::Internal]),
            proptest::option::of((any_text(), any::<u64>())),
        )
            .prop_map(
                |(id, author, body, visibility, module)| Event::CommentAdded(CommentAdded {
                    comment_id: Uuid::from_u128(id),
                    author,
                    body,
                    visibility,
                    text_module: module.map(|(name, version)| TextModuleUse { name, version }),
                })
            ),
        (
            (any_org(), any_text(), any::<u64>()),
            any_text(),
            any_text(),
            proptest::collection::vec("[a-z0-9][a-z0-9._-]{0,20}", 0..4),
            any_author(),
        )
            .prop_map(|((org, name, version), title, body, channels, saved_by)| {
                Event::TextModuleSaved(TextModuleSaved {
                    org,
                    name,
                    version,
                    title,
                    body,
                    sales_channels: channels
                        .iter()
                        .filter_map(|c| SalesChannel::parse(c).ok())
                        .collect(),
                    saved_by,
                })
            }),
        (
            any::<u128>(),
            any_text(),
            one_of(&[
                MediaType::Png,
                MediaType::Jpeg,
                MediaType::Gif,
                MediaType::Webp,
                MediaType::Pdf,
                MediaType::Mp4,
                MediaType::Webm,
                MediaType::Quicktime,
                MediaType::TextPlain,
            ]),
            any::<u64>(),
            "[0-9a-f]{64}",
            one_of(&[Visibility::Public, Visibility::Internal]),
            any_author(),
        )
            .prop_map(
                |(id, filename, media_type, size, sha256, visibility, author)| {
                    Event::AttachmentAdded(AttachmentAdded {
                        attachment_id: Uuid::from_u128(id),
                        filename,
                        media_type,
                        size,
                        sha256,
                        visibility,
                        author,
                    })
                }
            ),
        (any_org(), any_text(), any::<u64>(), any_author()).prop_map(
            |(org, name, version, removed_by)| {
                Event::TextModuleRemoved(TextModuleRemoved {
                    org,
                    name,
                    version,
                    removed_by,
                })
            }
        ),
        (
            one_of(&[
                EscalationReason::CannotHelp,
                EscalationReason::NotAddressedToSeller,
                EscalationReason::InvoiceQuestion,
                EscalationReason::PaymentProvider,
                EscalationReason::AccountAccess,
                EscalationReason::Other,
            ]),
            proptest::option::of(any_text()),
            any_author(),
        )
            .prop_map(|(reason, note, escalated_by)| Event::Escalated(Escalated {
                reason,
                note,
                escalated_by,
            })),
        (any::<u128>(), any_money(), any_text(), any_author()).prop_map(
            |(id, amount, reason, issued_by)| Event::RefundIssued(RefundIssued {
                refund_id: Uuid::from_u128(id),
                amount,
                reason,
                issued_by,
            })
        ),
        (
            one_of(&[
                Resolution::Resolved,
                Resolution::Duplicate,
                Resolution::NoResponse,
                Resolution::Rejected,
            ]),
            proptest::option::of(any_text()),
            any_author(),
        )
            .prop_map(
                |(resolution, note, closed_by)| Event::TicketClosed(TicketClosed {
                    resolution,
                    note,
                    closed_by,
                })
            ),
        (any_ticket_id(), any_number(), any_author()).prop_map(
            |(follow_up_id, follow_up_number, opened_by)| Event::FollowUpOpened(FollowUpOpened {
                follow_up_id,
                follow_up_number,
                opened_by,
            })
        ),
        (any_org(), any_policy(), any_author()).prop_map(|(org, policy, set_by)| {
            Event::PolicySet(PolicySet {
                org,
                policy,
                set_by,
            })
        }),
    ]
}

const EVENT_TYPES: [&str; 10] = [
    "ticket_opened",
    "comment_added",
    "escalated",
    "refund_issued",
    "ticket_closed",
    "follow_up_opened",
    "policy_set",
    "text_module_saved",
    "text_module_removed",
    "attachment_added",
];

/// Whatever the bytes, a decoder answers; and what it accepts, it accepts
/// as a value that survives a round trip.
fn assert_answers(event_type: &str, payload: &[u8]) -> Result<(), TestCaseError> {
    for version in [1, 2] {
        if let Ok(event) = decode(event_type, version, payload) {
            prop_assert_eq!(event.event_type(), event_type);
            let again = encode(&event);
            prop_assert_eq!(
                decode(again.event_type, again.schema_version, &again.payload),
                Ok(event)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_event_round_trips(event in any_event()) {
        let encoded = encode(&event);
        prop_assert_eq!(encoded.event_type, event.event_type());
        prop_assert_eq!(encoded.schema_version, schema_version(&event));
        prop_assert_eq!(decode(encoded.event_type, encoded.schema_version, &encoded.payload), Ok(event));
    }

    #[test]
    fn decoders_fed_arbitrary_bytes_never_panic(
        event_type in proptest::sample::select(EVENT_TYPES.to_vec()),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        assert_answers(event_type, &payload)?;
    }

    #[test]
    fn a_truncated_payload_is_refused(event in any_event(), cut in any::<proptest::sample::Index>()) {
        let encoded = encode(&event);
        let len = cut.index(encoded.payload.len());
        prop_assert!(decode(encoded.event_type, encoded.schema_version, &encoded.payload[..len]).is_err());
    }

    #[test]
    fn a_payload_with_bytes_after_its_end_is_refused(
        event in any_event(),
        extra in proptest::collection::vec(any::<u8>(), 1..8),
    ) {
        let mut payload = encode(&event).payload;
        payload.extend_from_slice(&extra);
        let refused = matches!(
            decode(event.event_type(), schema_version(&event), &payload),
            Err(DomainError::Undecodable(DecodeProblem::TrailingBytes { trailing_bytes, .. })) if trailing_bytes == extra.len()
        );
        prop_assert!(refused);
    }

    #[test]
    fn a_mutated_payload_is_refused_or_read_as_a_valid_event(
        event in any_event(),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let encoded = encode(&event);
        let mut payload = encoded.payload.clone();
        for (at, mask) in flips {
            let i = at.index(payload.len());
            payload[i] ^= mask;
        }
        assert_answers(encoded.event_type, &payload)?;
    }

    #[test]
    fn a_version_never_written_is_refused(event in any_event(), version in 3..=u16::MAX) {
        let encoded = encode(&event);
        prop_assert!(
            matches!(
                decode(encoded.event_type, version, &encoded.payload),
                Err(DomainError::Undecodable(DecodeProblem::UnknownSchemaVersion { .. }))
            ),
            "version {version}"
        );
        prop_assert!(decode(encoded.event_type, 0, &encoded.payload).is_err());
    }
}
