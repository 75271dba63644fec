//! Inboxes (`GET /v1/inbox/{open|waiting|closed}`): a versioned index and
//! its cursor pagination.
//!
//! # Index
//! Each inbox is a space of entries stored in pages (see `pages`): one
//! space per scope, status and sort. A ticket has up to four entries (see
//! [`Slot`]): in its org's inbox sorted by `updated_at` (newest first) and,
//! unless closed, by due time; and the same two in the escalated inbox once
//! escalated (support's view). "All orgs" merges the orgs' inboxes at query
//! time, which costs a platform query one scan per org instead of costing
//! every event two more index writes. Closed tickets have no pending clock,
//! so `sort=due` on the closed inbox reads the `updated` entries: every
//! ticket is in the "none" group, whose order is newest first.
//!
//! # Exactly once while tickets move
//! An entry's suffix ends with `from`, the commit position since which it
//! stands; its value holds `until`, the commit position that superseded it
//! (`u64::MAX` while current). A page at snapshot `S` reads the entries with
//! `from <= S < until`: exactly one per ticket that was in the inbox at `S`,
//! in the order it had at `S`, however tickets moved since. The first page
//! takes `S` = the applied position; the cursor carries `S` and the last
//! suffix read. Superseded entries are kept for [`RETAIN_LOG_NANOS`] of log
//! time (at most [`RETAIN_POSITIONS`] positions), then pruned; a cursor
//! whose `S` is older than what pruning removed is refused as expired. While
//! a projection catches up (or rebuilds) it does not retain: nobody pages
//! through a copy that is not being served, and a catching-up one moves the
//! floor up with every commit.
//!
//! Items show the ticket's current summary (its status may have moved since
//! `S`; its place in the list is the one it had at `S`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use docket_domain::contact::SalesChannel;
use docket_domain::types::{OrgId, OrgScope, Status};

use crate::error::{CursorProblem, ProjectionError};
use crate::keys::{self, Key, KeyReader};
use crate::pages::Scan;
use crate::record::IndexedInbox;
use crate::runtime::Checkpoint;
use crate::store;
use crate::view::{Scope, TicketSummary};

/// Items on a page when the query names no `limit`.
pub const INBOX_LIMIT_DEFAULT: usize = 50;
/// The largest `limit` a page may ask for.
pub const INBOX_LIMIT_MAX: usize = 500;

/// Index entries one page reads at most. A page that reaches it returns what
/// it found (maybe nothing) with a cursor to go on from: a rare filter never
/// makes one request scan a whole inbox.
pub const INBOX_SCAN_MAX: usize = 20_000;

/// Superseded entries stay this long in log time (1 h): how long a client
/// may take to page through an inbox.
pub const RETAIN_LOG_NANOS: i64 = 3_600 * 1_000_000_000;

/// ... and at most this many log positions, whatever the log time.
pub const RETAIN_POSITIONS: u64 = 2_000_000;

/// Superseded entries pruned per commit at most, so pruning never stalls one.
pub const PRUNE_PER_COMMIT: usize = 4_096;

/// The order of an inbox's items (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InboxSort {
    /// Newest `updated_at` first.
    #[default]
    Updated,
    /// Earliest SLA due time first; tickets without a pending clock last
    /// (newest first among them).
    Due,
}

/// One page of an inbox, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// Which inbox: `open`, `waiting` or `closed`.
    pub inbox: Status,
    /// Who asks. Support (escalated only) reads the escalated inbox; a
    /// platform token without `org` reads every org's.
    pub scope: Scope,
    /// The `org` filter. An org outside `scope` yields nothing (the api
    /// answers 403 `forbidden_org` before asking).
    pub org: Option<OrgId>,
    /// The `reason` filter: a reason category.
    pub reason: Option<String>,
    /// The `sales_channel` filter.
    pub sales_channel: Option<SalesChannel>,
    /// The first UTC date of `opened_at` listed (inclusive).
    pub from: Option<Date>,
    /// The last UTC date of `opened_at` listed (inclusive).
    pub to: Option<Date>,
    /// The order of the items.
    pub sort: InboxSort,
    /// 1..=[`INBOX_LIMIT_MAX`]; the api applies the default.
    pub limit: usize,
    /// The previous page's `next_cursor`; `None` for the first page.
    pub cursor: Option<String>,
}

