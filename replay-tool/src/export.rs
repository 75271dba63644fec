//! `export`: the log as JSON Lines, one event per line in the API's
//! event-feed format (`GET /v1/events`: the history event fields plus
//! `stream`).
//!
//! # The format is the API's
//! Each line is byte for byte what `serde_json::to_writer` makes of the
//! application layer's own `docket_app::wire::event_json(entry, event,
//! StreamField::Included)`; the
//! tests of this module compare the two for every event type, odd strings
//! and undecodable payloads, and the black-box test compares whole exports
//! with the feed. The line is written directly instead of through
//! `event_json` because building a `serde_json::Value` per event (and its
//! hash as 32 `format!`s) was about half of an event's cost
//! (`docs/benchmarks.md`, "docket-replay"); the `data` member still goes through
//! `serde_json::to_value`, as in `event_json`, so that its keys come out in
//! `Value`'s order.
//!
//! # Cost and memory
//! Two threads of about equal cost per event (`docs/benchmarks.md`,
//! "docket-replay"): one reads batches of `EXPORT_BATCH_EVENTS` from the
//! store (sled iteration and decoding), the other decodes payloads and
//! writes JSON, with at most `BATCHES_IN_FLIGHT` batches between them: memory stays constant (~4 MB per batch of ~1 KB
//! events) whatever the log's length.
//!
//! Export reads; it does not check the hash chain (run `verify` for that).

use std::io::Write;
use std::sync::mpsc;

use clap::Args;
use docket_app::clock::from_unix_nanos;
use docket_app::wire::rfc3339;
use docket_domain::codec;
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use serde_json::Value;

use crate::error::ReplayError;
use crate::progress;

/// Events read from the store per batch.
const EXPORT_BATCH_EVENTS: usize = 4096;

/// Batches read ahead of the writer: with the one being read and the one
/// being written, bounds the export's memory.
const BATCHES_IN_FLIGHT: usize = 2;

/// Print the log as JSON Lines on stdout, one event per line in the API's
/// event-feed format (`GET /v1/events`), in position order.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// First position to export, inclusive (positions start at 1).
    #[arg(long, value_name = "POS", default_value_t = 1)]
    pub from: u64,
    /// Last position to export, inclusive (default: the head).
    #[arg(long, value_name = "POS")]
    pub to: Option<u64>,
}

impl ExportArgs {
    /// A usage error, if the range is empty by construction.
    pub fn check(&self) -> Result<(), String> {
        match self.to {
            Some(to) if to < self.from => Err(format!(
                "--to {to} is before --from {}: the range is empty",
                self.from
            )),
            _ => Ok(()),
        }
    }
}

/// Payloads the codec could not decode (exported with `data: null`).
struct Undecodable {
    count: u64,
    first_position: u64,
    detail: String,
}

pub fn run(store: &Store, args: &ExportArgs, mut out: impl Write) -> Result<(), ReplayError> {
    let first = args.from.max(1);
    let last = args
        .to
        .map_or(store.head().position, |to| to.min(store.head().position));
    let total = if first > last { 0 } else { last - first + 1 };
    let bar = progress::events(total, "exporting");
    let mut undecodable: Option<Undecodable> = None;
    let mut line = Vec::with_capacity(EXPORT_BATCH_EVENTS * 1024);

    let (batches, received) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let written = std::thread::scope(|scope| {
        scope.spawn(move || read_batches(store, first, last, batches));
        // Ends when the reader has sent its last batch (or an error) and
        // dropped its sender; dropping `received` early stops the reader.
        for batch in received {
            let batch = batch?;
            line.clear();
            for entry in &batch {
                let event =
                    match codec::decode(&entry.event_type, entry.schema_version, &entry.payload) {
                        Ok(event) => Some(event),
                        Err(error) => {
                            let noted = undecodable.get_or_insert_with(|| Undecodable {
                                count: 0,
                                first_position: entry.position,
                                detail: error.to_string(),
                            });
                            noted.count += 1;
                            None
                        }
                    };
                write_event_line(&mut line, entry, event.as_ref());
            }
            out.write_all(&line).map_err(ReplayError::Output)?;
            bar.inc(batch.len() as u64);
        }
        out.flush().map_err(ReplayError::Output)
    });
    bar.finish_and_clear();
    written?;
    match undecodable {
        None => Ok(()),
        Some(u) => Err(ReplayError::UndecodablePayloads {
            count: u.count,
            first_position: u.first_position,
            detail: u.detail,
        }),
    }
}

