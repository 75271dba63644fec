//! `/openapi.json`, generated from the handlers' declarations below: every
//! `/v1` path of the contract with its parameters and request bodies, and
//! every answer an operation can give, errors included.
//!
//! The error answers are not written by hand: [`failures`] lists, per
//! operation, the situations that can refuse it (the domain's, the
//! application layer's and the edge's own), and each goes through the very
//! mapping the server answers with (`ApiError::from`, `problem::edge`), so
//! the statuses and `code`s documented cannot drift from those served.
//! (Past ~600 lines: one declaration and one failure list per operation,
//! kept side by side so a new operation is documented whole.)

use std::collections::{BTreeMap, BTreeSet};

use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_app::AppError;
use docket_domain::access::{Action, Read};
use docket_domain::error::{PolicyProblem, TextProblem};
use docket_domain::types::{Currency, OrgId, Role, TicketId};
use docket_domain::DomainError;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder, Schema};
use utoipa::OpenApi;

use crate::dto;
use crate::problem::{edge, ApiError};

/// The document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Docket", version = "1.2", description = "Event-sourced support tickets: the HTTP contract v1.2 (contacts, sales channels and text modules so far). Choices where the contract is silent are in docs/api.md."),
    paths(
        open_ticket, search, get_ticket, history, comment, escalate, refund, close, follow_up,
        inbox, sla, kpis, events, put_policy, get_policy, set_clock, healthz, readyz, metrics, openapi,
        put_text_module, delete_text_module, get_text_module, list_text_modules,
        upload_attachment, download_attachment
    ),
    components(schemas(
        dto::OpenTicketBody, dto::FollowUpBody, dto::CommentBody, dto::EscalateBody,
        dto::RefundBody, dto::CloseBody, dto::PolicyBody, dto::CalendarBody, dto::ClockBody,
        dto::ReasonBody, dto::OrderBody, dto::ContactBody, dto::TextModuleBody, dto::AttachmentForm
    )),
    modifiers(&BearerAuth, &Answers)
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

/// Fills in every operation's answers: its success content, the
/// `X-Min-Position` / `min_position` of every `/v1` GET, and one
/// problem+json response per error status with the `code`s it may carry.
struct Answers;

impl utoipa::Modify for Answers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
                ("delete", item.delete.as_mut()),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    document(method, path, operation);
                }
            }
        }
    }
}

fn document(method: &str, path: &str, operation: &mut Operation) {
    let is_v1 = path.starts_with("/v1/");
    if is_v1 && method == "get" {
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        add_parameter(parameters, "X-Min-Position", ParameterIn::Header);
        add_parameter(parameters, "min_position", ParameterIn::Query);
    }
    let success_type = match path {
        "/metrics" => "text/plain",
        _ => "application/json",
    };
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if status.starts_with('2') && response.content.is_empty() {
                let any_object = ObjectBuilder::new().schema_type(match success_type {
                    "text/plain" => Type::String,
                    _ => Type::Object,
                });
                response.content.insert(
                    success_type.to_owned(),
                    ContentBuilder::new().schema(Some(any_object)).build(),
                );
            }
        }
    }
    let mut codes_by_status: BTreeMap<u16, BTreeSet<&'static str>> = BTreeMap::new();
    for failure in failures(method, path) {
        codes_by_status
            .entry(failure.status.as_u16())
            .or_default()
            .insert(failure.code);
    }
    for (status, codes) in codes_by_status {
        let codes: Vec<&str> = codes.into_iter().collect();
        let response = ResponseBuilder::new()
            .description(format!("problem+json; code: {}", codes.join(", ")))
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(problem_schema(status, &codes)))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
    }
}

fn add_parameter(parameters: &mut Vec<Parameter>, name: &str, location: ParameterIn) {
    if parameters.iter().any(|p| p.name == name) {
        return;
    }
    parameters.push(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(location)
            .description(Some(
                "answer only once the read model serving this has applied this log position (waits up to 5 s, else 503 projection_lagging)",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    )))
                    .minimum(Some(0)),
            ))
            .build(),
    );
}

/// RFC 9457 problem details, with the `code`s of one status.
fn problem_schema(status: u16, codes: &[&str]) -> Schema {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("type", text())
        .property("title", text())
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([status])),
        )
        .property("detail", text())
        .property("code", text().enum_values(Some(codes.iter().copied())))
        .required("type")
        .required("title")
        .required("status")
        .required("detail")
        .required("code")
        .into()
}