/// One page of an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxPage {
    /// The page's tickets, as they are now, in the order they had when
    /// paging began.
    pub items: Vec<TicketSummary>,
    /// Where the next page starts; `None` at the end of the inbox.
    pub next_cursor: Option<String>,
}

/// The four entries a ticket may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    OrgUpdated = 0,
    OrgDue = 1,
    EscalatedUpdated = 2,
    EscalatedDue = 3,
}

/// The value of an index entry: when it was superseded, and what the
/// filters need without reading the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InboxValue {
    /// The commit position that superseded the entry; `u64::MAX` while current.
    pub until: u64,
    pub org: OrgId,
    pub category: String,
    /// Unix nanos (named without its unit: see `IndexedInbox::updated_at`).
    pub opened_at: i64,
    /// The ticket's sales channel, for the `sales_channel` filter.
    pub sales_channel: Option<SalesChannel>,
}

const SLOTS: [Slot; 4] = [
    Slot::OrgUpdated,
    Slot::OrgDue,
    Slot::EscalatedUpdated,
    Slot::EscalatedDue,
];

const SCOPE_ORG: u8 = 1;
const SCOPE_ESCALATED: u8 = 2;
const SORT_UPDATED: u8 = 0;
const SORT_DUE: u8 = 1;

/// Where a ticket's entry of one slot goes: its space and its suffix
/// without the trailing `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotKey {
    pub space: Vec<u8>,
    pub suffix: Vec<u8>,
}

/// The entries of a ticket in the given state, by slot.
pub(crate) fn slot_keys(org: &OrgId, ticket: Uuid, state: &IndexedInbox) -> [Option<SlotKey>; 4] {
    SLOTS.map(|slot| {
        let escalated_slot = matches!(slot, Slot::EscalatedUpdated | Slot::EscalatedDue);
        let due_slot = matches!(slot, Slot::OrgDue | Slot::EscalatedDue);
        if (escalated_slot && !state.escalated) || (due_slot && state.status == Status::Closed) {
            return None;
        }
        let scope = if escalated_slot {
            ScopeKey::Escalated
        } else {
            ScopeKey::Org(org)
        };
        let sort = if due_slot {
            InboxSort::Due
        } else {
            InboxSort::Updated
        };
        let suffix = match (sort, state.due_at) {
            (InboxSort::Updated, _) => Key::part().u64(descending(state.updated_at)),
            (InboxSort::Due, Some(due_at_unix_nanos)) => Key::part().u8(0).i64(due_at_unix_nanos),
            (InboxSort::Due, None) => Key::part().u8(1).u64(descending(state.updated_at)),
        };
        Some(SlotKey {
            space: space(&scope, state.status, sort),
            suffix: suffix.uuid(ticket).into_vec(),
        })
    })
}

/// The suffix of the entry written at `from`.
pub(crate) fn entry_suffix(slot: &SlotKey, from: u64) -> Vec<u8> {
    let mut suffix = slot.suffix.clone();
    suffix.extend_from_slice(&from.to_be_bytes());
    suffix
}

/// `X | until | space length | space | suffix`: an entry to prune once
/// `until` is old enough.
pub(crate) fn retire_key(until: u64, space: &[u8], suffix: &[u8]) -> Key {
    let space_len = u16::try_from(space.len()).unwrap_or(u16::MAX);
    Key::new(keys::RETIRE)
        .u64(until)
        .bytes(&space_len.to_be_bytes())
        .bytes(space)
        .bytes(suffix)
}

/// `(until, space, suffix)` of a retire key.
pub(crate) fn parse_retire_key(key: &[u8]) -> Option<(u64, &[u8], &[u8])> {
    let mut reader = KeyReader::new(key.get(1..)?);
    let until = reader.u64()?;
    let rest = reader.rest();
    let space_len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let space = rest.get(2..2 + space_len)?;
    let suffix = rest.get(2 + space_len..)?;
    Some((until, space, suffix))
}

