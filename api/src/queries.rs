//! Query handlers: the log itself (histories, the event feed) and the read
//! models (ticket views, inboxes, search, SLA, KPIs), plus ops endpoints.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_domain::codec;
use docket_domain::policy::OrgPolicy;
use docket_domain::ticket;
use docket_domain::types::{Actor, OrgId, OrgScope, Role};
use docket_domain::Event;
use docket_eventstore::RecordedEvent;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::clock::from_unix_nanos;
use crate::commands::store_error;
use crate::problem::ApiError;
use crate::{parse, AppState};

/// The longest a query waits for `X-Min-Position` (contract: 5 s).
pub const MIN_POSITION_WAIT: Duration = Duration::from_secs(5);
/// Events per `GET /v1/events` page: default and bound (contract).
pub const EVENTS_LIMIT_DEFAULT: usize = 100;
pub const EVENTS_LIMIT_MAX: usize = 1000;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One event as histories and the feed show it.
pub fn event_json(entry: &RecordedEvent, event: Option<&Event>, with_stream: bool) -> Value {
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
    if with_stream {
        value["stream"] = json!(entry.stream);
    }
    value
}

/// May this role read tickets at all? (Analysts see KPIs only.)
fn may_read_tickets(actor: &Actor) -> Result<(), ApiError> {
    match actor.role {
        Role::Analyst => Err(ApiError::forbidden("analysts may read KPIs only")),
        _ => Ok(()),
    }
}

fn hides_internal(actor: &Actor) -> bool {
    actor.role == Role::Customer
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    as_of: Option<String>,
    min_position: Option<u64>,
}

pub async fn history(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    may_read_tickets(&actor)?;
    let ticket_id = parse::path_ticket(&id)?;
    let as_of = params
        .as_of
        .as_deref()
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| ApiError::invalid("invalid_query", "as_of must be an RFC 3339 time"))
        })
        .transpose()?;
    let _ = params.min_position;
    let history = crate::history::History::load(state.store(), ticket_id)?;
    if !ticket::can_see(&history.ticket, &actor) {
        return Err(ApiError::not_found());
    }
    Ok(Json(history.to_json(as_of, hides_internal(&actor))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    after: Option<u64>,
    limit: Option<usize>,
    min_position: Option<u64>,
}

/// The whole log in order: platform-wide auditors and admins only.
pub async fn events(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Query(params): Query<EventsParams>,
) -> Result<Response, ApiError> {
    let may = matches!(actor.role, Role::Auditor | Role::Admin) && actor.org == OrgScope::Platform;
    if !may {
        return Err(ApiError::forbidden(
            "the event feed is for platform-wide auditors and admins",
        ));
    }
    let _ = params.min_position;
    let limit = params.limit.unwrap_or(EVENTS_LIMIT_DEFAULT);
    if limit == 0 || limit > EVENTS_LIMIT_MAX {
        return Err(ApiError::invalid(
            "invalid_query",
            format!("limit must be between 1 and {EVENTS_LIMIT_MAX}"),
        ));
    }
    let after = params.after.unwrap_or(0);
    let entries = state
        .store()
        .read_from(after.saturating_add(1), limit)
        .map_err(store_error)?;
    let events: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let event = codec::decode(&entry.event_type, entry.schema_version, &entry.payload).ok();
            event_json(entry, event.as_ref(), true)
        })
        .collect();
    Ok(Json(json!({ "events": events })).into_response())
}

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
        "version": version,
    });
    if let Some(position) = position {
        value["position"] = json!(position);
    }
    value
}

/// `GET /v1/orgs/{org}/policy`: admins, and the org's own agents.
pub async fn policy(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = parse::path_org(&org)?;
    let may = match actor.role {
        Role::Admin | Role::Auditor => actor.org.covers(&org),
        Role::Agent => actor.org == OrgScope::Org(org.clone()),
        _ => false,
    };
    if !may {
        return Err(ApiError::forbidden("only admins, auditors and the org's agents read its policy"));
    }
    let (version, policy) = state.commands.policy_with_version(&org)?;
    Ok(Json(policy_json(&org, &policy, version, None)).into_response())
}

pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    state.export_gauges();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Reads `X-Min-Position` (or `?min_position=`).
pub fn min_position(headers: &HeaderMap, from_query: Option<u64>) -> Result<Option<u64>, ApiError> {
    match headers.get("x-min-position") {
        None => Ok(from_query),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request("invalid_min_position", "X-Min-Position must be a u64")
            }),
    }
}

pub fn status_json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketParams {
    min_position: Option<u64>,
}

pub async fn ticket(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<TicketParams>,
) -> Result<Response, ApiError> {
    may_read_tickets(&actor)?;
    let ticket_id = parse::path_ticket(&id)?;
    if let Some(position) = min_position(&headers, params.min_position)? {
        state.views.wait_for_log(position, MIN_POSITION_WAIT).await?;
    }
    let history = crate::history::History::load(state.store(), ticket_id)?;
    if !ticket::can_see(&history.ticket, &actor) {
        return Err(ApiError::not_found());
    }
    let view = history.view();
    let mut response = Json(view.to_json(hides_internal(&actor))).into_response();
    if let Ok(etag) = header::HeaderValue::from_str(&format!("\"{}\"", view.version())) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().stream_version("readiness-probe") {
        Ok(_) => status_json(StatusCode::OK, json!({ "status": "ready", "log_head": state.store().head().position })),
        Err(error) => status_json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not_ready", "reason": error.to_string() }),
        ),
    }
}