/// Sends the events `first..=last` in batches, then hangs up; stops at the
/// first error (sent on) or when the receiver is gone.
fn read_batches(
    store: &Store,
    first: u64,
    last: u64,
    batches: mpsc::SyncSender<Result<Vec<RecordedEvent>, ReplayError>>,
) {
    let mut next = first;
    while next <= last {
        let want = usize::try_from(last - next + 1)
            .map_or(EXPORT_BATCH_EVENTS, |left| left.min(EXPORT_BATCH_EVENTS));
        let batch = store.read_from(next, want).map_err(ReplayError::from);
        let read = batch.as_ref().map_or(0, Vec::len);
        // `read_from` answers every position up to the head, or an error.
        assert!(
            batch.is_err() || read == want,
            "read_from returned a short batch below the head"
        );
        if batches.send(batch).is_err() || read == 0 {
            return;
        }
        next += read as u64;
    }
}

/// Appends one line: exactly `serde_json::to_writer(event_json(entry,
/// event, true))` and a newline. Keys in `serde_json::Map`'s (sorted)
/// order; strings through serde_json's own escaping.
fn write_event_line(out: &mut Vec<u8>, entry: &RecordedEvent, event: Option<&Event>) {
    out.extend_from_slice(b"{\"actor\":{\"role\":");
    write_str(out, &entry.actor.role);
    out.extend_from_slice(b",\"sub\":");
    write_str(out, &entry.actor.sub);
    out.extend_from_slice(b"},\"at\":");
    write_str(out, &rfc3339(from_unix_nanos(entry.recorded_at_unix_nanos)));
    out.extend_from_slice(b",\"data\":");
    let data = event.map_or(Value::Null, |event| {
        serde_json::to_value(event.data()).unwrap_or(Value::Null)
    });
    write_json(out, &data);
    out.extend_from_slice(b",\"event_id\":\"");
    let mut uuid = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(
        entry
            .event_id
            .hyphenated()
            .encode_lower(&mut uuid)
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"hash\":\"");
    write_hex(out, &entry.hash);
    out.extend_from_slice(b"\",\"position\":");
    out.extend_from_slice(entry.position.to_string().as_bytes());
    out.extend_from_slice(b",\"stream\":");
    write_str(out, &entry.stream);
    out.extend_from_slice(b",\"type\":");
    write_str(out, &entry.event_type);
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(entry.version.to_string().as_bytes());
    out.extend_from_slice(b"}\n");
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    write_json(out, &text);
}

/// Writing JSON into a `Vec` cannot fail: no I/O, and the values written
/// here (strings, `Value`s) have no fallible `Serialize`.
fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 0x0f)]);
    }
}

#[cfg(test)]
mod tests {
    use docket_app::wire::{event_json, StreamField};
    use docket_domain::events::{
        CommentAdded, Escalated, FollowUpOpened, PolicySet, RefundIssued, TicketClosed,
        TicketOpened,
    };
    use docket_domain::policy::OrgPolicy;
    use docket_domain::types::{
        Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason,
        Resolution, Role, TicketId, TicketNumber, Visibility,
    };
    use docket_eventstore::EnvelopeActor;
    use uuid::Uuid;

    use super::*;

    fn author(sub: &str, role: Role) -> Author {
        Author {
            sub: sub.to_owned(),
            role,
        }
    }