/// The length of the space at the start of an `I` page key.
pub(crate) fn space_len(page_key: &[u8]) -> Option<usize> {
    let mut reader = KeyReader::new(page_key.get(1..)?);
    match reader.u8()? {
        SCOPE_ORG => {
            reader.str()?;
        }
        SCOPE_ESCALATED => {}
        _ => return None,
    }
    reader.u8()?;
    reader.u8()?;
    Some(page_key.len() - reader.rest().len())
}

enum ScopeKey<'a> {
    Org(&'a OrgId),
    Escalated,
}

fn space(scope: &ScopeKey<'_>, status: Status, sort: InboxSort) -> Vec<u8> {
    let key = Key::new(keys::INBOX);
    let key = match scope {
        ScopeKey::Org(org) => key.u8(SCOPE_ORG).str(org.as_str()),
        ScopeKey::Escalated => key.u8(SCOPE_ESCALATED),
    };
    let status = match status {
        Status::Open => 0,
        Status::Waiting => 1,
        Status::Closed => 2,
    };
    let sort = match sort {
        InboxSort::Updated => SORT_UPDATED,
        InboxSort::Due => SORT_DUE,
    };
    key.u8(status).u8(sort).into_vec()
}

fn descending(at_unix_nanos: i64) -> u64 {
    !((at_unix_nanos as u64) ^ (1 << 63))
}

/// One page of an inbox.
pub(crate) fn page(tree: &sled::Tree, query: &InboxQuery) -> Result<InboxPage, ProjectionError> {
    if query.limit == 0 || query.limit > INBOX_LIMIT_MAX {
        return Err(ProjectionError::InvalidQuery(format!(
            "limit must be 1..={INBOX_LIMIT_MAX}"
        )));
    }
    let checkpoint = Checkpoint::read(tree)?;
    let fingerprint = fingerprint(query);
    let (snapshot, after) = match &query.cursor {
        None => (checkpoint.position, Vec::new()),
        Some(text) => {
            let cursor = Cursor::parse(text)?;
            if cursor.fingerprint != fingerprint {
                return Err(invalid(CursorProblem::OtherQuery));
            }
            if cursor.snapshot > checkpoint.position {
                return Err(invalid(CursorProblem::Malformed));
            }
            if cursor.snapshot < checkpoint.cursor_floor {
                return Err(invalid(CursorProblem::Expired));
            }
            (cursor.snapshot, cursor.after)
        }
    };
    // Closed tickets have no due entries (see the module doc).
    let sort = match query.inbox {
        Status::Closed => InboxSort::Updated,
        Status::Open | Status::Waiting => query.sort,
    };
    let spaces: Vec<Vec<u8>> = match source(tree, query)? {
        None => Vec::new(),
        Some(Source::Escalated) => vec![space(&ScopeKey::Escalated, query.inbox, sort)],
        Some(Source::Orgs(orgs)) => orgs
            .iter()
            .map(|org| space(&ScopeKey::Org(org), query.inbox, sort))
            .collect(),
    };
    let filter = Filter::new(query);
    let mut merged = Merge::new(tree, &spaces, &after);
    let mut items = Vec::new();
    // The suffix of the last entry the next page starts after.
    let mut resume_after: Option<Vec<u8>> = None;
    let mut scanned = 0usize;
    let mut more = false;
    while let Some((suffix, ticket, from, value)) = merged.next()? {
        scanned += 1;
        let visible = from <= snapshot && snapshot < value.until;
        if visible && filter.accepts(&value) {
            if items.len() == query.limit {
                more = true;
                break;
            }
            if let Some(record) = store::ticket(tree, ticket)? {
                items.push(record.summary());
            }
            resume_after = Some(suffix);
        } else if scanned >= INBOX_SCAN_MAX {
            // Out of budget: go on after what was read, taken or not.
            resume_after = Some(suffix);
        }
        if scanned >= INBOX_SCAN_MAX {
            more = true;
            break;
        }
    }
    // Pruning may have removed entries of this snapshot while we read.
    if Checkpoint::read(tree)?.cursor_floor > snapshot {
        return Err(invalid(CursorProblem::Expired));
    }
    let next_cursor = match (more, resume_after) {
        (true, Some(after)) => Some(
            Cursor {
                snapshot,
                fingerprint,
                after,
            }
            .to_text(),
        ),
        // `more` without a resume point cannot happen: the scan budget
        // sets one and a full page took `limit >= 1` items.
        _ => None,
    };
    Ok(InboxPage { items, next_cursor })
}

