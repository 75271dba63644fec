//! The forms people send. Each is CSRF-checked first, then turned into the
//! JSON body the API would receive and run through the API's own path:
//! the same `Action::permit`, `dto` type, `parse` function and command
//! service call. The answer is a 303 to the page that shows the change
//! (after the read models have it), or the form again with the refusal in
//! words and what was typed.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use docket_app::commands::{Answer, AnswerBody, CommandMeta};
use docket_app::idempotency::{self, ScopedKey};
use docket_domain::access::Action;
use docket_domain::types::Currency;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::pages::{new_ticket_form, ticket_page};
use super::see_other;
use super::session::Session;
use super::view::Forms;
use crate::problem::{edge, ApiError};
use crate::{dto, parse, AppState};

/// How long a redirect waits for the read models to show the change.
const SHOW_WAIT: Duration = Duration::from_secs(5);

/// A form's fields as sent.
pub(super) type Fields = HashMap<String, String>;

pub(super) fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map(String::as_str).unwrap_or("")
}

/// `Some(text)` for a field with something in it.
fn optional(fields: &Fields, name: &str) -> Option<String> {
    let text = field(fields, name).trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A form's fields, once its CSRF value is this session's (else the 403
/// page).
pub(super) fn checked_fields(
    session: &Session,
    form: Result<Form<Fields>, FormRejection>,
) -> Result<Fields, super::session::CsrfRefused> {
    let fields = form.map(|Form(fields)| fields).unwrap_or_default();
    session.check_csrf(fields.get("csrf").map(String::as_str))?;
    Ok(fields)
}

/// The body as the API's `dto` type, with the API's shape errors.
pub(super) fn body_of<T: DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|error| edge::wrong_shape(error.to_string()))
}

/// The command's metadata as the API would make it for `path` and `body`;
/// the form's one-time key makes a double submission act once.
pub(super) fn meta(
    session: &Session,
    fields: &Fields,
    path: &str,
    body: &Value,
) -> Result<CommandMeta, ApiError> {
    meta_of_bytes(
        session,
        fields,
        path,
        &serde_json::to_vec(body).unwrap_or_default(),
    )
}

/// [`meta`] for a request whose "same request" is `raw` (an upload's).
fn meta_of_bytes(
    session: &Session,
    fields: &Fields,
    path: &str,
    raw: &[u8],
) -> Result<CommandMeta, ApiError> {
    let idempotency = optional(fields, "idempotency_key")
        .map(|key| ScopedKey::parse(key.as_bytes(), &session.actor.sub))
        .transpose()?;
    Ok(CommandMeta {
        actor: session.actor.clone(),
        idempotency,
        if_match: None,
        fingerprint: idempotency::fingerprint("POST", path, None, raw),
        correlation_id: Uuid::now_v7(),
    })
}

/// A refusal as a sentence for people: the API's rule in words, by code.
pub fn sentence(error: &ApiError) -> String {
    let text = match error.code {
        "forbidden" => "Your role may not do this.",
        "forbidden_org" => "This belongs to another organisation.",
        "not_found" => "There is no such ticket, or you may not see it.",
        "ticket_closed" => "The ticket is closed: nothing more can be added to it. Open a follow-up instead.",
        "already_escalated" => "The ticket has already been escalated.",
        "refund_exceeds_order" => "The refund is more than what remains of the order's amount.",
        "no_order" => "The ticket concerns no order, so nothing can be refunded.",
        "currency_mismatch" => "The refund must be in the order's currency.",
        "intake_window_expired" => "Reports are accepted only within the organisation's intake window after the incident (14 days unless it says otherwise).",
        "incident_date_in_future" => "The date of the incident cannot be in the future.",
        "parent_not_closed" => "Only a closed ticket can be followed up.",
        "version_mismatch" => "The ticket changed while you were writing; reload it and try again.",
        "idempotency_key_reused" => "This form was already sent with other values; reload the page and send it again.",
        "unknown_text_module" => "There is no such text module.",
        "timeout" => "The server took too long to answer; try again.",
        _ => "",
    };
    if text.is_empty() {
        // The API's own detail already names the field and its rule
        // (`subject must be 1-200 characters`).
        capitalised(&error.detail)
    } else {
        text.to_owned()
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => "The request was refused.".to_owned(),
    }
}

/// Waits until the read models show `answer`, then sends the browser to `path`.
pub(super) async fn shown_then(state: &AppState, answer: &Answer, path: &str) -> Response {
    if let Err(error) = state
        .reads
        .views()
        .wait_for(answer.body.position(), SHOW_WAIT)
        .await
    {
        // The change is durable; the page may show it a moment later.
        tracing::warn!(%error, "the read models did not show a console change in time");
    }
    see_other(path)
}

