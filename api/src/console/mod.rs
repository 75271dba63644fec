//! The console (contract v1.2, "Console"): the seeds' portals as HTML pages
//! served by docketd under `/console/`, a second edge beside the JSON API.
//!
//! It calls the application layer exactly as the JSON routes do, never the
//! API over HTTP: a form is turned into the JSON body the API would get and
//! goes through the same `dto` and `parse` functions, the same
//! `Action::permit`, the same `Commands` and `Reads`, so a role sees and does
//! in the console exactly what the API lets it. Only the rendering of
//! answers differs: pages, redirects, and errors as sentences next to the
//! form that caused them.
//!
//! Sessions: the cookie holds the signed token itself (verified on every
//! request, expiring with it), so docketd keeps no session state; the CSRF
//! value is a keyed hash of that token, so it needs no state either.

mod actions;
mod assets;
mod kpis;
mod live;
mod modules;
mod pages;
mod session;
mod view;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub use session::Settings;

/// The console's routes, with its own headers; the JSON API's problem+json
/// layer does not wrap them (a console error is a page).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/inbox/{status}", get(pages::inbox))
        .route("/console/tickets/new", get(pages::new_ticket))
        .route("/console/tickets", post(actions::open_ticket))
        .route("/console/tickets/{id}", get(pages::ticket))
        .route("/console/tickets/{id}/history", get(pages::history))
        .route("/console/tickets/{id}/comments", post(actions::comment))
        .route("/console/tickets/{id}/escalations", post(actions::escalate))
        .route("/console/tickets/{id}/refunds", post(actions::refund))
        .route("/console/tickets/{id}/close", post(actions::close))
        .route("/console/tickets/{id}/follow-ups", post(actions::follow_up))
        // An upload is bounded by `--attachment-max-bytes` as it streams.
        .route(
            "/console/tickets/{id}/attachments",
            post(actions::attach).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/console/tickets/{id}/attachments/{attachment_id}",
            get(actions::download),
        )
        .route("/console/events", get(live::events))
        .route("/console/kpis", get(kpis::page))
        .route(
            "/console/text-modules",
            get(modules::page).post(modules::save),
        )
        .route("/console/text-modules/{name}/remove", post(modules::remove))
        .route("/console/kpis.csv", get(kpis::csv))
        .route("/console/kpis/charts/{file}", get(kpis::chart_svg))
        .route("/console/assets/{file}", get(assets::serve))
        .route("/console/{*rest}", get(pages::unknown).post(pages::unknown))
        .layer(axum::middleware::from_fn(security_headers))
}

/// The console's answer to every page: no framing, no inline script, no
/// referrer leaking ticket ids to other sites, no sniffing.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
    }
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages carry one person's tickets: never in a shared cache.
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// A rendered page with its status.
fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
}

/// 303 See Other to `path` (after a form: the browser GETs it).
fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}