enum Source {
    Orgs(Vec<OrgId>),
    Escalated,
}

fn source(tree: &sled::Tree, query: &InboxQuery) -> Result<Option<Source>, ProjectionError> {
    if query.scope.escalated_only {
        return Ok(Some(Source::Escalated));
    }
    Ok(match (&query.scope.orgs, &query.org) {
        (OrgScope::Org(own), None) => Some(Source::Orgs(vec![own.clone()])),
        (OrgScope::Org(own), Some(org)) if org == own => Some(Source::Orgs(vec![own.clone()])),
        (OrgScope::Org(_), Some(_)) => None,
        (OrgScope::Platform, Some(org)) => Some(Source::Orgs(vec![org.clone()])),
        (OrgScope::Platform, None) => Some(Source::Orgs(store::orgs(tree)?)),
    })
}

struct Filter<'a> {
    scope: &'a Scope,
    org: Option<&'a OrgId>,
    reason: Option<&'a str>,
    sales_channel: Option<&'a SalesChannel>,
    opened_from_unix_nanos: Option<i64>,
    opened_before_unix_nanos: Option<i64>,
}

impl<'a> Filter<'a> {
    fn new(query: &'a InboxQuery) -> Filter<'a> {
        Filter {
            scope: &query.scope,
            org: query.org.as_ref(),
            reason: query.reason.as_deref(),
            sales_channel: query.sales_channel.as_ref(),
            opened_from_unix_nanos: query.from.map(day_start),
            opened_before_unix_nanos: query
                .to
                .map(|to| day_start(to).saturating_add(NANOS_PER_DAY)),
        }
    }

    fn accepts(&self, value: &InboxValue) -> bool {
        // Entries in the escalated inbox are escalated by construction.
        self.scope.covers(&value.org, true)
            && self.org.is_none_or(|org| *org == value.org)
            && self.reason.is_none_or(|reason| reason == value.category)
            && self
                .sales_channel
                .is_none_or(|channel| value.sales_channel.as_ref() == Some(channel))
            && self
                .opened_from_unix_nanos
                .is_none_or(|from_unix_nanos| value.opened_at >= from_unix_nanos)
            && self
                .opened_before_unix_nanos
                .is_none_or(|before_unix_nanos| value.opened_at < before_unix_nanos)
    }
}

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

fn day_start(date: Date) -> i64 {
    keys::nanos(date.midnight().assume_utc())
}

/// The entries of several spaces, merged in suffix order (the suffix being
/// what follows the space: sort key, ticket id, from).
struct Merge {
    heads: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
    scans: Vec<Scan>,
    values: Vec<Option<Vec<u8>>>,
    error: Option<ProjectionError>,
}

type MergedEntry = (Vec<u8>, Uuid, u64, InboxValue);

impl Merge {
    fn new(tree: &sled::Tree, spaces: &[Vec<u8>], after: &[u8]) -> Merge {
        let mut merge = Merge {
            heads: BinaryHeap::new(),
            scans: Vec::with_capacity(spaces.len()),
            values: Vec::with_capacity(spaces.len()),
            error: None,
        };
        for (index, space) in spaces.iter().enumerate() {
            let from = if after.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Excluded(after)
            };
            merge.scans.push(Scan::new(tree, space, from));
            merge.values.push(None);
            merge.advance(index);
        }
        merge
    }

