//! The pages people read: inboxes, a ticket, the open-ticket form.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use docket_app::reads::SearchBy;
use docket_domain::access::{Action, CommentsShown, Read};
use docket_domain::types::{Actor, Role, Status, TicketNumber, Visibility};
use docket_projections::{InboxQuery, InboxSort, Scope, TicketSummary, TicketView};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::session::Session;
use super::view::{
    Attached, Badge, Chrome, Forms, InboxTemplate, Message, NewTicketTemplate, Page, Row, Tab,
    TicketTemplate, REASONS,
};
use super::{html, see_other};
use crate::problem::ApiError;
use crate::{parse, queries, AppState};

/// How long a page waits for the read models to reach the log's head.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits (briefly) until the read models hold everything the log held
/// when the request came: a person who just opened a ticket elsewhere, or
/// had it opened for them, finds it. Past the wait the page shows what
/// the read models have.
pub async fn catch_up(state: &AppState) {
    let head = state.store().head().position;
    if let Err(error) = state.reads.views().wait_for(head, CATCH_UP_WAIT).await {
        tracing::debug!(%error, head, "a console page is shown before the read models caught up");
    }
}

/// Tickets listed per inbox page.
const PAGE_SIZE: usize = 50;
/// Tickets a tab counts before it shows `N+`.
const COUNT_CAP: usize = 100;

/// `GET /console/`: the open inbox.
pub async fn home(session: Session) -> Response {
    see_other(session.chrome().home())
}

/// Any other path under `/console/`: 404 with a session (without one the
/// extractor answers 303 to the sign-in page first).
pub async fn unknown(session: Session) -> Response {
    not_found(&session.chrome())
}

/// A 404 page (also a ticket the reader may not see: no existence leak).
pub fn not_found(chrome: &Chrome) -> Response {
    html(
        StatusCode::NOT_FOUND,
        Page::Message {
            title: "Not found".to_owned(),
            text: "There is no such page, or no ticket you may see under this address.".to_owned(),
        }
        .render(chrome),
    )
}

/// A refusal or failure from the application layer, as a page.
pub fn failure(chrome: &Chrome, error: ApiError) -> Response {
    if error.status == StatusCode::NOT_FOUND {
        return not_found(chrome);
    }
    let title = if error.status == StatusCode::FORBIDDEN {
        "Not allowed"
    } else {
        "Something went wrong"
    };
    html(
        error.status,
        Page::Message {
            title: title.to_owned(),
            text: super::actions::sentence(&error),
        }
        .render(chrome),
    )
}

