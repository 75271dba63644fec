//! Every error answer: `application/problem+json` (RFC 9457) with a stable
//! `code`. This module is the one place where situations become HTTP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: HTTP status, a stable snake_case `code`, and a detail
/// for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The contract's stable snake_case `code`, which clients branch on.
    pub code: &'static str,
    /// What went wrong, for people; clients must not parse it.
    pub detail: String,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl ApiError {
    /// An answer of any status and `code`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// 401 `unauthorized`: no token, or one that does not verify.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403 `forbidden`: the token's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 403 `forbidden_org`: an org-scoped token asking for another org.
    pub fn forbidden_org(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden_org", detail)
    }

    /// The one answer for "does not exist" and "not yours": no existence leak.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 422 with `code` naming the rule the request breaks.
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 400 with `code`: a body, header, query or cursor that cannot be read.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 500 `internal`: the server's fault, never the request's.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// 503 with `code`: the server cannot answer now; a retry may succeed.
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            type_uri: format!("https://docket.dev/problems/{}", self.code),
            title: self.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the oversize body is left unread, so the
            // connection cannot carry another request: say so, or a client
            // reusing it gets its next request cut off.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The edge's own refusals, each made in one place so that the OpenAPI
/// document (`openapi.rs`) lists exactly the codes the edge answers with.
pub mod edge {
    use axum::http::StatusCode;

    use super::ApiError;

    /// 415: a JSON endpoint given another content type.
    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be sent as application/json",
        )
    }

    /// 413: a body over `limit_bytes`.
    pub fn payload_too_large(limit_bytes: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request bodies are limited to {limit_bytes} bytes"),
        )
    }

    /// 400: a body that is not JSON at all.
    pub fn malformed_json(detail: impl Into<String>) -> ApiError {
        ApiError::bad_request("malformed_json", detail)
    }

    /// 422: well-formed JSON of the wrong shape, named by what is wrong
    /// (serde_json's message).
    pub fn wrong_shape(message: String) -> ApiError {
        let code = if message.starts_with("unknown field") {
            "unknown_field"
        } else if message.starts_with("missing field") {
            "missing_field"
        } else {
            "invalid_field"
        };
        ApiError::invalid(code, message)
    }

    /// 415: an attachment upload that is not `multipart/form-data`.
    pub fn not_multipart() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "attachments are sent as multipart/form-data",
        )
    }

    /// 400: a multipart body that cannot be read (cut off, bad framing).
    pub fn malformed_multipart(detail: impl Into<String>) -> ApiError {
        ApiError::bad_request("malformed_multipart", detail)
    }

    /// 422: a multipart body without its `file` part.
    pub fn missing_file() -> ApiError {
        ApiError::invalid("missing_file", "the body has no part named file")
    }

    /// 422: a `file` part without a filename.
    pub fn missing_filename() -> ApiError {
        ApiError::invalid("missing_filename", "the file part has no filename")
    }

    /// 422: a part other than one `file` and at most one `visibility`.
    pub fn unexpected_part(detail: impl Into<String>) -> ApiError {
        ApiError::invalid("unexpected_part", detail)
    }

    /// 416: a `Range` outside the attachment.
    pub fn range_not_satisfiable(size: u64) -> ApiError {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!("the attachment has {size} bytes"),
        )
    }

    /// 422: a comment with both `body` and `text_module`, or neither.
    pub fn body_or_text_module() -> ApiError {
        ApiError::invalid(
            "body_or_text_module",
            "give exactly one of body and text_module",
        )
    }

    /// 400: an `If-Match` that is not a version.
    pub fn invalid_if_match() -> ApiError {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match must be a ticket version as its ETag gives it, e.g. \"3\"",
        )
    }

    /// 400: an `X-Min-Position` that is not a position.
    pub fn invalid_min_position() -> ApiError {
        ApiError::bad_request("invalid_min_position", "X-Min-Position must be a u64")
    }

    /// 400: a query string the framework could not read into the
    /// handler's parameters (unknown or ill-typed parameters).
    pub fn unreadable_query(detail: impl Into<String>) -> ApiError {
        ApiError::bad_request("invalid_query", detail)
    }

    /// 503: the request ran past `--request-timeout-ms`.
    pub fn timed_out() -> ApiError {
        ApiError::unavailable("timeout", "the request took too long")
    }

    /// 405: a known path with a method it does not take.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method",
        )
    }

    /// 500: a handler panicked (caught; nothing was applied twice).
    pub fn panicked() -> ApiError {
        ApiError::internal("the request hit a bug; it was not applied twice")
    }
}