/// Every refusal an operation can answer with, as the server makes it.
pub fn failures(method: &str, path: &str) -> Vec<ApiError> {
    let mut failures = Vec::new();
    if !path.starts_with("/v1/") {
        return failures;
    }
    failures.push(ApiError::unauthorized("no or bad token"));
    failures.push(edge::timed_out());
    failures.push(edge::panicked());
    failures.push(app(AppError::Unexpected("a store answer ruled out")));
    let ticket_command = |failures: &mut Vec<ApiError>, refusals: Vec<DomainError>| {
        failures.extend(command_request());
        failures.extend(refusals.into_iter().map(ApiError::from));
    };
    match (method, path) {
        ("post", "/v1/tickets") => ticket_command(&mut failures, opening()),
        ("put", "/v1/orgs/{org}/text-modules/{name}") => {
            failures.extend(command_request());
            failures.push(ApiError::not_found());
            failures.extend(text_module_management());
            failures.extend(
                [
                    DomainError::InvalidTemplate { at_char: 0 },
                    DomainError::UnknownPlaceholder {
                        name: "x".to_owned(),
                    },
                    DomainError::TooManySalesChannels { count: 51, max: 50 },
                    invalid_sales_channel(),
                    invalid_field(),
                ]
                .map(ApiError::from),
            );
        }
        ("post", "/v1/tickets/{id}/attachments") => {
            let mut refusals = on_ticket(Action::CommentInternally);
            refusals.extend([
                DomainError::EmptyAttachment,
                DomainError::TooManyAttachments { max: 100 },
                DomainError::UnsupportedAttachmentType {
                    detected: "text/html".to_owned(),
                },
            ]);
            ticket_command(&mut failures, refusals);
            failures.extend([
                edge::not_multipart(),
                edge::malformed_multipart("cut off"),
                edge::missing_file(),
                edge::missing_filename(),
                edge::unexpected_part("a second file part"),
                app(AppError::AttachmentTooLarge { limit_bytes: 0 }),
            ]);
        }
        ("get", "/v1/tickets/{id}/attachments/{attachment_id}") => {
            failures.extend(query_request());
            failures.push(ApiError::from(DomainError::ReadForbidden {
                read: Read::Tickets,
            }));
            failures.push(ApiError::not_found());
            failures.push(edge::range_not_satisfiable(0));
        }
        ("delete", "/v1/orgs/{org}/text-modules/{name}") => {
            failures.extend(command_request());
            failures.push(ApiError::not_found());
            failures.extend(text_module_management());
        }
        ("post", "/v1/tickets/{id}/follow-ups") => {
            let mut refusals = opening();
            refusals.extend([DomainError::NotFound, DomainError::ParentNotClosed]);
            ticket_command(&mut failures, refusals);
        }
        ("post", "/v1/tickets/{id}/comments") => {
            let mut refusals = on_ticket(Action::CommentInternally);
            refusals.extend([
                forbidden(Action::UseTextModule),
                DomainError::UnknownTextModule {
                    name: "x".to_owned(),
                },
                DomainError::TextModuleNotForChannel {
                    name: "x".to_owned(),
                },
                DomainError::PlaceholderWithoutValue {
                    placeholder: "order.number".to_owned(),
                },
            ]);
            ticket_command(&mut failures, refusals);
            failures.push(edge::body_or_text_module());
        }
        ("post", "/v1/tickets/{id}/escalations") => {
            let mut refusals = on_ticket(Action::Escalate);
            refusals.push(DomainError::AlreadyEscalated);
            ticket_command(&mut failures, refusals);
        }
        ("post", "/v1/tickets/{id}/refunds") => {
            let mut refusals = on_ticket(Action::Refund);
            refusals.extend([
                DomainError::NoOrder,
                DomainError::CurrencyMismatch {
                    order: currency("EUR"),
                    refund: currency("USD"),
                },
                DomainError::RefundExceedsOrder { left_minor: 0 },
            ]);
            ticket_command(&mut failures, refusals);
        }
        ("post", "/v1/tickets/{id}/close") => {
            ticket_command(&mut failures, on_ticket(Action::Close))
        }
        ("put", "/v1/orgs/{org}/policy") => {
            failures.extend(json_body());
            failures.push(ApiError::not_found());
            failures.extend(
                [
                    forbidden(Action::SetPolicy),
                    DomainError::ForbiddenOrg {
                        allowed: org("acme"),
                        requested: org("globex"),
                    },
                    DomainError::InvalidPolicy {
                        field: "first_response_hours",
                        problem: PolicyProblem::NoWorkingDay,
                    },
                    invalid_field(),
                    invalid_email(),
                ]
                .map(ApiError::from),
            );
            failures.extend(store_failures());
            failures.push(app(AppError::Contended));
        }
        ("post", "/v1/admin/clock") => {
            failures.extend(json_body());
            failures.push(ApiError::forbidden("only an admin may set the test clock"));
            failures.push(app(AppError::ClockNotTest));
            failures.push(app(AppError::ClockWouldGoBack {
                now: time::OffsetDateTime::UNIX_EPOCH,
            }));
            failures.push(ApiError::from(invalid_field()));
        }
        ("get", path) => {
            failures.extend(query_request());
            let read = match path {
                "/v1/inbox/{status}" | "/v1/sla" => Read::Inboxes,
                "/v1/orgs/{org}/text-modules" | "/v1/orgs/{org}/text-modules/{name}" => {
                    Read::TextModules
                }
                "/v1/kpis" => Read::Kpis,
                "/v1/events" => Read::EventFeed,
                "/v1/orgs/{org}/policy" => Read::Policy,
                _ => Read::Tickets,
            };
            failures.push(ApiError::from(DomainError::ReadForbidden { read }));
            match path {
                "/v1/inbox/{status}" | "/v1/sla" | "/v1/kpis" => {
                    failures.push(ApiError::from(DomainError::ForbiddenOrgRead {
                        allowed: org("acme"),
                        requested: org("globex"),
                    }));
                    failures.push(ApiError::from(invalid_field()));
                    failures.push(ApiError::from(AppError::Projection(
                        docket_projections::ProjectionError::InvalidCursor {
                            problem: docket_projections::CursorProblem::Malformed,
                        },
                    )));
                }
                "/v1/tickets" | "/v1/events" => {}
                _ => failures.push(ApiError::not_found()),
            }
            if path == "/v1/inbox/{status}" {
                failures.push(ApiError::not_found());
                failures.push(ApiError::from(invalid_sales_channel()));
            }
            if path.contains("text-modules") {
                failures.push(ApiError::from(DomainError::ForbiddenOrgRead {
                    allowed: org("acme"),
                    requested: org("globex"),
                }));
                failures.push(ApiError::from(invalid_sales_channel()));
            }
            if path.contains("history") || path == "/v1/events" || path.contains("policy") {
                failures.extend(store_failures());
            }
        }
        _ => {}
    }
    failures
}

