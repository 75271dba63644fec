//! The SLA read model: an index of pending clocks by due time, the
//! `GET /v1/sla` list, and breach notices.
//!
//! A pending clock (running, or breached and unanswered) has one entry
//! `due | ticket | clock` in its org's space (stored in pages, see
//! `pages`), whose value carries the clock itself
//! (with the calendar of the policy it started under), so a list is
//! answered from the index alone: `clock.view(now)` gives `breached` and
//! `business_seconds_left`. Paused clocks have no due time and no entry.
//!
//! Breach is decided at read time against the caller's `now` (the server's
//! clock, real or test), exactly as `docket_domain::sla` decides it: a
//! running clock is breached once `now` is strictly past its due time. The
//! index itself is a pure function of the log, so a rebuild yields the same
//! bytes.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use docket_domain::sla::{Clock, ClockKind, ClockState};
use docket_domain::types::{OrgId, OrgScope, TicketId, TicketNumber};

use crate::error::ProjectionError;
use crate::keys::{self, Key, KeyReader};
use crate::pages::Scan;
use crate::store;
use crate::view::Scope;

/// Items one SLA list answers at most (the earliest due first).
pub const SLA_ITEMS_MAX: usize = 10_000;

/// Which clocks an SLA list shows (`state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Pending clocks past their due time.
    Breached,
    /// Running clocks not breached with at most this many business seconds left.
    AtRisk {
        /// The `within` bound, in business seconds (0 or more).
        within_seconds: i64,
    },
}

/// A `GET /v1/sla` question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaQuery {
    /// Which clocks to list.
    pub state: SlaState,
    /// Who asks: the orgs it sees, and for support escalated tickets only.
    pub scope: Scope,
    /// The `org` filter; without it a platform scope lists every org.
    pub org: Option<OrgId>,
}

/// One clock of an SLA list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaItem {
    /// The clock's ticket.
    pub ticket_id: TicketId,
    /// The ticket's number.
    pub number: TicketNumber,
    /// The ticket's org.
    pub org: OrgId,
    /// Which of the ticket's clocks.
    pub clock: ClockKind,
    /// When it is due, or was due if breached.
    #[serde(with = "docket_domain::types::instant::option")]
    pub due_at: Option<OffsetDateTime>,
    /// Whether it is past its due time, by the caller's `now`.
    pub breached: bool,
    /// Negative once breached: the business time since the due time.
    pub business_seconds_left: i64,
}

/// A clock that became breached, for the server to publish (with NATS on
/// `docket.sla.breached.<org>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachNotice {
    /// The clock's ticket.
    pub ticket_id: TicketId,
    /// The ticket's number.
    pub number: TicketNumber,
    /// The ticket's org, the last token of the notice's NATS subject.
    pub org: OrgId,
    /// Which of the ticket's clocks.
    pub clock: ClockKind,
    /// The due time it passed.
    #[serde(with = "docket_domain::types::instant")]
    pub due_at: OffsetDateTime,
}

/// The value of an SLA entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlaValue {
    pub number: TicketNumber,
    pub category: String,
    pub clock: Clock,
}

/// The space of an org's pending clocks.
pub(crate) fn space(org: &OrgId) -> Vec<u8> {
    Key::new(keys::SLA).str(org.as_str()).into_vec()
}

/// An entry's suffix within its org's space.
pub(crate) fn suffix(due_at_unix_nanos: i64, ticket: Uuid, kind: ClockKind) -> Vec<u8> {
    Key::part()
        .i64(due_at_unix_nanos)
        .uuid(ticket)
        .u8(kind_byte(kind))
        .into_vec()
}

/// The length of the space at the start of an `S` page key.
pub(crate) fn space_len(page_key: &[u8]) -> Option<usize> {
    let mut reader = KeyReader::new(page_key.get(1..)?);
    reader.str()?;
    Some(page_key.len() - reader.rest().len())
}

fn kind_byte(kind: ClockKind) -> u8 {
    match kind {
        ClockKind::FirstResponse => 0,
        ClockKind::NextResponse => 1,
        ClockKind::Resolution => 2,
    }
}

