//! Helpers shared by the event store's crash test, its child binary
//! `crash_appender` and the `store_bench` benchmark.

use std::time::{SystemTime, UNIX_EPOCH};

use docket_eventstore::{EnvelopeActor, NewEvent};
use uuid::Uuid;

/// The wall clock as the envelope records it.
pub fn now_unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// An event with a fixed envelope around `payload`.
pub fn event(payload: Vec<u8>, recorded_at_unix_nanos: i64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "CrashTested".into(),
        schema_version: 1,
        recorded_at_unix_nanos,
        actor: EnvelopeActor {
            sub: "crash-appender".into(),
            role: "system".into(),
            org: "docket".into(),
        },
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
        payload,
    }
}

/// The payload of event `index` of `count` of append request `request`,
/// padded to `size` bytes: the crash test finds every request's events by it.
pub fn tagged_payload(request: &str, index: u32, count: u32, size: usize) -> Vec<u8> {
    let mut payload = format!("{request}/{index}/{count}/").into_bytes();
    payload.resize(size.max(payload.len()), b'.');
    payload
}

/// `(request, index, count)` of a payload made by [`tagged_payload`].
pub fn parse_tagged_payload(payload: &[u8]) -> Option<(String, u32, u32)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.split('/');
    let request = parts.next()?.to_owned();
    let index = parts.next()?.parse().ok()?;
    let count = parts.next()?.parse().ok()?;
    Some((request, index, count))
}

/// One acknowledged append, as `crash_appender` prints it (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The request's name, as its payloads carry it.
    pub request: String,
    /// The position of the request's first event.
    pub first_position: u64,
    /// The position of the request's last event.
    pub last_position: u64,
    /// The idempotency key sent with it, if any.
    pub key: Option<String>,
    /// Per stream: name, version after the append, events appended.
    pub streams: Vec<AckedStream>,
}

/// One stream of an acknowledged append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckedStream {
    /// The stream's name.
    pub stream: String,
    /// Its version after the append.
    pub version_after: u64,
    /// Events the append added to it.
    pub events: u64,
}

impl Ack {
    /// `ACK request first last key|- stream=version+events,...`
    pub fn to_line(&self) -> String {
        let streams: Vec<String> = self
            .streams
            .iter()
            .map(|s| format!("{}={}+{}", s.stream, s.version_after, s.events))
            .collect();
        format!(
            "ACK {} {} {} {} {}\n",
            self.request,
            self.first_position,
            self.last_position,
            self.key.as_deref().unwrap_or("-"),
            streams.join(",")
        )
    }

    /// `None` unless `line` is a whole line written by [`Ack::to_line`].
    pub fn parse(line: &str) -> Option<Ack> {
        let mut words = line.strip_suffix('\n')?.split(' ');
        if words.next()? != "ACK" {
            return None;
        }
        let request = words.next()?.to_owned();
        let first_position = words.next()?.parse().ok()?;
        let last_position = words.next()?.parse().ok()?;
        let key = match words.next()? {
            "-" => None,
            key => Some(key.to_owned()),
        };
        let mut streams = Vec::new();
        for item in words.next()?.split(',') {
            let (stream, rest) = item.split_once('=')?;
            let (version_after, events) = rest.split_once('+')?;
            streams.push(AckedStream {
                stream: stream.to_owned(),
                version_after: version_after.parse().ok()?,
                events: events.parse().ok()?,
            });
        }
        if words.next().is_some() {
            return None;
        }
        Some(Ack {
            request,
            first_position,
            last_position,
            key,
            streams,
        })
    }
}

/// The seed of a crash test's randomness: `DOCKET_CRASH_SEED` when set (to
/// replay a run), else the clock; printed, so that a failing run can be
/// replayed.
pub fn crash_test_seed() -> u64 {
    let seed = std::env::var("DOCKET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_unix_nanos() as u64);
    println!("DOCKET_CRASH_SEED={seed}");
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_lines_round_trip_and_partial_lines_are_refused() {
        let ack = Ack {
            request: "r1-t2-k3".into(),
            first_position: 10,
            last_position: 12,
            key: Some("r1-t2-k3".into()),
            streams: vec![
                AckedStream {
                    stream: "solo-2".into(),
                    version_after: 5,
                    events: 2,
                },
                AckedStream {
                    stream: "pair-r1-t2-k3".into(),
                    version_after: 1,
                    events: 1,
                },
            ],
        };
        let line = ack.to_line();
        assert_eq!(Ack::parse(&line), Some(ack));
        assert_eq!(Ack::parse(&line[..line.len() - 1]), None);
        assert_eq!(Ack::parse(&line[..line.len() / 2]), None);
    }

    #[test]
    fn tagged_payloads_round_trip() {
        let payload = tagged_payload("r0-t1-k2", 1, 3, 300);
        assert_eq!(payload.len(), 300);
        assert_eq!(
            parse_tagged_payload(&payload),
            Some(("r0-t1-k2".into(), 1, 3))
        );
    }
}
