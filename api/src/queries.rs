//! Query handlers: parse the query string, ask the application layer's
//! [`Reads`](docket_app::reads::Reads) (which enforces who may read what),
//! and answer JSON. Each handler checks the role (`access::Read`) before it
//! parses anything, so a refused reader learns nothing from a bad query.
//! Also the ops endpoints.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_app::reads::{self, SearchBy, READY_LAG_MAX};
use docket_app::wire::policy_json;
use docket_domain::access::{self, Read, Scope};
use docket_domain::types::{Actor, OrgId, Status, TicketNumber};
use docket_projections::{
    InboxQuery, InboxSort, KpiBucket, KpiGrouping, KpiQuery, SlaQuery, SlaState,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::problem::{edge, ApiError};
use crate::{parse, AppState};

/// The query of `GET /v1/tickets/{id}/history`: `as_of` and `min_position`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    as_of: Option<String>,
    min_position: Option<u64>,
}

/// `GET /v1/tickets/{id}/history`: the ticket's events in version order, or
/// with `?as_of=` its state and events as they stood at that instant.
pub async fn history(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    Read::Tickets.permit(&actor)?;
    let ticket_id = parse::path_ticket(&id)?;
    let as_of = params
        .as_of
        .as_deref()
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| ApiError::invalid("invalid_query", "as_of must be an RFC 3339 time"))
        })
        .transpose()?;
    let min_position = min_position(&headers, params.min_position)?;
    let seen = state.reads.history(&actor, ticket_id, min_position).await?;
    Ok(Json(seen.to_json(as_of)).into_response())
}

/// The query of `GET /v1/events`: `after` (exclusive), `limit` and
/// `min_position`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    after: Option<u64>,
    limit: Option<usize>,
    min_position: Option<u64>,
}