fn app(error: AppError) -> ApiError {
    ApiError::from(error)
}

/// What any command's request can be refused for before its rules.
fn command_request() -> Vec<ApiError> {
    let mut failures = json_body();
    failures.extend(
        [
            AppError::InvalidIdempotencyKey,
            AppError::IdempotencyKeyReused,
            AppError::IdempotencyInProgress,
            AppError::Overloaded,
            AppError::VersionMismatch,
            AppError::Contended,
        ]
        .map(app),
    );
    failures.push(edge::invalid_if_match());
    failures.extend(store_failures());
    failures
}

/// A JSON body's refusals.
fn json_body() -> Vec<ApiError> {
    vec![
        edge::unsupported_media_type(),
        crate::json::too_large(),
        edge::malformed_json("malformed JSON"),
        edge::wrong_shape("unknown field `x`".to_owned()),
        edge::wrong_shape("missing field `x`".to_owned()),
        edge::wrong_shape("invalid type".to_owned()),
    ]
}

/// A GET's refusals before its rules.
fn query_request() -> Vec<ApiError> {
    vec![
        edge::invalid_min_position(),
        edge::unreadable_query("unknown parameter"),
        app(AppError::InvalidQuery(
            "a parameter out of its bounds".to_owned(),
        )),
        app(AppError::Lagging {
            position: 1,
            waited_s: 5,
        }),
    ]
}

/// The log's failures a client can meet (`problem::store_error`).
fn store_failures() -> Vec<ApiError> {
    [
        docket_eventstore::StoreError::Closed,
        docket_eventstore::StoreError::InvalidRequest("a limit".to_owned()),
    ]
    .map(|error| app(AppError::Store(error)))
    .into()
}

/// Who may manage an org's text modules, after the role.
fn text_module_management() -> Vec<ApiError> {
    [
        forbidden(Action::ManageTextModules),
        DomainError::ForbiddenOrg {
            allowed: org("acme"),
            requested: org("globex"),
        },
    ]
    .map(ApiError::from)
    .into()
}

fn invalid_email() -> DomainError {
    DomainError::InvalidEmail {
        email: "x".to_owned(),
    }
}

fn invalid_sales_channel() -> DomainError {
    DomainError::InvalidSalesChannel {
        sales_channel: "X".to_owned(),
    }
}

fn opening() -> Vec<DomainError> {
    let day = time::Date::MIN;
    vec![
        invalid_email(),
        DomainError::InvalidContactName,
        DomainError::UnsupportedLanguage {
            language: "xx".to_owned(),
        },
        invalid_sales_channel(),
        forbidden(Action::OpenTicket),
        DomainError::ForbiddenOrg {
            allowed: org("acme"),
            requested: org("globex"),
        },
        DomainError::MissingField { field: "org" },
        DomainError::IncidentDateInFuture {
            incident_date: day,
            today: day,
        },
        DomainError::IntakeWindowExpired {
            incident_date: day,
            window_days: 14,
        },
        DomainError::TicketExists {
            ticket_id: TicketId(uuid::Uuid::nil()),
        },
        invalid_field(),
    ]
}

