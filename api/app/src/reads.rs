//! The queries, with their read rules: every edge asks the read models and
//! the log through here, so who may read what (`docket_domain::access`) is
//! enforced once whichever edge asks.
//!
//! Each query checks the actor's right to ask it, resolves the org filter,
//! waits for `min_position` (the caller's `X-Min-Position`), then reads.
//! Parsing a query's parameters is the edge's; the bounds a parameter must
//! keep are checked by the `*_limit` functions here, which every edge calls.

use std::time::Duration;

use docket_domain::access::{self, CommentsShown, Read, Scope};
use docket_domain::attachment::AttachmentRef;
use docket_domain::contact::SalesChannel;
use docket_domain::policy::OrgPolicy;
use docket_domain::text_module::{may_read_text_modules, TextModuleName};
use docket_domain::types::{Actor, OrgId, TicketId, TicketNumber};
use docket_domain::Event;
use docket_eventstore::RecordedEvent;
use docket_projections::{
    InboxPage, InboxQuery, KpiQuery, KpiRow, SlaItem, SlaQuery, TextModuleView, TicketSummary,
    TicketView, INBOX_LIMIT_DEFAULT, INBOX_LIMIT_MAX,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::commands::Commands;
use crate::error::AppError;
use crate::history::History;
use crate::views::Views;
use crate::wire::{event_json, StreamField};

/// The longest a query waits for `X-Min-Position` (contract: 5 s).
pub const MIN_POSITION_WAIT: Duration = Duration::from_secs(5);
/// `/readyz` fails while the read models are further behind than this.
pub const READY_LAG_MAX: u64 = 10_000;
/// Events per `GET /v1/events` page: default (contract).
pub const EVENTS_LIMIT_DEFAULT: usize = 100;
/// Events per `GET /v1/events` page: bound (contract).
pub const EVENTS_LIMIT_MAX: usize = 1000;

/// The read side as every edge asks it; cheap to clone.
#[derive(Clone)]
pub struct Reads {
    views: Views,
    commands: Commands,
}

/// A ticket as one reader may see it.
pub struct SeenTicket {
    /// The ticket as the read models hold it.
    pub view: TicketView,
    /// Which of its comments the reader is shown.
    pub shown: CommentsShown,
}

impl SeenTicket {
    /// The contract's JSON of `GET /v1/tickets/{id}`.
    pub fn to_json(&self) -> Value {
        self.view.to_json(self.shown)
    }
}

/// A ticket's history as one reader may see it.
pub struct SeenHistory {
    /// The ticket's whole stream.
    pub history: History,
    /// Which comment events the reader is shown.
    pub shown: CommentsShown,
}

impl SeenHistory {
    /// The contract's JSON of `GET /v1/tickets/{id}/history[?as_of=]`.
    pub fn to_json(&self, as_of: Option<OffsetDateTime>) -> Value {
        self.history.to_json(as_of, self.shown)
    }
}

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchBy {
    /// A ticket number (at most one ticket).
    Number(TicketNumber),
    /// A non-empty order number.
    OrderNumber(String),
}

impl Reads {
    /// Queries over `views` (and, for policies, the log through `commands`).
    pub fn new(views: Views, commands: Commands) -> Reads {
        Reads { views, commands }
    }

    /// The read models as served.
    pub fn views(&self) -> &Views {
        &self.views
    }

    /// `GET /v1/tickets/{id}`: 404 (`NotFound`) for a ticket the actor may
    /// not see, exactly as for one that does not exist.
    pub async fn ticket(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        min_position: Option<u64>,
    ) -> Result<SeenTicket, AppError> {
        Read::Tickets.permit(actor)?;
        self.wait_for_models(min_position).await?;
        let view = self
            .views
            .models
            .ticket(ticket_id)?
            .filter(|view| view.is_visible_to(&Scope::of(actor)))
            .ok_or(docket_domain::DomainError::NotFound)?;
        Ok(SeenTicket {
            view,
            shown: CommentsShown::to(actor),
        })
    }

    /// `GET /v1/tickets/{id}/history`, folded from the log itself.
    pub async fn history(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        min_position: Option<u64>,
    ) -> Result<SeenHistory, AppError> {
        Read::Tickets.permit(actor)?;
        self.wait_for_log(min_position).await?;
        let history = History::load(self.views.store(), ticket_id)?;
        if !docket_domain::ticket::can_see(&history.ticket, actor) {
            return Err(docket_domain::DomainError::NotFound.into());
        }
        Ok(SeenHistory {
            history,
            shown: CommentsShown::to(actor),
        })
    }

    /// `GET /v1/events`: the log in order after `after`, at most `limit`
    /// events (see [`events_limit`]), each with its stream.
    pub async fn events(
        &self,
        actor: &Actor,
        after: u64,
        limit: Option<usize>,
        min_position: Option<u64>,
    ) -> Result<Vec<Value>, AppError> {
        Read::EventFeed.permit(actor)?;
        self.wait_for_log(min_position).await?;
        let limit = events_limit(limit)?;
        let entries = self
            .views
            .store()
            .read_from(after.saturating_add(1), limit)?;
        Ok(entries.iter().map(feed_json).collect())
    }

    /// `GET /v1/orgs/{org}/policy`: the policy in force with its stream
    /// version, read from the log (so `min_position` waits for the log).
    pub async fn policy(
        &self,
        actor: &Actor,
        org: &OrgId,
        min_position: Option<u64>,
    ) -> Result<(u64, OrgPolicy), AppError> {
        access::may_read_policy_of(actor, org)?;
        self.wait_for_log(min_position).await?;
        self.commands.policy_with_version(org)
    }

    /// `GET /v1/tickets?number=…` or `?order_number=…`.
    pub async fn search(
        &self,
        actor: &Actor,
        by: &SearchBy,
        min_position: Option<u64>,
    ) -> Result<Vec<TicketSummary>, AppError> {
        Read::Tickets.permit(actor)?;
        self.wait_for_models(min_position).await?;
        let scope = Scope::of(actor);
        let items = match by {
            SearchBy::Number(number) => self.views.models.search_number(*number, &scope)?,
            SearchBy::OrderNumber(order) => self.views.models.search_order(order, &scope)?,
        };
        Ok(items)
    }

    /// `GET /v1/inbox/{status}`: one page. The query's scope is the
    /// actor's and its org filter is resolved here, whatever the edge set.
    pub async fn inbox(
        &self,
        actor: &Actor,
        mut query: InboxQuery,
        min_position: Option<u64>,
    ) -> Result<InboxPage, AppError> {
        Read::Inboxes.permit(actor)?;
        query.org = access::org_filter(actor, query.org)?;
        query.scope = Scope::of(actor);
        inbox_limit(Some(query.limit))?;
        self.wait_for_models(min_position).await?;
        Ok(self.views.models.inbox(&query)?)
    }

    /// `GET /v1/sla`: clocks breached or at risk as of the server's clock.
    pub async fn sla(
        &self,
        actor: &Actor,
        mut query: SlaQuery,
        min_position: Option<u64>,
    ) -> Result<Vec<SlaItem>, AppError> {
        Read::Inboxes.permit(actor)?;
        query.org = access::org_filter(actor, query.org)?;
        query.scope = Scope::of(actor);
        self.wait_for_models(min_position).await?;
        let now = self.commands.clock().now();
        Ok(self.views.models.sla(&query, now)?)
    }

    /// `GET /v1/kpis`: one row per bucket (and reason), as of the clock.
    pub async fn kpis(
        &self,
        actor: &Actor,
        mut query: KpiQuery,
        min_position: Option<u64>,
    ) -> Result<Vec<KpiRow>, AppError> {
        Read::Kpis.permit(actor)?;
        query.org = access::org_filter(actor, query.org)?;
        if query.to < query.from {
            return Err(AppError::InvalidQuery("to is before from".to_owned()));
        }
        self.wait_for_models(min_position).await?;
        let now = self.commands.clock().now();
        Ok(self.views.models.kpis(&query, now)?)
    }

    /// `GET /v1/tickets/{id}/attachments/{attachment_id}`: the attachment,
    /// folded from the log (so an upload's 2xx is enough to read it back);
    /// `NotFound` for a ticket the actor may not see and for an internal
    /// attachment shown to a customer, as for one that does not exist.
    pub async fn attachment(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        attachment_id: uuid::Uuid,
        min_position: Option<u64>,
    ) -> Result<AttachmentRef, AppError> {
        Read::Tickets.permit(actor)?;
        self.wait_for_log(min_position).await?;
        let state = self.commands.load_ticket(ticket_id)?;
        let shown = CommentsShown::to(actor);
        state
            .opened
            .as_ref()
            .filter(|_| docket_domain::ticket::can_see(&state, actor))
            .and_then(|ticket| {
                ticket
                    .attachments
                    .iter()
                    .find(|a| a.attachment_id == attachment_id && shown.shows(a.visibility))
                    .cloned()
            })
            .ok_or_else(|| docket_domain::DomainError::NotFound.into())
    }

    /// `GET /v1/orgs/{org}/text-modules[?sales_channel=]`, sorted by name.
    pub async fn text_modules(
        &self,
        actor: &Actor,
        org: &OrgId,
        sales_channel: Option<&SalesChannel>,
        min_position: Option<u64>,
    ) -> Result<Vec<TextModuleView>, AppError> {
        may_read_text_modules(actor, org)?;
        self.wait_for_models(min_position).await?;
        Ok(self.views.models.text_modules(org, sales_channel)?)
    }

    /// `GET /v1/orgs/{org}/text-modules/{name}`; `NotFound` without one.
    pub async fn text_module(
        &self,
        actor: &Actor,
        org: &OrgId,
        name: &TextModuleName,
        min_position: Option<u64>,
    ) -> Result<TextModuleView, AppError> {
        may_read_text_modules(actor, org)?;
        self.wait_for_models(min_position).await?;
        let module = self.views.models.text_module(org, name.as_str())?;
        Ok(module.ok_or(docket_domain::DomainError::NotFound)?)
    }

    async fn wait_for_models(&self, min_position: Option<u64>) -> Result<(), AppError> {
        match min_position {
            Some(position) => self.views.wait_for(position, MIN_POSITION_WAIT).await,
            None => Ok(()),
        }
    }

    async fn wait_for_log(&self, min_position: Option<u64>) -> Result<(), AppError> {
        match min_position {
            Some(position) => self.views.wait_for_log(position, MIN_POSITION_WAIT).await,
            None => Ok(()),
        }
    }
}

/// An inbox page's size: the default when none is asked, else 1..=max.
pub fn inbox_limit(asked: Option<usize>) -> Result<usize, AppError> {
    bounded_limit(asked, INBOX_LIMIT_DEFAULT, INBOX_LIMIT_MAX)
}

/// An event feed page's size: the default when none is asked, else 1..=max.
pub fn events_limit(asked: Option<usize>) -> Result<usize, AppError> {
    bounded_limit(asked, EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX)
}

fn bounded_limit(asked: Option<usize>, default: usize, max: usize) -> Result<usize, AppError> {
    let limit = asked.unwrap_or(default);
    if limit == 0 || limit > max {
        return Err(AppError::InvalidQuery(format!(
            "limit must be between 1 and {max}"
        )));
    }
    Ok(limit)
}

/// One entry of the feed: undecodable events are shown with `data: null`.
fn feed_json(entry: &RecordedEvent) -> Value {
    let event: Option<Event> =
        docket_domain::codec::decode(&entry.event_type, entry.schema_version, &entry.payload).ok();
    event_json(entry, event.as_ref(), StreamField::Included)
}
