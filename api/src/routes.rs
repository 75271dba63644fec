//! The router: every path of the contract, and the layers applied once to
//! all of them (request id, tracing, metrics, timeout, panic guard).

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use docket_domain::access::Action;
use docket_domain::types::Visibility;

use docket_app::commands::{Answer, CommandMeta};
use docket_app::idempotency::{self, ScopedKey};
use docket_app::wire::{policy_json, rfc3339};

use crate::auth::Auth;
use crate::json::JsonBody;
use crate::problem::{edge, ApiError};
use crate::{attachments, dto, parse, queries, text_modules, AppState};

const REQUEST_ID_HEADER: &str = "x-request-id";
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Every path of the contract, with the layers applied once.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let request_id = header::HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .route("/v1/tickets", post(open_ticket).get(queries::search))
        .route("/v1/tickets/{id}", get(queries::ticket))
        .route("/v1/tickets/{id}/history", get(queries::history))
        .route("/v1/tickets/{id}/comments", post(comment))
        .route("/v1/tickets/{id}/escalations", post(escalate))
        .route("/v1/tickets/{id}/refunds", post(refund))
        .route("/v1/tickets/{id}/close", post(close))
        .route("/v1/tickets/{id}/follow-ups", post(follow_up))
        // An upload is bounded by `--attachment-max-bytes` as it streams
        // (`attachments::upload`), not by the JSON body limit.
        .route(
            "/v1/tickets/{id}/attachments",
            post(attachments::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/v1/tickets/{id}/attachments/{attachment_id}",
            get(attachments::download),
        )
        .route("/v1/inbox/{status}", get(queries::inbox))
        .route("/v1/sla", get(queries::sla))
        .route("/v1/kpis", get(queries::kpis))
        .route("/v1/events", get(queries::events))
        .route("/v1/orgs/{org}/policy", put(set_policy).get(queries::policy))
        .route("/v1/orgs/{org}/text-modules", get(text_modules::list))
        .route(
            "/v1/orgs/{org}/text-modules/{name}",
            put(text_modules::save)
                .delete(text_modules::remove)
                .get(text_modules::one),
        )
        .route("/v1/admin/clock", post(set_clock))
        .route("/healthz", get(queries::healthz))
        .route("/readyz", get(queries::readyz))
        .route("/metrics", get(queries::metrics))
        .route("/openapi.json", get(crate::openapi::serve))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { edge::method_not_allowed() })
        .layer(axum::middleware::from_fn(crate::problem::problem_json_errors))
        // The console's pages are HTML, errors included: merged after the
        // problem+json layer, under the layers every request gets.
        .merge(crate::console::router())
        .layer(axum::middleware::from_fn(crate::observability::record_request))
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            answer_within,
        ))
        .layer(CatchPanicLayer::custom(|_| edge::panicked().into_response()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Answers 503 `timeout` for a request still running after `limit`.
async fn answer_within(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => edge::timed_out().into_response(),
    }
}

pub(crate) fn meta(
    actor: docket_domain::types::Actor,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    raw: &[u8],
) -> Result<CommandMeta, ApiError> {
    let idempotency = headers
        .get(IDEMPOTENCY_HEADER)
        .map(|key| ScopedKey::parse(key.as_bytes(), &actor.sub))
        .transpose()?;
    let if_match = if_match(headers)?;
    let correlation_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::now_v7);
    Ok(CommandMeta {
        actor,
        idempotency,
        if_match,
        fingerprint: idempotency::fingerprint(method.as_str(), path, if_match, raw),
        correlation_id,
    })
}

/// `If-Match: "<version>"` (the quotes of an ETag, or none).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    unquoted
        .parse()
        .map(Some)
        .map_err(|_| edge::invalid_if_match())
}

pub(crate) fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.outcome.into()).unwrap_or(StatusCode::OK);
    let mut response = (status, Json(&answer.body)).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", answer.body.version())) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

