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
use docket_domain::types::{Actor, OrgId, OrgScope, Role, Status, TicketNumber};
use docket_domain::Event;
use docket_eventstore::RecordedEvent;
use docket_projections::{
    InboxQuery, InboxSort, KpiBucket, KpiQuery, ProjectionError, Scope, SlaQuery, SlaState,
    INBOX_LIMIT_DEFAULT, INBOX_LIMIT_MAX,
};
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
/// `/readyz` fails while the read models are further behind than this.
pub const READY_LAG_MAX: u64 = 10_000;
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
    headers: HeaderMap,
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
    if let Some(position) = min_position(&headers, params.min_position)? {
        state
            .views
            .wait_for_log(position, MIN_POSITION_WAIT)
            .await?;
    }
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
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> Result<Response, ApiError> {
    let may = matches!(actor.role, Role::Auditor | Role::Admin) && actor.org == OrgScope::Platform;
    if !may {
        return Err(ApiError::forbidden(
            "the event feed is for platform-wide auditors and admins",
        ));
    }
    if let Some(position) = min_position(&headers, params.min_position)? {
        state
            .views
            .wait_for_log(position, MIN_POSITION_WAIT)
            .await?;
    }
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

/// `GET /v1/orgs/{org}/policy`: admins, and the org's own agents. Read from
/// the log (the policy streams), so `X-Min-Position` waits for the log.
pub async fn policy(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(params): Query<MinPositionParams>,
) -> Result<Response, ApiError> {
    let refused =
        || ApiError::forbidden("only admins, auditors and the org's agents read its policy");
    if !matches!(actor.role, Role::Admin | Role::Auditor | Role::Agent) {
        return Err(refused());
    }
    let org = parse::path_org(&org)?;
    let may = match actor.role {
        Role::Agent => actor.org == OrgScope::Org(org.clone()),
        _ => actor.org.covers(&org),
    };
    if !may {
        return Err(refused());
    }
    if let Some(position) = min_position(&headers, params.min_position)? {
        state
            .views
            .wait_for_log(position, MIN_POSITION_WAIT)
            .await?;
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

/// The query of a GET whose only parameter is `min_position`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinPositionParams {
    min_position: Option<u64>,
}

pub async fn ticket(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<MinPositionParams>,
) -> Result<Response, ApiError> {
    may_read_tickets(&actor)?;
    let ticket_id = parse::path_ticket(&id)?;
    wait_for_models(&state, &headers, params.min_position).await?;
    let view = state
        .views
        .models
        .ticket(ticket_id)
        .map_err(projection_error)?
        .filter(|view| view.is_visible_to(&Scope::of(&actor)))
        .ok_or_else(ApiError::not_found)?;
    let mut response = Json(view.to_json(!hides_internal(&actor))).into_response();
    if let Ok(etag) = header::HeaderValue::from_str(&format!("\"{}\"", view.state.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

async fn wait_for_models(
    state: &AppState,
    headers: &HeaderMap,
    from_query: Option<u64>,
) -> Result<(), ApiError> {
    if let Some(position) = min_position(headers, from_query)? {
        state.views.wait_for(position, MIN_POSITION_WAIT).await?;
    }
    Ok(())
}

/// Read-model failures: a bad cursor or query is the client's, the rest ours.
pub fn projection_error(error: ProjectionError) -> ApiError {
    match error {
        ProjectionError::InvalidCursor { problem } => {
            ApiError::bad_request("invalid_cursor", format!("invalid cursor: {problem}"))
        }
        ProjectionError::InvalidQuery(detail) => ApiError::invalid("invalid_query", detail),
        ProjectionError::Lagging { position, .. } => ApiError::unavailable(
            "projection_lagging",
            format!("the read model has not applied position {position} yet"),
        ),
        other => ApiError::internal(format!("read model: {other}")),
    }
}

/// Staff reading across orgs: an org-scoped token naming another org is 403.
fn org_filter(actor: &Actor, org: Option<&str>) -> Result<Option<OrgId>, ApiError> {
    let org = parse::optional_org(org)?;
    match (&actor.org, &org) {
        (OrgScope::Org(own), Some(asked)) if own != asked => Err(ApiError::forbidden_org(
            "a token of one org may not read another org's data",
        )),
        (OrgScope::Org(own), None) => Ok(Some(own.clone())),
        _ => Ok(org),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    number: Option<String>,
    order_number: Option<String>,
    min_position: Option<u64>,
}

/// `GET /v1/tickets?number=…` or `?order_number=…`.
pub async fn search(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    may_read_tickets(&actor)?;
    wait_for_models(&state, &headers, params.min_position).await?;
    let scope = Scope::of(&actor);
    let items = match (&params.number, &params.order_number) {
        (Some(number), None) => match TicketNumber::parse(number) {
            Some(number) => state.views.models.search_number(number, &scope),
            None => {
                return Err(ApiError::invalid(
                    "invalid_query",
                    "number must be exactly 11 digits",
                ))
            }
        },
        (None, Some(order)) if !order.is_empty() => state.views.models.search_order(order, &scope),
        _ => {
            return Err(ApiError::invalid(
                "invalid_query",
                "give exactly one of number or order_number",
            ))
        }
    }
    .map_err(projection_error)?;
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    org: Option<String>,
    reason: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    sort: Option<String>,
    min_position: Option<u64>,
}

/// Who works from inboxes: agents, support, auditors and admins.
fn may_read_inboxes(actor: &Actor) -> Result<(), ApiError> {
    match actor.role {
        Role::Agent | Role::Support | Role::Auditor | Role::Admin => Ok(()),
        Role::Customer | Role::Analyst => Err(ApiError::forbidden(
            "inboxes are for agents, support, auditors and admins",
        )),
    }
}

pub async fn inbox(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(status): Path<String>,
    headers: HeaderMap,
    Query(params): Query<InboxParams>,
) -> Result<Response, ApiError> {
    let inbox = match status.as_str() {
        "open" => Status::Open,
        "waiting" => Status::Waiting,
        "closed" => Status::Closed,
        _ => return Err(ApiError::not_found()),
    };
    may_read_inboxes(&actor)?;
    let org = org_filter(&actor, params.org.as_deref())?;
    let sort = match params.sort.as_deref() {
        None | Some("updated") => InboxSort::Updated,
        Some("due") => InboxSort::Due,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "sort must be updated or due",
            ))
        }
    };
    let limit = params.limit.unwrap_or(INBOX_LIMIT_DEFAULT);
    if limit == 0 || limit > INBOX_LIMIT_MAX {
        return Err(ApiError::invalid(
            "invalid_query",
            format!("limit must be between 1 and {INBOX_LIMIT_MAX}"),
        ));
    }
    let query = InboxQuery {
        inbox,
        scope: Scope::of(&actor),
        org,
        reason: params.reason,
        from: query_date("from", params.from.as_deref())?,
        to: query_date("to", params.to.as_deref())?,
        sort,
        limit,
        cursor: params.cursor,
    };
    wait_for_models(&state, &headers, params.min_position).await?;
    let page = state.views.models.inbox(&query).map_err(projection_error)?;
    Ok(Json(page).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaParams {
    state: String,
    within: Option<i64>,
    org: Option<String>,
    min_position: Option<u64>,
}

pub async fn sla(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<SlaParams>,
) -> Result<Response, ApiError> {
    may_read_inboxes(&actor)?;
    let org = org_filter(&actor, params.org.as_deref())?;
    let sla_state = match (params.state.as_str(), params.within) {
        ("breached", _) => SlaState::Breached,
        ("at_risk", Some(within)) if within >= 0 => SlaState::AtRisk {
            within_seconds: within,
        },
        ("at_risk", _) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "state=at_risk needs within=<seconds> (>= 0)",
            ))
        }
        _ => {
            return Err(ApiError::invalid(
                "invalid_query",
                "state must be breached or at_risk",
            ))
        }
    };
    wait_for_models(&state, &headers, params.min_position).await?;
    let query = SlaQuery {
        state: sla_state,
        scope: Scope::of(&actor),
        org,
    };
    let items = state
        .views
        .models
        .sla(&query, state.commands.clock().now())
        .map_err(projection_error)?;
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    org: Option<String>,
    from: String,
    to: String,
    bucket: Option<String>,
    group_by: Option<String>,
    min_position: Option<u64>,
}

/// KPIs: analysts, admins and auditors, and an org's agents for their org.
pub async fn kpis(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<KpiParams>,
) -> Result<Response, ApiError> {
    if !matches!(
        actor.role,
        Role::Analyst | Role::Admin | Role::Auditor | Role::Agent
    ) {
        return Err(ApiError::forbidden(
            "KPIs are for analysts, agents, auditors and admins",
        ));
    }
    let org = org_filter(&actor, params.org.as_deref())?;
    let from = query_date("from", Some(&params.from))?.unwrap_or(time::Date::MIN);
    let to = query_date("to", Some(&params.to))?.unwrap_or(time::Date::MAX);
    if to < from {
        return Err(ApiError::invalid("invalid_query", "to is before from"));
    }
    let bucket = match params.bucket.as_deref() {
        None | Some("day") => KpiBucket::Day,
        Some("week") => KpiBucket::Week,
        Some("month") => KpiBucket::Month,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "bucket must be day, week or month",
            ))
        }
    };
    let group_by_reason = match params.group_by.as_deref() {
        None => false,
        Some("reason") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "group_by must be reason",
            ))
        }
    };
    wait_for_models(&state, &headers, params.min_position).await?;
    let query = KpiQuery {
        org,
        from,
        to,
        bucket,
        group_by_reason,
    };
    let rows = state
        .views
        .models
        .kpis(&query, state.commands.clock().now())
        .map_err(projection_error)?;
    Ok(Json(json!({ "rows": rows })).into_response())
}

fn query_date(field: &str, text: Option<&str>) -> Result<Option<time::Date>, ApiError> {
    parse::optional_date(field, text).map_err(|_| {
        ApiError::invalid(
            "invalid_query",
            format!("{field} must be a date YYYY-MM-DD"),
        )
    })
}

/// `/readyz`: the log answers, and the read models are within
/// `READY_LAG_MAX` positions of it.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let lag = state.views.lag();
    let log_ok = state.store().stream_version("readiness-probe");
    match log_ok {
        Ok(_) if lag <= READY_LAG_MAX => status_json(
            StatusCode::OK,
            json!({ "status": "ready", "log_head": state.store().head().position, "projection_lag": lag }),
        ),
        Ok(_) => status_json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not_ready", "reason": "read models catching up", "projection_lag": lag }),
        ),
        Err(error) => status_json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not_ready", "reason": error.to_string() }),
        ),
    }
}