fn kind_of(byte: u8) -> Option<ClockKind> {
    Some(match byte {
        0 => ClockKind::FirstResponse,
        1 => ClockKind::NextResponse,
        2 => ClockKind::Resolution,
        _ => return None,
    })
}

/// One SLA entry, parsed.
pub(crate) struct SlaEntry {
    pub org: OrgId,
    pub due_at_unix_nanos: i64,
    pub ticket: Uuid,
    pub kind: ClockKind,
    pub value: SlaValue,
}

/// The entries of `org` with `lo_unix_nanos <= due < hi_unix_nanos`, in
/// due order.
pub(crate) fn entries(
    tree: &sled::Tree,
    org: &OrgId,
    lo_unix_nanos: Option<i64>,
    hi_unix_nanos: Option<i64>,
) -> impl Iterator<Item = Result<SlaEntry, ProjectionError>> {
    let from = lo_unix_nanos.map(|lo_unix_nanos| Key::part().i64(lo_unix_nanos).into_vec());
    let scan = Scan::new(
        tree,
        &space(org),
        match &from {
            Some(from) => Bound::Included(from.as_slice()),
            None => Bound::Unbounded,
        },
    );
    let org = org.clone();
    scan.map(move |entry| {
        let (suffix, value) = entry?;
        let mut reader = KeyReader::new(&suffix);
        let (Some(due_at_unix_nanos), Some(ticket), Some(kind)) =
            (reader.i64(), reader.uuid(), reader.u8().and_then(kind_of))
        else {
            return Err(ProjectionError::corrupt("sla entry", "unparseable suffix"));
        };
        Ok((due_at_unix_nanos, ticket, kind, value))
    })
    .take_while(move |entry| match (entry, hi_unix_nanos) {
        (Ok((due_at_unix_nanos, ..)), Some(hi_unix_nanos)) => *due_at_unix_nanos < hi_unix_nanos,
        _ => true,
    })
    .map(move |entry| {
        let (due_at_unix_nanos, ticket, kind, value) = entry?;
        Ok(SlaEntry {
            org: org.clone(),
            due_at_unix_nanos,
            ticket,
            kind,
            value: store::decode("sla entry", &value)?,
        })
    })
}

fn orgs_of(
    tree: &sled::Tree,
    scope: &Scope,
    org: Option<&OrgId>,
) -> Result<Vec<OrgId>, ProjectionError> {
    Ok(match (&scope.orgs, org) {
        (OrgScope::Org(own), None) => vec![own.clone()],
        (OrgScope::Org(own), Some(org)) if org == own => vec![own.clone()],
        (OrgScope::Org(_), Some(_)) => Vec::new(),
        (OrgScope::Platform, Some(org)) => vec![org.clone()],
        (OrgScope::Platform, None) => store::orgs(tree)?,
    })
}

/// `GET /v1/sla`: the clocks in `query.state` as of `now`, earliest due first.
pub(crate) fn list(
    tree: &sled::Tree,
    query: &SlaQuery,
    now: OffsetDateTime,
) -> Result<Vec<SlaItem>, ProjectionError> {
    let now_unix_nanos = keys::nanos(now);
    let mut items = Vec::new();
    for org in orgs_of(tree, &query.scope, query.org.as_ref())? {
        // Breached: due < now (strictly past). At risk: due >= now.
        let (lo_unix_nanos, hi_unix_nanos) = match query.state {
            SlaState::Breached => (None, Some(now_unix_nanos)),
            SlaState::AtRisk { .. } => (Some(now_unix_nanos), None),
        };
        for entry in entries(tree, &org, lo_unix_nanos, hi_unix_nanos) {
            let entry = entry?;
            let view = entry.value.clock.view(now);
            let wanted = match query.state {
                SlaState::Breached => view.breached,
                SlaState::AtRisk { within_seconds } => {
                    !view.breached && view.business_seconds_left <= within_seconds
                }
            };
            if !wanted || !visible(tree, &query.scope, entry.ticket)? {
                continue;
            }
            items.push(SlaItem {
                ticket_id: TicketId(entry.ticket),
                number: entry.value.number,
                org: entry.org.clone(),
                clock: entry.kind,
                due_at: Some(keys::instant(entry.due_at_unix_nanos)),
                breached: view.breached,
                business_seconds_left: view.business_seconds_left,
            });
        }
    }
    items.sort_by(|a, b| {
        (a.due_at, a.ticket_id, a.clock as u8).cmp(&(b.due_at, b.ticket_id, b.clock as u8))
    });
    items.truncate(SLA_ITEMS_MAX);
    Ok(items)
}