fn on_ticket(action: Action) -> Vec<DomainError> {
    vec![
        forbidden(action),
        DomainError::NotFound,
        DomainError::TicketClosed,
        invalid_field(),
    ]
}

fn forbidden(action: Action) -> DomainError {
    DomainError::Forbidden {
        role: Role::Analyst,
        action,
    }
}

fn invalid_field() -> DomainError {
    DomainError::InvalidField {
        field: "subject",
        problem: TextProblem::Blank,
    }
}

fn org(name: &str) -> OrgId {
    OrgId::parse(name).expect("a valid org id")
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("an ISO 4217 code")
}

/// Serves the document.
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
#[utoipa::path(get, path = "/v1/inbox/{status}", params(("status" = String, Path, description = "open, waiting or closed"), ("org" = Option<String>, Query), ("reason" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("sort" = Option<String>, Query), ("sales_channel" = Option<String>, Query)), responses((status = 200, description = "{items, next_cursor}")))]
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
#[utoipa::path(put, path = "/v1/orgs/{org}/text-modules/{name}", request_body = dto::TextModuleBody,
    params(("org" = String, Path), ("name" = String, Path, description = "^[a-z0-9][a-z0-9_-]{0,62}$"), ("Idempotency-Key" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "replaced: {org, name, version, title, body, sales_channels, updated_at, position}"), (status = 201, description = "made: the same fields")))]
#[allow(dead_code)]
fn put_text_module() {}
#[utoipa::path(delete, path = "/v1/orgs/{org}/text-modules/{name}",
    params(("org" = String, Path), ("name" = String, Path), ("Idempotency-Key" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "{org, name, version, removed: true, position}")))]
#[allow(dead_code)]
fn delete_text_module() {}
#[utoipa::path(get, path = "/v1/orgs/{org}/text-modules/{name}", params(("org" = String, Path), ("name" = String, Path)), responses((status = 200, description = "the module, with its ETag")))]
#[allow(dead_code)]
fn get_text_module() {}
#[utoipa::path(get, path = "/v1/orgs/{org}/text-modules", params(("org" = String, Path), ("sales_channel" = Option<String>, Query)), responses((status = 200, description = "{items: [module]} by name")))]
#[allow(dead_code)]
fn list_text_modules() {}
#[utoipa::path(post, path = "/v1/tickets/{id}/attachments",
    request_body(content = dto::AttachmentForm, content_type = "multipart/form-data"),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses((status = 201, description = "the command fields and `attachment: {attachment_id, filename, media_type, size, sha256, visibility, author, at}`")))]
#[allow(dead_code)]
fn upload_attachment() {}
#[utoipa::path(get, path = "/v1/tickets/{id}/attachments/{attachment_id}",
    params(("id" = String, Path), ("attachment_id" = String, Path), ("Range" = Option<String>, Header, description = "one range, bytes=a-b")),
    responses((status = 200, description = "the bytes, with the type told from them", content_type = "*/*"), (status = 206, description = "the range asked for", content_type = "*/*")))]
#[allow(dead_code)]
fn download_attachment() {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(method: &str, path: &str, status: u16) -> BTreeSet<&'static str> {
        failures(method, path)
            .into_iter()
            .filter(|failure| failure.status.as_u16() == status)
            .map(|failure| failure.code)
            .collect()
    }

    #[test]
    fn a_commands_rules_are_documented_with_the_codes_the_server_answers() {
        let refund = codes("post", "/v1/tickets/{id}/refunds", 422);
        for code in ["no_order", "currency_mismatch", "refund_exceeds_order"] {
            assert!(refund.contains(code), "{code} missing from {refund:?}");
        }
        assert_eq!(
            codes("post", "/v1/tickets/{id}/close", 412),
            BTreeSet::from(["version_mismatch"])
        );
        assert!(codes("get", "/v1/kpis", 403).contains("forbidden_org"));
    }

    #[test]
    fn every_error_response_in_the_document_names_its_codes() {
        let document = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let paths = document["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("operations") {
                let Some(responses) = operation["responses"].as_object() else {
                    continue;
                };
                for (status, response) in responses {
                    if !status.starts_with('4') && !status.starts_with('5') || path == "/readyz" {
                        continue;
                    }
                    let schema = &response["content"]["application/problem+json"]["schema"];
                    let codes = schema["properties"]["code"]["enum"].as_array();
                    assert!(
                        codes.is_some_and(|codes| !codes.is_empty()),
                        "{method} {path} {status} documents no code"
                    );
                }
            }
        }
    }
}