    fn events() -> Vec<Event> {
        let ticket_id = TicketId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
        let number = TicketNumber::from_sequence(41).expect("in range");
        let org = OrgId::parse("acme").expect("valid");
        let eur = Currency::parse("EUR").expect("valid");
        let customer = author("cust \"1\"\n\u{1}", Role::Customer);
        let agent = author("agent-7 ü ✓", Role::Agent);
        vec![
            Event::TicketOpened(TicketOpened {
                ticket_id,
                number,
                org: org.clone(),
                subject: "Parcel \"never\" arrived \\ <b>".to_owned(),
                description: "Line one\nline two\ttab \u{7f} \u{2028} 😀".to_owned(),
                reason: Reason {
                    category: "delivery".to_owned(),
                    detail: Some("late".to_owned()),
                },
                order: Some(Order {
                    number: "A-1".to_owned(),
                    amount: Money {
                        amount_minor: 5000,
                        currency: eur,
                    },
                }),
                customer_code: None,
                incident_date: docket_domain::types::date::parse("2030-01-02"),
                impact: Impact::High,
                channel: Channel::Email,
                opened_by: customer.clone(),
                follow_up_of: Some(TicketId(Uuid::from_u128(9))),
                contact: Some(docket_domain::contact::Contact {
                    email: docket_domain::contact::EmailAddress::parse("\"ü q\"@example.it")
                        .expect("valid"),
                    name: Some(
                        docket_domain::contact::ContactName::parse("Anna \"Rossì\" 😀")
                            .expect("valid"),
                    ),
                    language: docket_domain::contact::Language::It,
                }),
                sales_channel: Some(
                    docket_domain::contact::SalesChannel::parse("kaufland.de").expect("valid"),
                ),
            }),
            Event::CommentAdded(CommentAdded {
                comment_id: Uuid::from_u128(2),
                author: agent.clone(),
                body: "internal \u{0} note".to_owned(),
                visibility: Visibility::Internal,
                text_module: Some(docket_domain::events::TextModuleUse {
                    name: "late-parcel".to_owned(),
                    version: 3,
                }),
            }),
            Event::Escalated(Escalated {
                reason: EscalationReason::NotAddressedToSeller,
                note: None,
                escalated_by: agent.clone(),
            }),
            Event::RefundIssued(RefundIssued {
                refund_id: Uuid::from_u128(3),
                amount: Money {
                    amount_minor: u64::MAX,
                    currency: eur,
                },
                reason: "fee".to_owned(),
                issued_by: agent.clone(),
            }),
            Event::TicketClosed(TicketClosed {
                resolution: Resolution::NoResponse,
                note: Some("".to_owned()),
                closed_by: agent.clone(),
            }),
            Event::FollowUpOpened(FollowUpOpened {
                follow_up_id: TicketId(Uuid::from_u128(4)),
                follow_up_number: number,
                opened_by: customer,
            }),
            Event::PolicySet(PolicySet {
                org,
                policy: OrgPolicy::default(),
                set_by: author("root", Role::Admin),
            }),
        ]
    }

    fn entry(position: u64, event: &Event) -> RecordedEvent {
        let encoded = codec::encode(event);
        RecordedEvent {
            position,
            stream: format!("ticket-\"{position}\""),
            version: u64::MAX - position,
            event_id: Uuid::from_u128(
                0x0190_b7a4_7c1e_7000_8000_0000_0000_00aa + u128::from(position),
            ),
            event_type: encoded.event_type.to_owned(),
            schema_version: encoded.schema_version,
            recorded_at_unix_nanos: 1_893_456_000_123_456_789
                - i64::try_from(position).expect("small") * 7,
            actor: EnvelopeActor {
                sub: "sub \"x\"\n".to_owned(),
                role: "agent".to_owned(),
                org: "acme".to_owned(),
            },
            correlation_id: Uuid::from_u128(5),
            causation_id: None,
            idempotency_key: None,
            payload: encoded.payload,
            hash: std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(position as u8)),
        }
    }

    #[test]
    fn lines_are_byte_for_byte_the_apis_event_json() {
        let mut entries: Vec<(RecordedEvent, Option<Event>)> = events()
            .into_iter()
            .enumerate()
            .map(|(i, event)| (entry(i as u64 + 1, &event), Some(event)))
            .collect();
        // A payload the codec refuses is exported with `data: null`.
        let mut broken = entry(99, &events()[1]);
        broken.event_type = "ticket_reopened".to_owned();
        entries.push((broken, None));
        // The epoch, whole seconds, a negative time.
        for (i, nanos) in [0_i64, 1_700_000_000_000_000_000, -1_000_000_001]
            .into_iter()
            .enumerate()
        {
            let mut timed = entry(100 + i as u64, &events()[2]);
            timed.recorded_at_unix_nanos = nanos;
            let event = events()[2].clone();
            entries.push((timed, Some(event)));
        }
        for (entry, event) in &entries {
            let mut ours = Vec::new();
            write_event_line(&mut ours, entry, event.as_ref());
            let mut theirs =
                serde_json::to_vec(&event_json(entry, event.as_ref(), StreamField::Included))
                    .expect("serializes");
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "position {}",
                entry.position
            );
        }
    }
}