/// The longest framework rejection text kept as a problem's `detail`.
const REJECTION_DETAIL_BYTES_MAX: usize = 4096;

/// Middleware, the innermost layer: an error answer made by a framework
/// extractor rather than by `ApiError` (axum's query-string and path
/// rejections are plain text) becomes problem+json, so every error has the
/// contract's shape. A path that cannot even be decoded names no resource:
/// 404 `not_found`, as any other bad id.
pub async fn problem_json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), REJECTION_DETAIL_BYTES_MAX)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).into_owned();
    let error = match status {
        StatusCode::BAD_REQUEST if detail.starts_with("Invalid URL") => ApiError::not_found(),
        StatusCode::BAD_REQUEST => edge::unreadable_query(detail),
        StatusCode::NOT_FOUND => ApiError::not_found(),
        _ => ApiError::new(status, "http_error", detail),
    };
    error.into_response()
}

impl From<docket_app::AppError> for ApiError {
    fn from(error: docket_app::AppError) -> ApiError {
        use docket_app::AppError as E;
        let detail = error.to_string();
        match error {
            E::Domain(domain) => domain.into(),
            E::VersionMismatch => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "version_mismatch", detail)
            }
            E::Contended => ApiError::new(StatusCode::CONFLICT, "contended", detail),
            E::InvalidIdempotencyKey => ApiError::bad_request("invalid_idempotency_key", detail),
            E::IdempotencyKeyReused => ApiError::invalid("idempotency_key_reused", detail),
            E::IdempotencyInProgress => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_in_progress", detail)
            }
            E::Overloaded => ApiError::unavailable("overloaded", detail),
            E::Lagging { .. } => ApiError::unavailable("projection_lagging", detail),
            E::InvalidQuery(detail) => ApiError::invalid("invalid_query", detail),
            E::Store(store) => store_error(store),
            E::Projection(projection) => projection_error(projection),
            E::ClockNotTest => ApiError::not_found(),
            E::ClockWouldGoBack { .. } => {
                ApiError::new(StatusCode::CONFLICT, "clock_would_go_back", detail)
            }
            E::Undecodable { .. }
            | E::IdempotencyRecord(_)
            | E::TicketNumbersExhausted
            | E::Unexpected(_)
            | E::BreachReport(_)
            | E::DataDirCreate { .. }
            | E::DataDirInUse { .. }
            | E::DataDirLock { .. }
            | E::SecretRead { .. }
            | E::SecretCreate { .. }
            | E::SecretEmpty { .. }
            | E::AttachmentStore { .. }
            | E::AttachmentMissing { .. }
            | E::MailConfig(_)
            | E::Notifier { .. } => ApiError::internal(detail),
            E::AttachmentTooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment_too_large",
                detail,
            ),
        }
    }
}

/// Store failures a client can see: all are the server's, none the request's.
fn store_error(error: docket_eventstore::StoreError) -> ApiError {
    use docket_eventstore::StoreError;
    match error {
        StoreError::Closed => ApiError::unavailable("shutting_down", "the server is stopping"),
        StoreError::InvalidRequest(detail) => ApiError::invalid("invalid_request", detail),
        other => ApiError::internal(format!("event store: {other}")),
    }
}

/// Read-model failures: a bad cursor or query is the client's, the rest ours.
fn projection_error(error: docket_projections::ProjectionError) -> ApiError {
    use docket_projections::ProjectionError;
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

impl From<docket_domain::error::DomainError> for ApiError {
    fn from(error: docket_domain::error::DomainError) -> ApiError {
        use docket_domain::error::DomainError as E;
        let status = match &error {
            E::UnsupportedAttachmentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            E::Forbidden { .. }
            | E::ForbiddenOrg { .. }
            | E::ReadForbidden { .. }
            | E::ForbiddenOrgRead { .. } => StatusCode::FORBIDDEN,
            E::NotFound => StatusCode::NOT_FOUND,
            E::TicketClosed | E::AlreadyEscalated | E::ParentNotClosed | E::TicketExists { .. } => {
                StatusCode::CONFLICT
            }
            // The log holds bytes this build cannot read: not the client's doing.
            E::Undecodable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let detail = match &error {
            E::NotFound => "no such resource".to_owned(),
            other => other.to_string(),
        };
        ApiError::new(status, error.code(), detail)
    }
}