/// Support sees escalated tickets only; the index does not know which are.
fn visible(tree: &sled::Tree, scope: &Scope, ticket: Uuid) -> Result<bool, ProjectionError> {
    if !scope.escalated_only {
        return Ok(true);
    }
    Ok(store::ticket(tree, ticket)?.is_some_and(|record| record.state.escalated))
}

/// The running first-response clocks of `org` due in
/// `[lo_unix_nanos, hi_unix_nanos)`, with their due times (unix nanos):
/// KPIs count them as breached when `hi_unix_nanos` is "now" (finished
/// clocks are in day rows).
pub(crate) fn running_first_responses(
    tree: &sled::Tree,
    org: &OrgId,
    lo_unix_nanos: i64,
    hi_unix_nanos: i64,
) -> Result<Vec<(i64, String)>, ProjectionError> {
    let mut found = Vec::new();
    if lo_unix_nanos >= hi_unix_nanos {
        return Ok(found);
    }
    for entry in entries(tree, org, Some(lo_unix_nanos), Some(hi_unix_nanos)) {
        let entry = entry?;
        if entry.kind == ClockKind::FirstResponse
            && matches!(entry.value.clock.state, ClockState::Running { .. })
        {
            found.push((entry.due_at_unix_nanos, entry.value.category));
        }
    }
    Ok(found)
}

/// Breaches found by `breaches_to_report`, and what records them as
/// reported once they are delivered.
pub struct BreachReport {
    /// One notice per breach not reported before.
    pub notices: Vec<BreachNotice>,
    record: sled::Batch,
}

impl BreachNotice {
    /// Names this breach (ticket, clock, due time): the same breach found
    /// again after a crash has the same id, so a receiver can drop it.
    pub fn id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.ticket_id.0,
            kind_byte(self.clock),
            keys::nanos(self.due_at)
        )
    }
}

/// The breaches by `now` not reported before. `notified` is a tree outside
/// the read-model generation (it survives rebuilds) holding what was
/// reported; entries of clocks no longer pending are dropped from it, so it
/// stays as small as the set of breached, unanswered clocks.
pub(crate) fn breaches_to_report(
    tree: &sled::Tree,
    notified: &sled::Tree,
    now: OffsetDateTime,
) -> Result<BreachReport, ProjectionError> {
    let now_unix_nanos = keys::nanos(now);
    let mut pending = BTreeSet::new();
    let mut notices = Vec::new();
    let mut record = sled::Batch::default();
    for org in store::orgs(tree)? {
        for entry in entries(tree, &org, None, Some(now_unix_nanos)) {
            let entry = entry?;
            let key = notified_key(entry.ticket, entry.kind, entry.due_at_unix_nanos);
            if !notified.contains_key(&key)? {
                record.insert(key.clone(), &[][..]);
                notices.push(BreachNotice {
                    ticket_id: TicketId(entry.ticket),
                    number: entry.value.number,
                    org: entry.org.clone(),
                    clock: entry.kind,
                    due_at: keys::instant(entry.due_at_unix_nanos),
                });
            }
            pending.insert(key.into_vec());
        }
    }
    for entry in notified.iter() {
        let (key, _) = entry?;
        if !pending.contains(key.as_ref()) {
            record.remove(key);
        }
    }
    notices.sort_by_key(|notice| (notice.due_at, notice.ticket_id, notice.clock as u8));
    Ok(BreachReport { notices, record })
}

/// Records `report`'s notices as reported.
pub(crate) fn record_reported(
    notified: &sled::Tree,
    report: BreachReport,
) -> Result<(), ProjectionError> {
    notified.apply_batch(report.record)?;
    Ok(())
}

fn notified_key(ticket: Uuid, kind: ClockKind, due_at_unix_nanos: i64) -> Key {
    Key::new(b'B')
        .uuid(ticket)
        .u8(kind_byte(kind))
        .i64(due_at_unix_nanos)
}