fn ticket_path(answer: &Answer) -> Option<String> {
    match &answer.body {
        AnswerBody::Ticket(ticket) => Some(format!("/console/tickets/{}", ticket.ticket_id.0)),
        AnswerBody::TextModule(_) => None,
    }
}

/// `POST /console/tickets`: the customer's open-ticket form.
pub async fn open_ticket(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = match checked_fields(&session, form) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let outcome = async {
        Action::OpenTicket.permit(session.actor.role)?;
        let body = open_body(&fields)?;
        let meta = meta(&session, &fields, "/v1/tickets", &body)?;
        let request = parse::OpenRequest::parse(body_of::<dto::OpenTicketBody>(&body)?)?;
        let org = request.org.clone();
        let answer = state
            .commands
            .open(meta, org, |id, number| request.command(id, number))
            .await?;
        Ok::<Answer, ApiError>(answer)
    }
    .await;
    match outcome {
        Ok(answer) => {
            let path = ticket_path(&answer).unwrap_or_else(|| "/console/".to_owned());
            shown_then(&state, &answer, &path).await
        }
        Err(error) => {
            let typed = [
                "reason",
                "subject",
                "description",
                "order_number",
                "order_amount",
                "currency",
                "incident_date",
                "impact",
            ]
            .into_iter()
            .map(|name| (name, field(&fields, name).to_owned()))
            .collect();
            new_ticket_form(
                &session.chrome(),
                error.status,
                Some(sentence(&error)),
                typed,
            )
        }
    }
}

/// The open form as the API's `POST /v1/tickets` body.
fn open_body(fields: &Fields) -> Result<Value, ApiError> {
    let mut body = Map::new();
    body.insert("subject".into(), json!(field(fields, "subject").trim()));
    body.insert(
        "description".into(),
        json!(field(fields, "description").trim()),
    );
    body.insert(
        "reason".into(),
        json!({ "category": field(fields, "reason") }),
    );
    if let Some(impact) = optional(fields, "impact") {
        body.insert("impact".into(), json!(impact));
    }
    if let Some(date) = optional(fields, "incident_date") {
        body.insert("incident_date".into(), json!(date));
    }
    if let Some(number) = optional(fields, "order_number") {
        let currency_text = optional(fields, "currency").unwrap_or_else(|| "EUR".to_owned());
        let currency =
            Currency::parse_iso_4217(&currency_text.to_uppercase()).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_field",
                    "currency must be an ISO 4217 code such as EUR",
                )
            })?;
        let amount =
            optional(fields, "order_amount")
                .and_then(|amount| currency.parse_major(&amount))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalid_field",
                        format!(
                        "the order amount must be a number with at most {} decimals, such as {}",
                        currency.minor_digits(),
                        currency.format(4990).trim_end_matches(currency.as_str()).trim()
                    ),
                    )
                })?;
        body.insert(
            "order".into(),
            json!({ "number": number, "amount_minor": amount, "currency": currency.as_str() }),
        );
    }
    Ok(Value::Object(body))
}

/// Which ticket form a refusal belongs to, and the fields it keeps.
struct FormName {
    name: &'static str,
    kept: &'static [&'static str],
}

async fn on_ticket(
    state: AppState,
    session: Session,
    id: String,
    sent: Result<Form<Fields>, FormRejection>,
    form: FormName,
    run: impl AsyncFnOnce(&AppState, &Session, &Fields, &str) -> Result<Answer, ApiError>,
) -> Response {
    let fields = sent.map(|Form(fields)| fields).unwrap_or_default();
    if let Err(refused) = session.check_csrf(fields.get("csrf").map(String::as_str)) {
        return refused.into_response();
    }
    match run(&state, &session, &fields, &id).await {
        Ok(answer) => {
            let path = match form.name {
                "follow-up" => ticket_path(&answer),
                _ => None,
            }
            .unwrap_or_else(|| format!("/console/tickets/{id}"));
            shown_then(&state, &answer, &path).await
        }
        Err(error) => refusal(&state, &session, &id, &form, &fields, error).await,
    }
}