/// The inbox page's query: search, filters, sort and page.
#[derive(Debug, Default, Deserialize)]
pub struct InboxParams {
    q: Option<String>,
    reason: Option<String>,
    sales_channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

fn status_of(text: &str) -> Option<Status> {
    match text {
        "open" => Some(Status::Open),
        "waiting" => Some(Status::Waiting),
        "closed" => Some(Status::Closed),
        _ => None,
    }
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// `GET /console/inbox/{open|waiting|closed}`.
pub async fn inbox(
    State(state): State<AppState>,
    session: Session,
    Path(status): Path<String>,
    params: Result<Query<InboxParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let chrome = session.chrome();
    let Some(status) = status_of(&status) else {
        return not_found(&chrome);
    };
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let actor = &session.actor;
    catch_up(&state).await;
    let sort = match params.sort.as_deref() {
        Some("due") => InboxSort::Due,
        _ => InboxSort::Updated,
    };
    let listing = Read::Inboxes.is_permitted_for(actor);
    if let Err(refused) = Read::Tickets.permit(actor) {
        return failure(&chrome, refused.into());
    }
    let mut notice = (!listing).then(|| {
        "Find your organisation's tickets by their ticket number or order number.".to_owned()
    });
    let filters = (|| -> Result<InboxQuery, ApiError> {
        Ok(InboxQuery {
            inbox: status,
            scope: Scope::of(actor),
            org: None,
            reason: non_empty(&params.reason).map(str::to_owned),
            sales_channel: parse::optional_sales_channel(non_empty(&params.sales_channel))?,
            from: queries::query_date("from", non_empty(&params.from))?,
            to: queries::query_date("to", non_empty(&params.to))?,
            sort,
            limit: PAGE_SIZE,
            cursor: non_empty(&params.cursor).map(str::to_owned),
        })
    })();
    let query = match filters {
        Ok(query) => query,
        Err(error) => {
            notice = Some(super::actions::sentence(&error));
            unfiltered(status, actor, sort, PAGE_SIZE, None)
        }
    };
    let (items, next) = match non_empty(&params.q) {
        Some(q) => {
            let by = match TicketNumber::parse(q) {
                Some(number) => SearchBy::Number(number),
                None => SearchBy::OrderNumber(q.to_owned()),
            };
            match state.reads.search(actor, &by, None).await {
                Ok(items) => {
                    notice = Some(format!(
                        "{} ticket(s) with the ticket or order number “{q}”, in every status.",
                        items.len()
                    ));
                    (items, None)
                }
                Err(error) => return failure(&chrome, error.into()),
            }
        }
        None if !listing => (Vec::new(), None),
        None => match fill_page(&state, actor, query).await {
            Ok((items, cursor)) => {
                let next = cursor.map(|cursor| next_query(&params, &cursor));
                (items, next)
            }
            Err(error) => return failure(&chrome, error),
        },
    };
    let mut tabs = Vec::new();
    let tab_statuses: &[(Status, &'static str)] = if listing {
        &[
            (Status::Open, "Open"),
            (Status::Waiting, "Waiting"),
            (Status::Closed, "Closed"),
        ]
    } else {
        &[]
    };
    for &(tab_status, label) in tab_statuses {
        let count = count(&state, actor, tab_status).await;
        tabs.push(Tab {
            status: tab_status.as_str(),
            label,
            count,
            current: tab_status == status,
        });
    }
    let now = state.commands.clock().now();
    let mut rows = Vec::with_capacity(items.len());
    for item in &items {
        rows.push(row(&state, actor, item, now).await);
    }
    let page = InboxTemplate {
        chrome: &chrome,
        tabs,
        listing,
        status: status.as_str(),
        rows,
        q: params.q.clone().unwrap_or_default(),
        reason: params.reason.clone().unwrap_or_default(),
        sales_channel: params.sales_channel.clone().unwrap_or_default(),
        from: params.from.clone().unwrap_or_default(),
        to: params.to.clone().unwrap_or_default(),
        sort: match sort {
            InboxSort::Due => "due",
            InboxSort::Updated => "updated",
        },
        notice,
        next,
    };
    html(StatusCode::OK, askama::Template::render(&page))
}

fn next_query(params: &InboxParams, cursor: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (name, value) in [
        ("reason", &params.reason),
        ("sales_channel", &params.sales_channel),
        ("from", &params.from),
        ("to", &params.to),
        ("sort", &params.sort),
    ] {
        if let Some(value) = non_empty(value) {
            pairs.push((name, value));
        }
    }
    pairs.push(("cursor", cursor));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Pages of an inbox the read models cut short (each reads at most
/// `INBOX_SCAN_MAX` index entries, superseded ones included) followed
/// before a person is shown an empty page.
const PAGE_HOPS_MAX: usize = 3;

/// One page for a person: the read models' pages followed (up to
/// [`PAGE_HOPS_MAX`]) until it holds a page's worth of tickets or the
/// inbox ends; the cursor to go on from, if it does not.
async fn fill_page(
    state: &AppState,
    actor: &Actor,
    mut query: InboxQuery,
) -> Result<(Vec<TicketSummary>, Option<String>), ApiError> {
    let mut items = Vec::new();
    for _ in 0..PAGE_HOPS_MAX {
        query.limit = PAGE_SIZE - items.len();
        let page = state.reads.inbox(actor, query.clone(), None).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(cursor) if items.len() < PAGE_SIZE => query.cursor = Some(cursor),
            cursor => return Ok((items, cursor)),
        }
    }
    Ok((items, query.cursor))
}

/// An inbox's page without filters.
fn unfiltered(
    status: Status,
    actor: &Actor,
    sort: InboxSort,
    limit: usize,
    cursor: Option<String>,
) -> InboxQuery {
    InboxQuery {
        inbox: status,
        scope: Scope::of(actor),
        org: None,
        reason: None,
        sales_channel: None,
        from: None,
        to: None,
        sort,
        limit,
        cursor,
    }
}

/// How many tickets an inbox holds for this reader, shown up to
/// [`COUNT_CAP`] (`100+` beyond): one page of the inbox, since the read
/// models keep no count per inbox.
async fn count(state: &AppState, actor: &Actor, status: Status) -> String {
    let query = unfiltered(status, actor, InboxSort::Updated, COUNT_CAP + 1, None);
    match state.reads.inbox(actor, query, None).await {
        // More than a page's worth, or a page the read models cut short
        // (nothing found yet among many superseded entries: unknown).
        Ok(page) if page.next_cursor.is_some() && page.items.is_empty() => "…".to_owned(),
        Ok(page) if page.next_cursor.is_some() => {
            format!("{}+", page.items.len().min(COUNT_CAP))
        }
        Ok(page) => page.items.len().to_string(),
        Err(_) => "?".to_owned(),
    }
}

async fn row(state: &AppState, actor: &Actor, item: &TicketSummary, now: OffsetDateTime) -> Row {
    let order = match state.reads.ticket(actor, item.ticket_id, None).await {
        Ok(seen) => seen
            .view
            .head
            .order
            .map(|order| order.number)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Row {
        ticket_id: item.ticket_id.0.to_string(),
        number: item.number.to_string(),
        subject: item.subject.clone(),
        reason: item.reason.category.clone(),
        order,
        sales_channel: item
            .sales_channel
            .as_ref()
            .map(|channel| channel.as_str().to_owned())
            .unwrap_or_default(),
        impact: wire_name(&item.impact),
        due: badge(item.status, item.due_at, now),
        updated: when(item.updated_at),
    }
}

/// The SLA badge of a ticket whose earliest pending clock is due at `due_at`.
fn badge(status: Status, due_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Badge {
    match due_at {
        _ if status == Status::Closed => Badge {
            text: "closed".to_owned(),
            class: "sla-none",
        },
        None => Badge {
            text: "no clock running".to_owned(),
            class: "sla-none",
        },
        Some(due) if due <= now => Badge {
            text: format!("breached {} ago", span(now - due)),
            class: "sla-breached",
        },
        Some(due) => Badge {
            text: format!("due in {}", span(due - now)),
            class: if due - now <= time::Duration::hours(4) {
                "sla-soon"
            } else {
                "sla-ok"
            },
        },
    }
}

fn span(duration: time::Duration) -> String {
    let minutes = duration.whole_minutes().max(0);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..2880 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// A time as people read it in the console: UTC, to the minute.
pub fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// The contract's name of an enum value (`high`, `no_response`).
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// `GET /console/tickets/new`: the customer's open-ticket form.
pub async fn new_ticket(session: Session) -> Response {
    let chrome = session.chrome();
    if !chrome.may_open {
        return failure(
            &chrome,
            ApiError::forbidden("only customers open tickets in the console"),
        );
    }
    new_ticket_form(&chrome, StatusCode::OK, None, HashMap::new())
}

/// The open-ticket form, fresh or with a refusal and what was typed.
pub fn new_ticket_form(
    chrome: &Chrome,
    status: StatusCode,
    error: Option<String>,
    typed: HashMap<&'static str, String>,
) -> Response {
    let page = NewTicketTemplate {
        chrome,
        error,
        typed,
        reasons: REASONS,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
    };
    html(status, askama::Template::render(&page))
}

/// `GET /console/tickets/{id}`.
pub async fn ticket(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    ticket_page(&state, &session, &id, StatusCode::OK, Forms::default()).await
}

/// The ticket page; `forms` carries a refused form's error and text.
pub async fn ticket_page(
    state: &AppState,
    session: &Session,
    id: &str,
    status: StatusCode,
    mut forms: Forms,
) -> Response {
    let chrome = session.chrome();
    let Ok(ticket_id) = parse::path_ticket(id) else {
        return not_found(&chrome);
    };
    catch_up(state).await;
    let seen = match state.reads.ticket(&session.actor, ticket_id, None).await {
        Ok(seen) => seen,
        Err(error) => return failure(&chrome, error.into()),
    };
    let role = session.actor.role;
    let view = &seen.view;
    let open = view.state.status != Status::Closed;
    forms.reply = open && Action::Comment.is_permitted_for(role);
    forms.note = open && Action::CommentInternally.is_permitted_for(role);
    forms.escalate = open && !view.state.escalated && Action::Escalate.is_permitted_for(role);
    forms.refund = open && view.head.order.is_some() && Action::Refund.is_permitted_for(role);
    forms.close = open && Action::Close.is_permitted_for(role);
    forms.follow_up =
        !open && role == Role::Customer && Action::OpenFollowUp.is_permitted_for(role);
    forms.attach = open && Action::Comment.is_permitted_for(role);
    let modules = if forms.reply && Action::UseTextModule.is_permitted_for(role) {
        state
            .reads
            .text_modules(
                &session.actor,
                &view.head.org,
                view.head.sales_channel.as_ref(),
                None,
            )
            .await
            .map(|modules| {
                modules
                    .into_iter()
                    .map(|module| (module.name, module.title))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut page = ticket_template(&chrome, view, seen.shown, forms);
    page.modules = modules;
    html(status, askama::Template::render(&page))
}

fn side(role: Role) -> &'static str {
    if role == Role::Customer {
        "customer"
    } else {
        "team"
    }
}

fn ticket_template<'a>(
    chrome: &'a Chrome,
    view: &TicketView,
    shown: CommentsShown,
    forms: Forms,
) -> TicketTemplate<'a> {
    let head = &view.head;
    let state = &view.state;
    let currency = head.order.as_ref().map(|order| order.amount.currency);
    TicketTemplate {
        chrome,
        ticket_id: head.ticket_id.0.to_string(),
        number: head.number.to_string(),
        subject: head.subject.clone(),
        status: state.status.as_str(),
        reason: match &head.reason.detail {
            Some(detail) => format!("{}: {detail}", head.reason.category),
            None => head.reason.category.clone(),
        },
        impact: wire_name(&head.impact),
        org: head.org.to_string(),
        opened: when(head.opened_at),
        incident_date: head.incident_date.map(|date| date.to_string()),
        order_number: head.order.as_ref().map(|order| order.number.clone()),
        order_amount: head
            .order
            .as_ref()
            .map(|order| order.amount.currency.format(order.amount.amount_minor)),
        refunded: currency.map(|currency| currency.format(state.refunded_minor)),
        currency: currency.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        contact: head.contact.as_ref().map(|contact| match &contact.name {
            Some(name) => format!("{} <{}>", name.as_str(), contact.email.as_str()),
            None => contact.email.as_str().to_owned(),
        }),
        sales_channel: head.sales_channel.as_ref().map(|c| c.as_str().to_owned()),
        escalated: state.escalated,
        resolution: state.resolution.as_ref().map(wire_name),
        follow_up_of: head.follow_up_of.map(|id| id.0.to_string()),
        follow_ups: state.follow_ups.iter().map(|id| id.0.to_string()).collect(),
        opening: opening(view),
        thread: thread(view, shown),
        attachments: state
            .attachments
            .iter()
            .filter(|attachment| shown.shows(attachment.visibility))
            .map(|attachment| Attached {
                url: format!(
                    "/console/tickets/{}/attachments/{}",
                    head.ticket_id.0, attachment.attachment_id
                ),
                filename: attachment.filename.clone(),
                media_type: attachment.media_type.as_str(),
                size: size_text(attachment.size),
                image: attachment.media_type.as_str().starts_with("image/"),
                internal: attachment.visibility == Visibility::Internal,
                author: attachment.author.clone(),
                at: when(attachment.at),
            })
            .collect(),
        forms,
        modules: Vec::new(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
    }
}

/// A size for people: `812 B`, `12.3 KB`, `4.0 MB`.
fn size_text(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// The opening description as the thread's first message.
fn opening(view: &TicketView) -> Message {
    let head = &view.head;
    Message {
        author: format!("{} ({})", head.opened_by.sub, head.opened_by.role.as_str()),
        side: side(head.opened_by.role),
        body: head.description.clone(),
        internal: false,
        at: when(head.opened_at),
        from_module: None,
    }
}

/// The comments `shown` to the reader, oldest first.
fn thread(view: &TicketView, shown: CommentsShown) -> Vec<Message> {
    view.comments
        .iter()
        .filter(|comment| shown.shows(comment.visibility))
        .map(|comment| Message {
            author: format!("{} ({})", comment.author.sub, comment.author.role.as_str()),
            side: side(comment.author.role),
            body: comment.body.clone(),
            internal: comment.visibility == Visibility::Internal,
            at: when(comment.at),
            from_module: comment
                .text_module
                .as_ref()
                .map(|used| format!("{} v{}", used.name, used.version)),
        })
        .collect()
}

/// The history page's query: the instant to see the ticket at.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryParams {
    as_of: Option<String>,
}

/// `2026-12-08T10:30` or `2026-12-08T10:30:15` (a `datetime-local`
/// field), read as UTC.
fn instant(text: &str) -> Option<OffsetDateTime> {
    let with_seconds =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(text, with_seconds)
        .or_else(|_| time::PrimitiveDateTime::parse(text, without))
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// `GET /console/tickets/{id}/history[?as_of=]`: the ticket's events as a
/// timeline, and with `as_of` the ticket as it stood then (from the log).
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let chrome = session.chrome();
    let Ok(ticket_id) = parse::path_ticket(&id) else {
        return not_found(&chrome);
    };
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let typed = non_empty(&params.as_of).map(str::to_owned);
    let as_of = typed.as_deref().and_then(instant);
    let seen = match state.reads.history(&session.actor, ticket_id, None).await {
        Ok(seen) => seen,
        Err(error) => return failure(&chrome, error.into()),
    };
    let history = &seen.history;
    let events = history
        .events(as_of, seen.shown)
        .map(|(entry, event)| timeline_entry(entry, event))
        .collect();
    // The ticket as its last event left it (whatever the server's clock).
    let current = history
        .events(None, seen.shown)
        .last()
        .and_then(|(entry, _)| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(entry.recorded_at_unix_nanos)).ok()
        })
        .and_then(|last| history.view_as_of(last));
    let at = as_of.and_then(|at| history.view_as_of(at));
    let (number, subject) = current
        .as_ref()
        .map(|view| (view.head.number.to_string(), view.head.subject.clone()))
        .unwrap_or_default();
    let page = super::view::HistoryTemplate {
        chrome: &chrome,
        ticket_id: ticket_id.0.to_string(),
        number,
        subject,
        as_of: typed.clone().unwrap_or_default(),
        as_of_refused: typed.is_some() && as_of.is_none(),
        as_of_shown: as_of.map(when),
        state: at.as_ref().map(|view| super::view::StateAt {
            status: view.state.status.as_str(),
            escalated: view.state.escalated,
            refunded: view
                .head
                .order
                .as_ref()
                .map(|order| order.amount.currency.format(view.state.refunded_minor)),
            resolution: view.state.resolution.as_ref().map(wire_name),
            opening: opening(view),
            thread: thread(view, seen.shown),
        }),
        before_open: as_of.is_some() && at.is_none(),
        events,
    };
    html(StatusCode::OK, askama::Template::render(&page))
}

fn timeline_entry(
    entry: &docket_eventstore::RecordedEvent,
    event: &docket_domain::events::Event,
) -> super::view::TimelineEntry {
    use docket_domain::events::Event;
    let detail = match event {
        Event::TicketOpened(opened) => format!("“{}”", opened.subject),
        Event::CommentAdded(comment) => {
            let mark = if comment.visibility == Visibility::Internal {
                "internal note: "
            } else {
                ""
            };
            format!("{mark}{}", comment.body)
        }
        Event::Escalated(escalated) => wire_name(&escalated.reason),
        Event::RefundIssued(refund) => format!(
            "{}: {}",
            refund.amount.currency.format(refund.amount.amount_minor),
            refund.reason
        ),
        Event::TicketClosed(closed) => wire_name(&closed.resolution),
        Event::FollowUpOpened(follow_up) => format!("follow-up {}", follow_up.follow_up_number),
        Event::AttachmentAdded(attachment) => {
            format!("{} ({} bytes)", attachment.filename, attachment.size)
        }
        _ => String::new(),
    };
    super::view::TimelineEntry {
        position: entry.position,
        at: when_precise(entry.recorded_at_unix_nanos),
        kind: entry.event_type.clone(),
        who: format!("{} ({})", entry.actor.sub, entry.actor.role),
        detail,
    }
}

/// An event's time to the second (UTC): the as-of picker's resolution.
fn when_precise(unix_nanos: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
