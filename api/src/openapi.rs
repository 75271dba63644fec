//! `/openapi.json`, generated from the handlers' declarations below: every
//! `/v1` path of the contract with its parameters and request bodies.

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use crate::dto;

#[derive(OpenApi)]
#[openapi(
    info(title = "Docket", version = "1.1", description = "Event-sourced support tickets: the HTTP contract v1.1. Choices where the contract is silent are in docs/api.md."),
    paths(
        open_ticket, search, get_ticket, history, comment, escalate, refund, close, follow_up,
        inbox, sla, kpis, events, put_policy, get_policy, set_clock, healthz, readyz, metrics, openapi
    ),
    components(schemas(
        dto::OpenTicketBody, dto::FollowUpBody, dto::CommentBody, dto::EscalateBody,
        dto::RefundBody, dto::CloseBody, dto::PolicyBody, dto::CalendarBody, dto::ClockBody,
        dto::ReasonBody, dto::OrderBody
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub async fn serve() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

// Declarations only: utoipa reads these attributes; the handlers live in
// `routes` and `queries`.
#[utoipa::path(post, path = "/v1/tickets", request_body = dto::OpenTicketBody,
    params(("Idempotency-Key" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses((status = 201, description = "opened"), (status = 422, description = "validation failure, problem+json")))]
#[allow(dead_code)]
fn open_ticket() {}
#[utoipa::path(get, path = "/v1/tickets", params(("number" = Option<String>, Query), ("order_number" = Option<String>, Query), ("X-Min-Position" = Option<u64>, Header)), responses((status = 200, description = "{items: [ticket summary]}")))]
#[allow(dead_code)]
fn search() {}
#[utoipa::path(get, path = "/v1/tickets/{id}", params(("id" = String, Path), ("X-Min-Position" = Option<u64>, Header)), responses((status = 200, description = "the ticket view"), (status = 404, description = "no such ticket")))]
#[allow(dead_code)]
fn get_ticket() {}
#[utoipa::path(get, path = "/v1/tickets/{id}/history", params(("id" = String, Path), ("as_of" = Option<String>, Query)), responses((status = 200, description = "{ticket_id, events} or {state, events}")))]
#[allow(dead_code)]
fn history() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/comments", request_body = dto::CommentBody, params(("id" = String, Path)), responses((status = 200, description = "commented")))]
#[allow(dead_code)]
fn comment() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/escalations", request_body = dto::EscalateBody, params(("id" = String, Path)), responses((status = 200, description = "escalated")))]
#[allow(dead_code)]
fn escalate() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/refunds", request_body = dto::RefundBody, params(("id" = String, Path)), responses((status = 200, description = "refunded, with refunded_minor")))]
#[allow(dead_code)]
fn refund() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/close", request_body = dto::CloseBody, params(("id" = String, Path)), responses((status = 200, description = "closed")))]
#[allow(dead_code)]
fn close() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/follow-ups", request_body = dto::FollowUpBody, params(("id" = String, Path)), responses((status = 201, description = "the new ticket")))]
#[allow(dead_code)]
fn follow_up() {}
#[utoipa::path(get, path = "/v1/inbox/{status}", params(("status" = String, Path, description = "open, waiting or closed"), ("org" = Option<String>, Query), ("reason" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("sort" = Option<String>, Query)), responses((status = 200, description = "{items, next_cursor}")))]
#[allow(dead_code)]
fn inbox() {}
#[utoipa::path(get, path = "/v1/sla", params(("state" = String, Query), ("within" = Option<u64>, Query), ("org" = Option<String>, Query)), responses((status = 200, description = "{items}")))]
#[allow(dead_code)]
fn sla() {}
#[utoipa::path(get, path = "/v1/kpis", params(("org" = Option<String>, Query), ("from" = String, Query), ("to" = String, Query), ("bucket" = Option<String>, Query), ("group_by" = Option<String>, Query)), responses((status = 200, description = "{rows}")))]
#[allow(dead_code)]
fn kpis() {}
#[utoipa::path(get, path = "/v1/events", params(("after" = Option<u64>, Query), ("limit" = Option<u32>, Query)), responses((status = 200, description = "{events}")))]
#[allow(dead_code)]
fn events() {}
#[utoipa::path(put, path = "/v1/orgs/{org}/policy", request_body = dto::PolicyBody, params(("org" = String, Path)), responses((status = 200, description = "the policy now in force")))]
#[allow(dead_code)]
fn put_policy() {}
#[utoipa::path(get, path = "/v1/orgs/{org}/policy", params(("org" = String, Path)), responses((status = 200, description = "the policy in force")))]
#[allow(dead_code)]
fn get_policy() {}
#[utoipa::path(post, path = "/v1/admin/clock", request_body = dto::ClockBody, responses((status = 200, description = "the new time"), (status = 404, description = "without --test-clock")))]
#[allow(dead_code)]
fn set_clock() {}
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
#[allow(dead_code)]
fn healthz() {}
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
#[allow(dead_code)]
fn readyz() {}
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text")))]
#[allow(dead_code)]
fn metrics() {}
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "this document")))]
#[allow(dead_code)]
fn openapi() {}