/// `GET /v1/events`: the whole log in order, for platform-wide auditors
/// and admins only.
pub async fn events(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> Result<Response, ApiError> {
    Read::EventFeed.permit(&actor)?;
    let min_position = min_position(&headers, params.min_position)?;
    let after = params.after.unwrap_or(0);
    let events = state
        .reads
        .events(&actor, after, params.limit, min_position)
        .await?;
    Ok(Json(json!({ "events": events })).into_response())
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
    Read::Policy.permit(&actor)?;
    let org = parse::path_org(&org)?;
    let min_position = min_position(&headers, params.min_position)?;
    let (version, policy) = state.reads.policy(&actor, &org, min_position).await?;
    Ok(Json(policy_json(&org, &policy, version, None)).into_response())
}

/// `GET /healthz`: the process is up; no token needed.
pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /metrics`: the Prometheus text, with the log's, the writer's and
/// the read models' gauges refreshed first; no token needed.
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
            .ok_or_else(edge::invalid_min_position),
    }
}

/// An ops answer that is not a problem: `body` as JSON with `status`.
pub fn status_json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// The query of a GET whose only parameter is `min_position`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinPositionParams {
    min_position: Option<u64>,
}

/// `GET /v1/tickets/{id}`: the ticket view, with its version as `ETag`.
pub async fn ticket(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<MinPositionParams>,
) -> Result<Response, ApiError> {
    Read::Tickets.permit(&actor)?;
    let ticket_id = parse::path_ticket(&id)?;
    let min_position = min_position(&headers, params.min_position)?;
    let seen = state.reads.ticket(&actor, ticket_id, min_position).await?;
    let mut response = Json(seen.to_json()).into_response();
    if let Ok(etag) = header::HeaderValue::from_str(&format!("\"{}\"", seen.view.state.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Staff reading across orgs: the `org` parameter parsed, then resolved by
/// the domain's rule (an org-scoped token naming another org is 403).
fn org_filter(actor: &Actor, org: Option<&str>) -> Result<Option<OrgId>, ApiError> {
    let org = parse::optional_org(org)?;
    Ok(access::org_filter(actor, org)?)
}

/// The query of `GET /v1/tickets`: exactly one of `number` and
/// `order_number`, and `min_position`.
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
    Read::Tickets.permit(&actor)?;
    let min_position = min_position(&headers, params.min_position)?;
    let by = match (params.number, params.order_number) {
        (Some(number), None) => match TicketNumber::parse(&number) {
            Some(number) => SearchBy::Number(number),
            None => {
                return Err(ApiError::invalid(
                    "invalid_query",
                    "number must be exactly 11 digits",
                ))
            }
        },
        (None, Some(order)) if !order.is_empty() => SearchBy::OrderNumber(order),
        _ => {
            return Err(ApiError::invalid(
                "invalid_query",
                "give exactly one of number or order_number",
            ))
        }
    };
    let items = state.reads.search(&actor, &by, min_position).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// The query of `GET /v1/inbox/{status}`: the filters `org`, `reason`,
/// `from` and `to`, the page (`limit`, `cursor`), `sort` and `min_position`.
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
    sales_channel: Option<String>,
    min_position: Option<u64>,
}

/// `GET /v1/inbox/{open|waiting|closed}`: one page of ticket summaries and
/// the `next_cursor`.
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
    Read::Inboxes.permit(&actor)?;
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
    let limit = reads::inbox_limit(params.limit)?;
    let query = InboxQuery {
        inbox,
        scope: Scope::of(&actor),
        org,
        reason: params.reason,
        sales_channel: parse::optional_sales_channel(params.sales_channel.as_deref())?,
        from: query_date("from", params.from.as_deref())?,
        to: query_date("to", params.to.as_deref())?,
        sort,
        limit,
        cursor: params.cursor,
    };
    let min_position = min_position(&headers, params.min_position)?;
    let page = state.reads.inbox(&actor, query, min_position).await?;
    Ok(Json(page).into_response())
}

/// The query of `GET /v1/sla`: `state`, `within` (business seconds, for
/// `at_risk`), `org` and `min_position`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaParams {
    state: String,
    within: Option<i64>,
    org: Option<String>,
    min_position: Option<u64>,
}

/// `GET /v1/sla`: the SLA clocks that are breached, or at risk of breaching
/// within `within` business seconds.
pub async fn sla(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<SlaParams>,
) -> Result<Response, ApiError> {
    Read::Inboxes.permit(&actor)?;
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
    let min_position = min_position(&headers, params.min_position)?;
    let query = SlaQuery {
        state: sla_state,
        scope: Scope::of(&actor),
        org,
    };
    let items = state.reads.sla(&actor, query, min_position).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// The query of `GET /v1/kpis`: `org`, the inclusive dates `from` and `to`,
/// `bucket`, `group_by` and `min_position`.
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

/// `GET /v1/kpis`: for analysts, admins and auditors, and an org's agents
/// for their org.
pub async fn kpis(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(params): Query<KpiParams>,
) -> Result<Response, ApiError> {
    Read::Kpis.permit(&actor)?;
    let org = org_filter(&actor, params.org.as_deref())?;
    let from = query_date("from", Some(&params.from))?.unwrap_or(time::Date::MIN);
    let to = query_date("to", Some(&params.to))?.unwrap_or(time::Date::MAX);
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
    let grouping = match params.group_by.as_deref() {
        None => KpiGrouping::ByOrg,
        Some("reason") => KpiGrouping::ByReason,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "group_by must be reason",
            ))
        }
    };
    let min_position = min_position(&headers, params.min_position)?;
    let query = KpiQuery {
        org,
        from,
        to,
        bucket,
        grouping,
    };
    let rows = state.reads.kpis(&actor, query, min_position).await?;
    Ok(Json(json!({ "rows": rows })).into_response())
}

pub(crate) fn query_date(field: &str, text: Option<&str>) -> Result<Option<time::Date>, ApiError> {
    parse::optional_date(field, text).map_err(|_| {
        ApiError::invalid(
            "invalid_query",
            format!("{field} must be a date YYYY-MM-DD"),
        )
    })
}

/// `GET /readyz`: the log answers, and the read models are within
/// `READY_LAG_MAX` positions of it.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let lag = state.reads.views().lag();
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
