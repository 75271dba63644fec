//! Signing in and out, the session cookie and the CSRF check.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use cookie::{Cookie, SameSite};
use docket_domain::types::{Actor, Role};
use serde::Deserialize;

use super::view::{Chrome, Page};
use super::{html, see_other};
use crate::AppState;

/// The session cookie's name (contract).
pub const SESSION_COOKIE: &str = "docket_session";

/// What the console needs besides the application layer.
#[derive(Clone)]
pub struct Settings {
    /// Keys the CSRF value of a session; derived from the token secret.
    csrf_key: [u8; 32],
    /// `Secure` on the cookie: `--public-url` is https.
    secure_cookie: bool,
}

impl Settings {
    /// Settings for a server with `secret` reached at `public_url`.
    pub fn new(secret: &[u8], public_url: &str) -> Settings {
        Settings {
            csrf_key: blake3::derive_key("docket console csrf v1", secret),
            secure_cookie: public_url.starts_with("https://"),
        }
    }
}

/// A signed-in person: the actor their token names, and the page chrome.
pub struct Session {
    /// Who is signed in.
    pub actor: Actor,
    /// The CSRF value every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// The navigation and sign-out form every signed-in page has.
    pub fn chrome(&self) -> Chrome {
        Chrome {
            signed_in: true,
            role: self.actor.role.as_str().to_owned(),
            sub: self.actor.sub.clone(),
            org: self.actor.org.to_string(),
            csrf: self.csrf.clone(),
            may_open: docket_domain::access::Action::OpenTicket.is_permitted_for(self.actor.role)
                && self.actor.role == Role::Customer,
            inboxes: docket_domain::access::Read::Inboxes.is_permitted_for(&self.actor),
            tickets: docket_domain::access::Read::Tickets.is_permitted_for(&self.actor),
            kpis: docket_domain::access::Read::Kpis.is_permitted_for(&self.actor),
            modules: docket_domain::access::Read::TextModules.is_permitted_for(&self.actor),
        }
    }

    /// Refuses with 403 unless `sent` is this session's CSRF value.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), CsrfRefused> {
        let expected = blake3::Hash::from_hex(&self.csrf).ok();
        let given = sent.and_then(|value| blake3::Hash::from_hex(value).ok());
        match (expected, given) {
            // blake3's Hash compares in constant time.
            (Some(expected), Some(given)) if expected == given => Ok(()),
            _ => Err(CsrfRefused),
        }
    }
}

/// A form without this session's CSRF value: answered with a 403 page.
#[derive(Debug)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        forbidden_page()
    }
}

fn csrf_of(settings: &Settings, token: &str) -> String {
    blake3::keyed_hash(&settings.csrf_key, token.as_bytes())
        .to_hex()
        .to_string()
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

impl FromRequestParts<AppState> for Session {
    /// 303 to the sign-in page.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Session, Response> {
        let token = session_token(&parts.headers).ok_or_else(|| see_other("/console/sign-in"))?;
        let actor = state
            .keys
            .verify(&token)
            .map_err(|_| see_other("/console/sign-in"))?;
        Ok(Session {
            actor,
            csrf: csrf_of(&state.console, &token),
        })
    }
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    token: Option<String>,
}

/// `GET /console/sign-in[?token=T]`: the form, or signing in with a link's
/// token (the server logs paths without their query).
pub async fn sign_in_page(
    State(state): State<AppState>,
    query: Result<Query<SignInForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match query
        .ok()
        .and_then(|Query(query)| query.token)
        .filter(|token| !token.is_empty())
    {
        Some(token) => sign_in_with(&state, &token),
        None => sign_in_form(StatusCode::OK, None),
    }
}

/// `POST /console/sign-in`: a valid token signs in (303 with the cookie);
/// anything else shows the form again with the reason (401).
pub async fn sign_in(
    State(state): State<AppState>,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form
        .ok()
        .and_then(|Form(form)| form.token)
        .unwrap_or_default();
    sign_in_with(&state, token.trim())
}

fn sign_in_with(state: &AppState, token: &str) -> Response {
    let (actor, expires) = match state.keys.verify_with_expiry(token) {
        Ok(verified) => verified,
        Err(error) => {
            tracing::info!(detail = %error.detail, "console sign-in refused");
            return sign_in_form(
                StatusCode::UNAUTHORIZED,
                Some("This sign-in token is not valid: it may have expired, or been copied incompletely. Ask for a new link."),
            );
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let max_age = time::Duration::seconds(expires.saturating_sub(now).min(i64::MAX as u64) as i64);
    let cookie = Cookie::build((SESSION_COOKIE, token.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/console")
        .secure(state.console.secure_cookie)
        .max_age(max_age)
        .build();
    tracing::info!(sub = %actor.sub, role = actor.role.as_str(), "signed in to the console");
    let home = Session {
        actor,
        csrf: String::new(),
    }
    .chrome()
    .home();
    with_cookie(see_other(home), &cookie)
}

/// `POST /console/sign-out`: clears the cookie (CSRF-checked like every
/// other form, so another site cannot sign a person out).
pub async fn sign_out(
    session: Session,
    form: Result<Form<CsrfOnly>, axum::extract::rejection::FormRejection>,
) -> Response {
    let csrf = form.ok().and_then(|Form(form)| form.csrf);
    if let Err(refused) = session.check_csrf(csrf.as_deref()) {
        return refused.into_response();
    }
    let cookie = Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/console")
        .max_age(time::Duration::ZERO)
        .build();
    with_cookie(see_other("/console/sign-in"), &cookie)
}

/// A form with nothing but its CSRF value.
#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

fn with_cookie(mut response: Response, cookie: &Cookie<'_>) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn sign_in_form(status: StatusCode, error: Option<&str>) -> Response {
    html(
        status,
        Page::SignIn {
            error: error.map(str::to_owned),
        }
        .render(&Chrome::signed_out()),
    )
}

/// 403: a form without this session's CSRF value.
pub fn forbidden_page() -> Response {
    let mut response = html(
        StatusCode::FORBIDDEN,
        Page::Message {
            title: "Refused".to_owned(),
            text: "This form was not sent from a page of this console session (its security value is missing or wrong). Go back, reload the page and try again.".to_owned(),
        }
        .render(&Chrome::signed_out()),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.into_response()
}
