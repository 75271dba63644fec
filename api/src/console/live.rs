//! Live updates: `GET /console/events[?ticket=ID]`, a stream of
//! Server-Sent Events that says `changed` when what a page shows may have
//! changed: for a ticket, when its view moves; for an inbox, when the read
//! models apply anything (at most one event per [`INBOX_EVERY`]). The
//! pages' script reloads on it; without JavaScript the Reload link does.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use serde::Deserialize;

use super::session::Session;
use crate::{parse, AppState};

/// The least time between two events of an inbox's stream.
const INBOX_EVERY: Duration = Duration::from_secs(2);
/// How long one wait for the read models lasts before it looks again.
const WAIT: Duration = Duration::from_secs(15);
/// A stream's longest life: the browser reconnects by itself, and no
/// stream holds on to a session whose token has expired meanwhile.
const LIFE: Duration = Duration::from_secs(300);

/// The stream's query.
#[derive(Debug, Default, Deserialize)]
pub struct LiveParams {
    ticket: Option<String>,
}

struct Watch {
    state: AppState,
    session: Session,
    ticket: Option<docket_domain::types::TicketId>,
    /// The position of what the page shows (a ticket's view), or of the
    /// read models when the stream began (an inbox).
    seen: u64,
    until: tokio::time::Instant,
}

impl Watch {
    /// The ticket's position as this reader may see it (0: not visible).
    async fn ticket_position(&self) -> u64 {
        match self.ticket {
            Some(ticket) => self
                .state
                .reads
                .ticket(&self.session.actor, ticket, None)
                .await
                .map(|seen| seen.view.state.position)
                .unwrap_or(0),
            None => 0,
        }
    }

    /// Waits for the next change worth an event; `None` when the stream
    /// should end (its life is over, or docketd stops).
    async fn next_change(&mut self) -> Option<()> {
        let mut stopping = self.state.stopping.clone();
        loop {
            if *stopping.borrow() || tokio::time::Instant::now() >= self.until {
                return None;
            }
            let views = self.state.reads.views();
            let next = views.applied_position() + 1;
            tokio::select! {
                _ = views.wait_for(next, WAIT) => {}
                _ = stopping.changed() => return None,
                _ = tokio::time::sleep_until(self.until) => return None,
            }
            match self.ticket {
                Some(_) => {
                    let position = self.ticket_position().await;
                    if position != self.seen {
                        self.seen = position;
                        return Some(());
                    }
                }
                None => {
                    let applied = views.applied_position();
                    if applied > self.seen {
                        self.seen = applied;
                        tokio::time::sleep(INBOX_EVERY).await;
                        return Some(());
                    }
                }
            }
        }
    }
}

/// `GET /console/events[?ticket=ID]`.
pub async fn events(
    State(state): State<AppState>,
    session: Session,
    params: Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let ticket = match params.ticket.as_deref().map(parse::path_ticket) {
        Some(Ok(ticket)) => Some(ticket),
        Some(Err(_)) => return super::pages::not_found(&session.chrome()),
        None => None,
    };
    super::pages::catch_up(&state).await;
    let mut watch = Watch {
        state,
        session,
        ticket,
        seen: 0,
        until: tokio::time::Instant::now() + LIFE,
    };
    watch.seen = match ticket {
        Some(_) => {
            let position = watch.ticket_position().await;
            if position == 0 {
                return super::pages::not_found(&watch.session.chrome());
            }
            position
        }
        None => watch.state.reads.views().applied_position(),
    };
    Sse::new(changes(watch))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn changes(watch: Watch) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(watch, |mut watch| async move {
        watch.next_change().await?;
        let event = Event::default()
            .event("changed")
            .data(watch.seen.to_string());
        Some((Ok(event), watch))
    })
}