    fn advance(&mut self, index: usize) {
        match self.scans[index].next() {
            None => self.values[index] = None,
            Some(Err(error)) => {
                self.values[index] = None;
                self.error = Some(error);
            }
            Some(Ok((suffix, value))) => {
                self.heads.push(Reverse((suffix, index)));
                self.values[index] = Some(value);
            }
        }
    }

    fn next(&mut self) -> Result<Option<MergedEntry>, ProjectionError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let Some(Reverse((suffix, index))) = self.heads.pop() else {
            return Ok(None);
        };
        let Some(value) = self.values[index].take() else {
            return Err(ProjectionError::corrupt("inbox merge", "lost a scan head"));
        };
        self.advance(index);
        // suffix = sort key (8 or 9 bytes) + ticket id (16) + from (8).
        if suffix.len() < 24 {
            return Err(ProjectionError::corrupt("inbox entry", "suffix too short"));
        }
        let mut tail = KeyReader::new(&suffix[suffix.len() - 24..]);
        let (Some(ticket), Some(from)) = (tail.uuid(), tail.u64()) else {
            return Err(ProjectionError::corrupt(
                "inbox entry",
                "no ticket id and position",
            ));
        };
        let value: InboxValue = store::decode("inbox entry", &value)?;
        Ok(Some((suffix, ticket, from, value)))
    }
}

/// What a cursor carries: the snapshot, the query it belongs to, and the
/// suffix of the last entry read.
#[derive(Debug)]
struct Cursor {
    snapshot: u64,
    fingerprint: u64,
    after: Vec<u8>,
}

const CURSOR_VERSION: u8 = 1;

impl Cursor {
    fn to_text(&self) -> String {
        let mut bytes = Vec::with_capacity(17 + self.after.len());
        bytes.push(CURSOR_VERSION);
        bytes.extend_from_slice(&self.snapshot.to_be_bytes());
        bytes.extend_from_slice(&self.fingerprint.to_be_bytes());
        bytes.extend_from_slice(&self.after);
        keys::to_hex(&bytes)
    }

    fn parse(text: &str) -> Result<Cursor, ProjectionError> {
        let malformed = || invalid(CursorProblem::Malformed);
        // A suffix is at most 9 + 16 + 8 bytes; anything longer is not ours.
        if text.len() > 2 * (17 + 33) {
            return Err(malformed());
        }
        let bytes = keys::from_hex(text).ok_or_else(malformed)?;
        let mut reader = KeyReader::new(&bytes);
        if reader.u8() != Some(CURSOR_VERSION) {
            return Err(malformed());
        }
        let snapshot = reader.u64().ok_or_else(malformed)?;
        let fingerprint = reader.u64().ok_or_else(malformed)?;
        let after = reader.rest().to_vec();
        if after.len() < 24 {
            return Err(malformed());
        }
        Ok(Cursor {
            snapshot,
            fingerprint,
            after,
        })
    }
}

fn invalid(problem: CursorProblem) -> ProjectionError {
    ProjectionError::InvalidCursor { problem }
}

/// FNV-1a over everything that selects and orders the entries (not the
/// limit, which may change from page to page).
fn fingerprint(query: &InboxQuery) -> u64 {
    let text = format!(
        "{:?}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}",
        query.inbox,
        query.sort,
        query.scope.orgs,
        query.scope.escalated_only,
        query.org.as_ref().map(OrgId::as_str),
        query.reason,
        query.from,
        query.to,
    );
    crate::model::fnv1a(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descending_reverses_order() {
        let times_unix_nanos = [i64::MIN, -1, 0, 5, i64::MAX];
        assert!(times_unix_nanos
            .windows(2)
            .all(|w| descending(w[0]) > descending(w[1])));
    }

    #[test]
    fn garbage_cursors_are_malformed() {
        for text in ["", "zz", "01", &"ab".repeat(200)] {
            match Cursor::parse(text) {
                Err(ProjectionError::InvalidCursor {
                    problem: CursorProblem::Malformed,
                }) => {}
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