async fn open_ticket(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    body: JsonBody<dto::OpenTicketBody>,
) -> Result<Response, ApiError> {
    Action::OpenTicket.permit(actor.role)?;
    let meta = meta(actor, &headers, &Method::POST, "/v1/tickets", &body.raw)?;
    let request = parse::OpenRequest::parse(body.value()?)?;
    let org = request.org.clone();
    let answer = state
        .commands
        .open(meta, org, |id, number| request.command(id, number))
        .await?;
    Ok(respond(answer))
}

async fn follow_up(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<dto::FollowUpBody>,
) -> Result<Response, ApiError> {
    Action::OpenFollowUp.permit(actor.role)?;
    let parent = parse::path_ticket(&id)?;
    let path = format!("/v1/tickets/{parent}/follow-ups");
    let meta = meta(actor, &headers, &Method::POST, &path, &body.raw)?;
    let request = parse::FollowUpRequest::parse(body.value()?)?;
    let answer = state
        .commands
        .follow_up(meta, parent, |id, number| request.command(id, number))
        .await?;
    Ok(respond(answer))
}

/// The four commands on one ticket differ only in their body, parser and
/// the role check made before anything else is looked at: `$action` names
/// the action from the body, if it has the right shape (an internal comment
/// is another action than a public one).
macro_rules! ticket_command {
    ($name:ident, $body:ty, $parse:path, $suffix:literal, $action:expr) => {
        async fn $name(
            State(state): State<AppState>,
            Auth(actor): Auth,
            Path(id): Path<String>,
            headers: HeaderMap,
            body: JsonBody<$body>,
        ) -> Result<Response, ApiError> {
            let action: fn(Option<&$body>) -> Action = $action;
            action(body.peek()).permit(actor.role)?;
            let ticket_id = parse::path_ticket(&id)?;
            let path = format!("/v1/tickets/{ticket_id}/{}", $suffix);
            let meta = meta(actor, &headers, &Method::POST, &path, &body.raw)?;
            let command = $parse(body.value()?)?;
            let answer = state.commands.on_ticket(meta, ticket_id, command).await?;
            Ok(respond(answer))
        }
    };
}

ticket_command!(
    comment,
    dto::CommentBody,
    parse::comment,
    "comments",
    |body| {
        match body {
            Some(body) if body.visibility == Some(Visibility::Internal) => {
                Action::CommentInternally
            }
            // Customers may comment but not from a text module: refused by
            // role, before anything else, when the body says so.
            Some(body) if body.text_module.is_some() => Action::UseTextModule,
            _ => Action::Comment,
        }
    }
);
ticket_command!(
    escalate,
    dto::EscalateBody,
    parse::escalate,
    "escalations",
    |_| Action::Escalate
);
ticket_command!(refund, dto::RefundBody, parse::refund, "refunds", |_| {
    Action::Refund
});
ticket_command!(close, dto::CloseBody, parse::close, "close", |_| {
    Action::Close
});

async fn set_policy(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(org): Path<String>,
    body: JsonBody<dto::PolicyBody>,
) -> Result<Response, ApiError> {
    Action::SetPolicy.permit(actor.role)?;
    let org = parse::path_org(&org)?;
    let command = parse::policy(org.clone(), body.value()?)?;
    let answer = state.commands.set_policy(&actor, org, command).await?;
    Ok((
        StatusCode::OK,
        Json(policy_json(
            &answer.org,
            &answer.policy,
            answer.version,
            Some(answer.position),
        )),
    )
        .into_response())
}

async fn set_clock(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let clock = state.commands.clock().clone();
    if !clock.is_test() {
        return Err(ApiError::not_found());
    }
    let mut parts = request.into_parts();
    let auth = <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts.0,
        &state,
    )
    .await?;
    if auth.0.role != docket_domain::types::Role::Admin {
        return Err(ApiError::forbidden("only an admin may set the test clock"));
    }
    let body = <JsonBody<dto::ClockBody> as axum::extract::FromRequest<AppState>>::from_request(
        Request::from_parts(parts.0, parts.1),
        &state,
    )
    .await?;
    let now = body.value()?.now;
    let at = time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid("invalid_field", "now must be an RFC 3339 time"))?;
    let now = clock.set(at)?;
    Ok(Json(serde_json::json!({ "now": rfc3339(now) })).into_response())
}