/// A refused form on ticket `id`: the ticket page again with the refusal
/// next to the form and what was typed; a 404 or a refusal on a ticket
/// the reader cannot see, as a page of its own.
async fn refusal(
    state: &AppState,
    session: &Session,
    id: &str,
    form: &FormName,
    fields: &Fields,
    error: ApiError,
) -> Response {
    if error.status == StatusCode::NOT_FOUND {
        return super::pages::not_found(&session.chrome());
    }
    // A refusal on a ticket the reader cannot see (support before
    // an escalation) is the API's refusal as a page, not a 404.
    let visible = match parse::path_ticket(id) {
        Ok(ticket_id) => state
            .reads
            .ticket(&session.actor, ticket_id, None)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if !visible {
        return super::pages::failure(&session.chrome(), error);
    }
    let forms = Forms {
        error: Some((form.name, sentence(&error))),
        typed: form
            .kept
            .iter()
            .filter_map(|name| {
                let key: &'static str = match (form.name, *name) {
                    ("reply", "body") => "reply.body",
                    ("note", "body") => "note.body",
                    ("escalate", "note") => "escalate.note",
                    ("refund", "amount") => "refund.amount",
                    ("refund", "reason") => "refund.reason",
                    ("close", "note") => "close.note",
                    ("follow-up", "subject") => "follow-up.subject",
                    ("follow-up", "description") => "follow-up.description",
                    _ => return None,
                };
                Some((key, field(fields, name).to_owned()))
            })
            .collect(),
        ..Forms::default()
    };
    ticket_page(state, session, id, error.status, forms).await
}

/// Runs one command on ticket `id` as the API's route for `suffix` would.
async fn command_on(
    state: &AppState,
    session: &Session,
    fields: &Fields,
    id: &str,
    suffix: &str,
    body: Value,
    command: impl FnOnce(&Value) -> Result<docket_domain::ticket::Command, ApiError>,
) -> Result<Answer, ApiError> {
    let ticket_id = parse::path_ticket(id)?;
    let path = format!("/v1/tickets/{ticket_id}/{suffix}");
    let meta = meta(session, fields, &path, &body)?;
    let command = command(&body)?;
    Ok(state.commands.on_ticket(meta, ticket_id, command).await?)
}

/// `POST /console/tickets/{id}/comments`: a reply, or an internal note.
pub async fn comment(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = form.map(|Form(fields)| fields).unwrap_or_default();
    let internal = field(&fields, "visibility") == "internal";
    let module = optional(&fields, "text_module");
    let form = FormName {
        name: match (internal, &module) {
            (true, _) => "note",
            (false, Some(_)) => "reply-module",
            (false, None) => "reply",
        },
        kept: &["body"],
    };
    on_ticket(
        state,
        session,
        id,
        Ok(Form(fields)),
        form,
        async move |state, session, fields, ticket| {
            let action = match (internal, &module) {
                (true, _) => Action::CommentInternally,
                (false, Some(_)) => Action::UseTextModule,
                (false, None) => Action::Comment,
            };
            action.permit(session.actor.role)?;
            let visibility = if internal { "internal" } else { "public" };
            let body = match &module {
                Some(name) => json!({ "text_module": name, "visibility": visibility }),
                None => json!({ "body": field(fields, "body").trim(), "visibility": visibility }),
            };
            command_on(state, session, fields, ticket, "comments", body, |body| {
                parse::comment(body_of(body)?)
            })
            .await
        },
    )
    .await
}

/// `POST /console/tickets/{id}/escalations`.
pub async fn escalate(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let choice = Choice {
        form: "escalate",
        action: Action::Escalate,
        field: "reason",
        suffix: "escalations",
        parse: parse::escalate,
    };
    choice_and_note(state, session, id, form, choice).await
}

/// `POST /console/tickets/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let choice = Choice {
        form: "close",
        action: Action::Close,
        field: "resolution",
        suffix: "close",
        parse: parse::close,
    };
    choice_and_note(state, session, id, form, choice).await
}

/// A form of one choice (a reason, a resolution) and an optional note.
struct Choice<B> {
    form: &'static str,
    action: Action,
    field: &'static str,
    suffix: &'static str,
    parse: fn(B) -> Result<docket_domain::ticket::Command, ApiError>,
}

async fn choice_and_note<B: DeserializeOwned>(
    state: AppState,
    session: Session,
    id: String,
    form: Result<Form<Fields>, FormRejection>,
    choice: Choice<B>,
) -> Response {
    let name = FormName {
        name: choice.form,
        kept: &["note"],
    };
    on_ticket(
        state,
        session,
        id,
        form,
        name,
        async move |state, session, fields, ticket| {
            choice.action.permit(session.actor.role)?;
            let mut body = json!({ choice.field: field(fields, choice.field) });
            if let Some(note) = optional(fields, "note") {
                body["note"] = json!(note);
            }
            command_on(
                state,
                session,
                fields,
                ticket,
                choice.suffix,
                body,
                |body| (choice.parse)(body_of(body)?),
            )
            .await
        },
    )
    .await
}

