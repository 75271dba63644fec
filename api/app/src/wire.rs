//! The wire JSON every edge and tool shows: events as histories and the
//! feed give them, policies, and the formats of instants and hashes. One
//! place, so the JSON API, `docket-replay` and the console say the same.

use docket_domain::policy::OrgPolicy;
use docket_domain::types::OrgId;
use docket_domain::Event;
use docket_eventstore::RecordedEvent;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::from_unix_nanos;

/// Whether an event's JSON names its stream (the feed does; a history,
/// being one stream, does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamField {
    /// `stream` is a field of the event's JSON.
    Included,
    /// It is not.
    Omitted,
}

/// An instant as the contract writes it (RFC 3339, UTC).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Bytes as lowercase hex (hashes).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One event as histories and the feed show it; `data` is null for an
/// event this build cannot decode.
pub fn event_json(entry: &RecordedEvent, event: Option<&Event>, stream: StreamField) -> Value {
    let data = match event {
        Some(event) => serde_json::to_value(event.data()).unwrap_or(Value::Null),
        None => Value::Null,
    };
    let mut value = json!({
        "position": entry.position,
        "version": entry.version,
        "event_id": entry.event_id,
        "type": entry.event_type,
        "at": rfc3339(from_unix_nanos(entry.recorded_at_unix_nanos)),
        "actor": { "sub": entry.actor.sub, "role": entry.actor.role },
        "data": data,
        "hash": hex(&entry.hash),
    });
    if stream == StreamField::Included {
        value["stream"] = json!(entry.stream);
    }
    value
}

/// An org's policy as `GET`/`PUT /v1/orgs/{org}/policy` answer it; a `PUT`
/// adds the `position` of its event.
pub fn policy_json(org: &OrgId, policy: &OrgPolicy, version: u64, position: Option<u64>) -> Value {
    let calendar = policy.calendar.to_spec();
    let mut value = json!({
        "org": org,
        "intake_window_days": policy.intake_window_days,
        "required_fields": policy.required_fields.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "first_response_hours": policy.first_response_hours,
        "next_response_hours": policy.next_response_hours,
        "resolution_hours": policy.resolution_hours,
        "calendar": {
            "timezone": calendar.timezone,
            "working_days": calendar.working_days,
            "hours": calendar.hours,
            "holidays": calendar.holidays,
        },
        "notify_email": policy.notify_email,
        "version": version,
    });
    if let Some(position) = position {
        value["position"] = json!(position);
    }
    value
}
