//! The read side: what the api asks the read models. Every query reads the
//! served generation; none takes a lock the projection holds long.

use time::OffsetDateTime;

use docket_domain::contact::SalesChannel;
use docket_domain::policy::OrgPolicy;
use docket_domain::types::{OrgId, TicketId, TicketNumber};

use crate::error::ProjectionError;
use crate::inbox::{self, InboxPage, InboxQuery};
use crate::kpi::{self, KpiQuery, KpiRow};
use crate::runtime::Views;
use crate::search;
use crate::sla::{self, BreachNotice, BreachReport, SlaItem, SlaQuery};
use crate::store;
use crate::text_modules::{self, TextModuleView};
use crate::view::{Scope, TicketSummary, TicketView};

impl Views {
    /// `GET /v1/tickets/{id}`: the ticket, whoever asks. The caller checks
    /// visibility with [`TicketView::is_visible_to`] and answers 404 either way.
    pub fn ticket(&self, ticket: TicketId) -> Result<Option<TicketView>, ProjectionError> {
        Ok(store::ticket(&self.tree(), ticket.0)?.map(|record| record.view()))
    }

    /// `GET /v1/tickets?number=…`: at most one ticket, if `scope` sees it.
    pub fn search_number(
        &self,
        number: TicketNumber,
        scope: &Scope,
    ) -> Result<Vec<TicketSummary>, ProjectionError> {
        search::by_number(&self.tree(), number, scope)
    }

    /// `GET /v1/tickets?order_number=…`: the tickets about that order that
    /// `scope` sees, newest first, at most [`search::SEARCH_ITEMS_MAX`].
    pub fn search_order(
        &self,
        order_number: &str,
        scope: &Scope,
    ) -> Result<Vec<TicketSummary>, ProjectionError> {
        search::by_order(&self.tree(), order_number, scope)
    }

    /// `GET /v1/orgs/{org}/text-modules[?sales_channel=]`: sorted by name.
    pub fn text_modules(
        &self,
        org: &OrgId,
        sales_channel: Option<&SalesChannel>,
    ) -> Result<Vec<TextModuleView>, ProjectionError> {
        text_modules::list(&self.tree(), org, sales_channel)
    }

    /// `GET /v1/orgs/{org}/text-modules/{name}`.
    pub fn text_module(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<Option<TextModuleView>, ProjectionError> {
        text_modules::get(&self.tree(), org, name)
    }

    /// `GET /v1/inbox/{open|waiting|closed}`: one page.
    pub fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, ProjectionError> {
        inbox::page(&self.tree(), query)
    }

    /// `GET /v1/sla`: clocks breached, or at risk, as of `now`.
    pub fn sla(
        &self,
        query: &SlaQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<SlaItem>, ProjectionError> {
        sla::list(&self.tree(), query, now)
    }

    /// `GET /v1/kpis`: one row per org, bucket (and category), as a
    /// brute-force pass over the applied log would give at `now`.
    pub fn kpis(
        &self,
        query: &KpiQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<KpiRow>, ProjectionError> {
        kpi::rows(&self.tree(), query, now)
    }

    /// The clocks breached by `now` and not reported before, recorded as
    /// reported: for a caller that reports them where nothing can fail.
    pub fn mark_breaches(&self, now: OffsetDateTime) -> Result<Vec<BreachNotice>, ProjectionError> {
        let _one_at_a_time = self.breach_lock();
        let report = sla::breaches_to_report(&self.tree(), self.notified_tree(), now)?;
        let notices = report.notices.clone();
        sla::record_reported(self.notified_tree(), report)?;
        Ok(notices)
    }

    /// The clocks breached by `now` and not reported before; they count as
    /// reported once the report is handed to [`Views::record_reported`]
    /// (after they were delivered), so a crash in between reports them
    /// again: at least once. One reporter at a time.
    pub fn breaches_to_report(&self, now: OffsetDateTime) -> Result<BreachReport, ProjectionError> {
        let _one_at_a_time = self.breach_lock();
        sla::breaches_to_report(&self.tree(), self.notified_tree(), now)
    }

    /// Records a report's notices as delivered.
    pub fn record_reported(&self, report: BreachReport) -> Result<(), ProjectionError> {
        let _one_at_a_time = self.breach_lock();
        sla::record_reported(self.notified_tree(), report)
    }

    /// The policy in force for `org` as the applied log sets it.
    pub fn policy(&self, org: &OrgId) -> Result<OrgPolicy, ProjectionError> {
        store::policy(&self.tree(), org)
    }
}