/// `POST /console/tickets/{id}/refunds`: the amount in major units.
pub async fn refund(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let name = FormName {
        name: "refund",
        kept: &["amount", "reason"],
    };
    on_ticket(
        state,
        session,
        id,
        form,
        name,
        async move |state, session, fields, ticket| {
            Action::Refund.permit(session.actor.role)?;
            let currency = Currency::parse(field(fields, "currency"))
                .ok_or_else(|| ApiError::invalid("no_order", "the ticket concerns no order"))?;
            let amount = currency
                .parse_major(field(fields, "amount"))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalid_field",
                        format!(
                            "the amount must be a number with at most {} decimals",
                            currency.minor_digits()
                        ),
                    )
                })?;
            let body = json!({
                "amount_minor": amount,
                "currency": currency.as_str(),
                "reason": field(fields, "reason").trim(),
            });
            command_on(state, session, fields, ticket, "refunds", body, |body| {
                parse::refund(body_of(body)?)
            })
            .await
        },
    )
    .await
}

/// `POST /console/tickets/{id}/follow-ups`: a new ticket linked to a
/// closed one; the browser goes to the new ticket.
pub async fn follow_up(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let name = FormName {
        name: "follow-up",
        kept: &["subject", "description"],
    };
    on_ticket(
        state,
        session,
        id,
        form,
        name,
        async move |state, session, fields, ticket| {
            Action::OpenFollowUp.permit(session.actor.role)?;
            let parent = parse::path_ticket(ticket)?;
            let mut body = Map::new();
            if let Some(subject) = optional(fields, "subject") {
                body.insert("subject".into(), json!(subject));
            }
            if let Some(description) = optional(fields, "description") {
                body.insert("description".into(), json!(description));
            }
            let body = Value::Object(body);
            let path = format!("/v1/tickets/{parent}/follow-ups");
            let meta = meta(session, fields, &path, &body)?;
            let request = parse::FollowUpRequest::parse(body_of(&body)?)?;
            Ok(state
                .commands
                .follow_up(meta, parent, |id, number| request.command(id, number))
                .await?)
        },
    )
    .await
}

/// The code of a refusal for a missing or wrong CSRF value inside an
/// upload (answered with the 403 page, never shown next to the form).
const CSRF_REFUSED: &str = "csrf_refused";

fn csrf_refusal() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        CSRF_REFUSED,
        "the form's CSRF value is missing or wrong",
    )
}

/// `POST /console/tickets/{id}/attachments`: a file from the attach form
/// (`multipart/form-data`, its `csrf` part first). The CSRF value is
/// checked when the file part begins, before a byte of it is stored; the
/// parts are read by the API's own upload reader and the command is the
/// API's `attach`.
pub async fn attach(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let form = FormName {
        name: "attach",
        kept: &[],
    };
    let outcome = async {
        Action::Comment.permit(session.actor.role)?;
        let ticket_id = parse::path_ticket(&id)?;
        state.commands.check_upload(&session.actor, ticket_id)?;
        let check = |texts: &Fields| {
            session
                .check_csrf(texts.get("csrf").map(String::as_str))
                .map_err(|_| csrf_refusal())
        };
        let received =
            crate::attachments::receive(&state, request, &["csrf", "idempotency_key"], check)
                .await?;
        check(&received.texts)?;
        let path = format!("/v1/tickets/{ticket_id}/attachments");
        let meta = meta_of_bytes(&session, &received.texts, &path, &received.same_request())?;
        received.record(&state, meta, ticket_id).await
    }
    .await;
    match outcome {
        Ok(answer) => shown_then(&state, &answer, &format!("/console/tickets/{id}")).await,
        Err(error) if error.code == CSRF_REFUSED => super::session::forbidden_page(),
        Err(error) => refusal(&state, &session, &id, &form, &Fields::new(), error).await,
    }
}

/// `GET /console/tickets/{id}/attachments/{attachment_id}`: the bytes, as
/// the API serves them to the signed-in reader (its rules, its headers).
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path((id, attachment)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    match crate::attachments::serve(&state, &session.actor, &id, &attachment, &headers, None).await
    {
        Ok(response) => response,
        Err(error) => super::pages::failure(&session.chrome(), error),
    }
}
