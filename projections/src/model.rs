//! The read models as one projection: how an event changes the records,
//! and how a commit writes what changed (one concept: the fold and the
//! commit share the records and the write-back caches, hence ~650 lines).
//!
//! # Why one projection
//! A sled 0.34 insert costs about the same for a 16-byte and a 1 KiB value
//! (it clones the leaf it writes into: malloc and memcpy, not the bytes,
//! are the cost), and `apply_batch` takes a process-wide write lock, so two
//! projections could not write in parallel either. Writes per event are
//! the budget (sled's insert rate: `docs/benchmarks.md`, "Rebuild").
//! Ticket views, inboxes, search, SLA clocks and KPIs all need the same
//! per-ticket state (org, reason, status, clocks), so they share one record
//! per ticket, written once per commit however many events touched it; a
//! second projection would write a second record per ticket and fold the
//! clocks twice.
//!
//! # Writes per commit (back of the envelope)
//! Per ticket touched: its record (1) and its order-number entry (≤ 1, once).
//! Per page touched: inbox and SLA entries are stored 128 to a page and
//! change in time order, so a commit's entries land in a few pages per org.
//! Per org and UTC day touched: one KPI value; per 256 ticket numbers: one.
//! A 20k-event commit of the benchmark's log writes ~5.5k records, ~300
//! pages and ~300 days: ~0.3 writes per event, against ~2 with an entry
//! per key. A ticket spanning k commits has its record written k times, so
//! offline rebuilds commit only once ~49k records changed (~200k events of
//! the benchmark's log; tickets live a few days of a log that spans weeks).

use std::collections::{HashMap, HashSet, VecDeque};

use uuid::Uuid;

use docket_domain::events::Event;
use docket_domain::policy::OrgPolicy;
use docket_domain::sla::{ClockKind, ClockState, SlaClocks};
use docket_domain::types::{OrgId, Status, Visibility};

use crate::cache::WriteBack;
use crate::error::ProjectionError;
use crate::inbox::{self, InboxValue, PRUNE_PER_COMMIT, RETAIN_LOG_NANOS, RETAIN_POSITIONS};
use crate::keys::{self, Key};
use crate::kpi::{self, Days};
use crate::pages::Pages;
use crate::record::{Indexed, IndexedClock, IndexedInbox, KpiMarks, TicketRecord};
use crate::runtime::Checkpoint;
use crate::sla::{self, SlaValue};
use crate::store;
use crate::text_modules;
use crate::view::{EventMeta, TicketHead, TicketState};

/// Ticket records kept decoded between commits (plus those of the batch).
pub(crate) const TICKET_CACHE_MAX: usize = 32_768;
/// KPI days (an org's day, all categories) kept between commits.
const DAY_CACHE_MAX: usize = 2_048;
/// Ticket-number blocks kept between commits.
const NUMBER_CACHE_MAX: usize = 1_024;
/// Commits remembered for pruning by log time (one per second of log time
/// at most: 18 hours, against the hour a cursor is kept).
const COMMITS_REMEMBERED_MAX: usize = 65_536;
/// The log time between two remembered commits.
const COMMIT_TIME_STEP_NANOS: i64 = 1_000_000_000;

/// Commit positions and the newest log time by each (unix nanos), oldest
/// first: what tells which superseded inbox entries are older than the
/// retention.
///
/// One commit per second of log time at most: pruning by log time needs no
/// finer step (the entries superseded by a commit not remembered go with
/// the next remembered one: at most a second later under a steady load,
/// later after a quiet spell, never sooner), and with one entry per commit a
/// few hundred commits a second filled
/// `COMMITS_REMEMBERED_MAX` in minutes, expiring cursors long before their
/// hour.
#[derive(Debug, Default)]
struct CommitTimes(VecDeque<(u64, i64)>);

impl CommitTimes {
    fn remember(&mut self, position: u64, log_time_unix_nanos: i64) {
        let within_a_step = self.0.back().is_some_and(|&(_, remembered_unix_nanos)| {
            log_time_unix_nanos < remembered_unix_nanos.saturating_add(COMMIT_TIME_STEP_NANOS)
        });
        if !within_a_step {
            self.0.push_back((position, log_time_unix_nanos));
        }
    }

    /// Forgets the commits made by `cutoff_unix_nanos` (and the oldest past
    /// `COMMITS_REMEMBERED_MAX`); returns the newest position forgotten
    /// (0: none), up to which superseded entries may go.
    fn forget_until(&mut self, cutoff_unix_nanos: i64) -> u64 {
        let mut forgotten = 0;
        while let Some(&(position, log_time_unix_nanos)) = self.0.front() {
            if log_time_unix_nanos > cutoff_unix_nanos && self.0.len() <= COMMITS_REMEMBERED_MAX {
                break;
            }
            forgotten = forgotten.max(position);
            self.0.pop_front();
        }
        forgotten
    }
}
/// Orgs remembered as already having their `O` entry.
const KNOWN_ORGS_MAX: usize = 65_536;

/// An event from the feed, decoded (or not) and ready to apply.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub position: u64,
    pub version: u64,
    /// The ticket whose stream it is (`None`: another stream's, e.g. an
    /// org's policy), parsed by the decoder rather than the applier.
    pub ticket: Option<Uuid>,
    pub recorded_at_unix_nanos: i64,
    /// `None`: an unknown type or undecodable payload, skipped and counted.
    pub event: Option<Event>,
}

/// Every how many ticket records, and to whom, a commit being prepared
/// hands over its writes so far (see [`ReadModels::commit`]).
pub(crate) type HandOver<'a> = (
    usize,
    &'a mut dyn FnMut(store::Writes) -> Result<(), ProjectionError>,
);

/// Ticket numbers of one block of 256: `(number % 256, ticket id)`, sorted.
type NumberBlock = Vec<(u8, Uuid)>;

pub(crate) struct ReadModels {
    tickets: WriteBack<Uuid, TicketRecord>,
    /// Inbox and SLA index pages.
    pages: Pages,
    days: Days,
    numbers: WriteBack<u64, NumberBlock>,
    /// Every org's policy in force that was asked for (orgs are few).
    policies: HashMap<OrgId, OrgPolicy>,
    dirty_policies: Vec<OrgId>,
    known_orgs: HashSet<OrgId>,
    /// Writes that need no read-modify-write (order numbers, org entries).
    batch: store::Writes,
    commits: CommitTimes,
    newest_log_time_unix_nanos: i64,
}

impl ReadModels {
    pub(crate) fn new() -> ReadModels {
        ReadModels {
            tickets: WriteBack::new(TICKET_CACHE_MAX),
            pages: Pages::new(),
            days: Days::new(DAY_CACHE_MAX),
            numbers: WriteBack::new(NUMBER_CACHE_MAX),
            policies: HashMap::new(),
            dirty_policies: Vec::new(),
            known_orgs: HashSet::new(),
            batch: store::Writes::default(),
            commits: CommitTimes::default(),
            newest_log_time_unix_nanos: i64::MIN,
        }
    }

    /// Applies one event; `false` if it was skipped (an event of a ticket
    /// never opened, a stream that is neither a ticket's nor a policy's).
    pub(crate) fn apply(
        &mut self,
        tree: &sled::Tree,
        incoming: &Incoming,
        event: &Event,
    ) -> Result<bool, ProjectionError> {
        self.newest_log_time_unix_nanos = self
            .newest_log_time_unix_nanos
            .max(incoming.recorded_at_unix_nanos);
        if let Event::PolicySet(set) = event {
            self.policies.insert(set.org.clone(), set.policy.clone());
            self.dirty_policies.push(set.org.clone());
            return Ok(true);
        }
        if !event.is_of_a_ticket() {
            let at = keys::instant(incoming.recorded_at_unix_nanos);
            return text_modules::apply(&mut self.batch, event, incoming.position, at);
        }
        let Some(ticket) = incoming.ticket else {
            return Ok(false);
        };
        // Nothing of a stream's ticket is stored before the stream's first
        // event: no lookup then. Otherwise a rebuild looks up every ticket
        // once before it exists, each a miss in a random leaf
        // (`docs/benchmarks.md`, "Rebuild").
        let first_of_stream = incoming.version == 1;
        let exists = self
            .tickets
            .get(&ticket, || {
                if first_of_stream {
                    Ok(None)
                } else {
                    store::ticket(tree, ticket)
                }
            })?
            .is_some();
        match (exists, event) {
            (false, Event::TicketOpened(opened)) if opened.ticket_id.0 == ticket => {
                self.open(tree, incoming, event, opened)?;
                Ok(true)
            }
            (false, _) => Ok(false),
            (true, _) => {
                self.change(tree, incoming, ticket, event)?;
                Ok(true)
            }
        }
    }

    fn open(
        &mut self,
        tree: &sled::Tree,
        incoming: &Incoming,
        event: &Event,
        opened: &docket_domain::events::TicketOpened,
    ) -> Result<(), ProjectionError> {
        let at_unix_nanos = incoming.recorded_at_unix_nanos;
        let meta = meta(incoming);
        let org = &opened.org;
        let policy = policy_for(&mut self.policies, tree, org)?;
        let mut clocks = SlaClocks::new();
        clocks.apply(event, meta.recorded_at, policy);
        let record = TicketRecord {
            head: TicketHead::from_event(opened, meta.recorded_at),
            state: TicketState::opened(meta),
            comments: Vec::new(),
            clocks,
            kpi: KpiMarks::default(),
            indexed: Indexed::default(),
        };
        self.days
            .row(tree, org, at_unix_nanos, &opened.reason.category)?
            .opened += 1;
        let number = opened.number.value();
        let block = self
            .numbers
            .get_mut(&(number >> 8), || {
                store::get(tree, "number block", &number_key(number >> 8))
            })?
            .get_or_insert_with(Vec::new);
        let low = (number & 0xff) as u8;
        match block.binary_search_by_key(&low, |(low, _)| *low) {
            Ok(index) => block[index].1 = opened.ticket_id.0,
            Err(index) => block.insert(index, (low, opened.ticket_id.0)),
        }
        if let Some(order) = &opened.order {
            let key = order_key(&order.number, opened.ticket_id.0);
            self.batch
                .insert(key, store::encode_value("order entry", org)?);
        }
        if !self.known_orgs.contains(org) {
            if self.known_orgs.len() >= KNOWN_ORGS_MAX {
                self.known_orgs.clear();
            }
            self.known_orgs.insert(org.clone());
            self.batch.insert(store::org_key(org), &[][..]);
        }
        *self.tickets.get_mut(&opened.ticket_id.0, || Ok(None))? = Some(record);
        Ok(())
    }

    fn change(
        &mut self,
        tree: &sled::Tree,
        incoming: &Incoming,
        ticket: Uuid,
        event: &Event,
    ) -> Result<(), ProjectionError> {
        let ReadModels {
            tickets,
            days,
            policies,
            ..
        } = self;
        let Some(record) = tickets.get_mut(&ticket, || store::ticket(tree, ticket))? else {
            return Ok(());
        };
        let at_unix_nanos = incoming.recorded_at_unix_nanos;
        let meta = meta(incoming);
        let org = record.head.org.clone();
        let category = record.head.reason.category.clone();
        let opened_at_unix_nanos = keys::nanos(record.head.opened_at);
        let policy = policy_for(policies, tree, &org)?;
        let was_closed = record.state.status == Status::Closed;
        record.clocks.apply(event, meta.recorded_at, policy);
        if let Some(comment) = record.state.apply(meta, event) {
            record.comments.push(comment);
        }
        match event {
            Event::CommentAdded(comment)
                if comment.visibility == Visibility::Public
                    && comment.author.role.answers_for_org()
                    && !record.kpi.first_responded =>
            {
                record.kpi.first_responded = true;
                days.row(tree, &org, at_unix_nanos, &category)?
                    .first_response_s
                    .push(kpi::seconds_between(opened_at_unix_nanos, at_unix_nanos));
            }
            Event::Escalated(_) => days.row(tree, &org, at_unix_nanos, &category)?.escalated += 1,
            Event::RefundIssued(refund) => days
                .row(tree, &org, at_unix_nanos, &category)?
                .add_refund(refund.amount.currency, refund.amount.amount_minor),
            Event::TicketClosed(_) if !was_closed => {
                let row = days.row(tree, &org, at_unix_nanos, &category)?;
                row.closed += 1;
                row.resolution_s
                    .push(kpi::seconds_between(opened_at_unix_nanos, at_unix_nanos));
            }
            Event::FollowUpOpened(_) => {
                days.row(tree, &org, at_unix_nanos, &category)?.follow_ups += 1
            }
            _ => {}
        }
        if !record.kpi.first_response_counted {
            if let Some((due_at_unix_nanos, met)) = first_response_outcome(&record.clocks) {
                let row = days.row(tree, &org, due_at_unix_nanos, &category)?;
                if met {
                    row.sla_met += 1;
                } else {
                    row.sla_breached += 1;
                }
                record.kpi.first_response_counted = true;
            }
        }
        Ok(())
    }

    /// Ticket records changed since the last commit.
    pub(crate) fn changed_tickets(&self) -> usize {
        self.tickets.dirty_keys().len()
    }

    /// Everything changed since the last commit, as one batch; the caller
    /// adds the checkpoint and applies it. `history`: whether superseded
    /// inbox entries are kept for paging cursors (the copy is served and at
    /// the head) or deleted.
    /// `hand_over`: for a commit that need not be atomic, `(n, take)`:
    /// `take` gets the writes made so far every `n` ticket records, so that
    /// a writer can insert them while the rest is prepared; the batch
    /// returned is what is left.
    pub(crate) fn commit(
        &mut self,
        tree: &sled::Tree,
        checkpoint: &mut Checkpoint,
        history: InboxHistory,
        mut hand_over: Option<HandOver<'_>>,
    ) -> Result<store::Writes, ProjectionError> {
        let position = checkpoint.position;
        let mut batch = std::mem::take(&mut self.batch);
        // In key order, so that each chunk's records land in a few runs of
        // sled leaves (see `Writes::apply_one_by_one`).
        let mut dirty = self.tickets.dirty_keys().to_vec();
        dirty.sort_unstable();
        for (done, ticket) in dirty.into_iter().enumerate() {
            if let Some((every, take)) = hand_over.as_mut() {
                if done > 0 && done % (*every).max(1) == 0 {
                    take(std::mem::take(&mut batch))?;
                }
            }
            let Some(Some(record)) = self.tickets.dirty_mut(&ticket) else {
                continue;
            };
            let mut index = IndexWrites {
                tree,
                pages: &mut self.pages,
                batch: &mut batch,
                position,
                history,
            };
            index.ticket(record, ticket)?;
            batch.insert(
                store::ticket_key(ticket),
                store::encode_value("ticket record", record)?,
            );
        }
        self.days.write(&mut batch, position)?;
        for block in self.numbers.dirty_keys().to_vec() {
            if let Some(Some(numbers)) = self.numbers.dirty_mut(&block) {
                batch.insert(
                    number_key(block),
                    store::encode_value("number block", numbers)?,
                );
            }
        }
        for org in self.dirty_policies.drain(..) {
            if let Some(policy) = self.policies.get(&org) {
                batch.insert(
                    store::policy_key(&org),
                    store::encode_value("org policy", policy)?,
                );
            }
        }
        self.commits
            .remember(position, self.newest_log_time_unix_nanos);
        if history == InboxHistory::Retain {
            let floor = self.prune(tree, &mut batch, position)?;
            checkpoint.cursor_floor = checkpoint.cursor_floor.max(floor);
        } else {
            // Superseded entries were deleted, not retained: no snapshot
            // before this commit can be paged any more.
            checkpoint.cursor_floor = position;
        }
        self.pages.write(&mut batch)?;
        Ok(batch)
    }

    /// The batch is durable.
    pub(crate) fn committed(&mut self) {
        self.tickets.committed();
        self.pages.committed();
        self.days.committed();
        self.numbers.committed();
    }

    /// Deletes superseded inbox entries older than the retention; returns
    /// the position up to which every superseded entry is gone.
    fn prune(
        &mut self,
        tree: &sled::Tree,
        batch: &mut store::Writes,
        position: u64,
    ) -> Result<u64, ProjectionError> {
        let cutoff_unix_nanos = self
            .newest_log_time_unix_nanos
            .saturating_sub(RETAIN_LOG_NANOS);
        let prune_to = position
            .saturating_sub(RETAIN_POSITIONS)
            .max(self.commits.forget_until(cutoff_unix_nanos));
        if prune_to == 0 {
            return Ok(0);
        }
        let start = Key::new(keys::RETIRE);
        let end = Key::new(keys::RETIRE).u64(prune_to.saturating_add(1));
        for (pruned, entry) in tree.range(start.as_bytes()..end.as_bytes()).enumerate() {
            let (key, _) = entry?;
            let (until, space, suffix) = inbox::parse_retire_key(&key)
                .ok_or_else(|| ProjectionError::corrupt("retire key", "unparseable"))?;
            if pruned == PRUNE_PER_COMMIT {
                // Everything superseded before `until` is gone, not all of it.
                return Ok(until.saturating_sub(1));
            }
            self.pages.remove(tree, space, suffix)?;
            batch.remove(key.to_vec());
        }
        Ok(prune_to)
    }
}

/// What a commit does with the inbox entries it supersedes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InboxHistory {
    /// Kept for the paging cursors that may still read them, until the
    /// retention ends: the copy is served and at the head of the log.
    Retain,
    /// Deleted at once: a copy catching up or being built, whose older
    /// snapshots nobody is paging.
    Delete,
}

/// What a commit needs to rewrite a ticket's index entries.
struct IndexWrites<'a> {
    tree: &'a sled::Tree,
    pages: &'a mut Pages,
    batch: &'a mut store::Writes,
    position: u64,
    history: InboxHistory,
}

impl IndexWrites<'_> {
    /// Replaces the ticket's index entries that changed; records what the
    /// indexes now hold in `record.indexed`.
    fn ticket(&mut self, record: &mut TicketRecord, ticket: Uuid) -> Result<(), ProjectionError> {
        let org = record.head.org.clone();
        let pending = pending_clocks(record)?;
        let due_at_unix_nanos = pending.iter().map(|(clock, _)| clock.due_at).min();
        let inbox = self.inbox(record, ticket, due_at_unix_nanos)?;

        let sla_space = sla::space(&org);
        for old in &record.indexed.sla {
            let kept = pending
                .iter()
                .any(|(new, _)| new.kind == old.kind && new.due_at == old.due_at);
            if !kept {
                let suffix = sla::suffix(old.due_at, ticket, old.kind);
                self.pages.remove(self.tree, &sla_space, &suffix)?;
            }
        }
        for (new, value) in &pending {
            if !record.indexed.sla.contains(new) {
                let suffix = sla::suffix(new.due_at, ticket, new.kind);
                self.pages
                    .insert(self.tree, &sla_space, suffix, value.clone())?;
            }
        }
        record.indexed = Indexed {
            inbox: Some(inbox),
            sla: pending.into_iter().map(|(clock, _)| clock).collect(),
            due_at: due_at_unix_nanos,
        };
        Ok(())
    }

    /// The inbox entries whose place changed: the old one superseded (kept
    /// with its `until` while retaining, else deleted), the new one written.
    fn inbox(
        &mut self,
        record: &TicketRecord,
        ticket: Uuid,
        due_at_unix_nanos: Option<i64>,
    ) -> Result<IndexedInbox, ProjectionError> {
        let org = &record.head.org;
        let old = record.indexed.inbox;
        let mut new = IndexedInbox {
            status: record.state.status,
            escalated: record.state.escalated,
            updated_at: keys::nanos(record.state.updated_at),
            due_at: due_at_unix_nanos,
            from: old.map_or([0; 4], |old| old.from),
        };
        let old_slots = match &old {
            Some(old) => inbox::slot_keys(org, ticket, old),
            None => [None, None, None, None],
        };
        let new_slots = inbox::slot_keys(org, ticket, &new);
        let value = InboxValue {
            until: u64::MAX,
            org: org.clone(),
            category: record.head.reason.category.clone(),
            opened_at: keys::nanos(record.head.opened_at),
            sales_channel: record.head.sales_channel.clone(),
        };
        for slot in 0..4 {
            if old_slots[slot] == new_slots[slot] {
                continue;
            }
            if let (Some(old_slot), Some(old)) = (&old_slots[slot], &old) {
                let suffix = inbox::entry_suffix(old_slot, old.from[slot]);
                if self.history == InboxHistory::Retain {
                    let retired = store::encode(
                        "inbox entry",
                        &InboxValue {
                            until: self.position,
                            ..value.clone()
                        },
                    )?;
                    self.batch.insert(
                        inbox::retire_key(self.position, &old_slot.space, &suffix),
                        &[][..],
                    );
                    self.pages
                        .update(self.tree, &old_slot.space, &suffix, |v| *v = retired)?;
                } else {
                    self.pages.remove(self.tree, &old_slot.space, &suffix)?;
                }
            }
            if let Some(new_slot) = &new_slots[slot] {
                let suffix = inbox::entry_suffix(new_slot, self.position);
                let encoded = store::encode("inbox entry", &value)?;
                self.pages
                    .insert(self.tree, &new_slot.space, suffix, encoded)?;
                new.from[slot] = self.position;
            }
        }
        Ok(new)
    }
}

/// The pending clocks with their due times and encoded SLA entries: one
/// calendar walk per running clock.
fn pending_clocks(record: &TicketRecord) -> Result<Vec<(IndexedClock, Vec<u8>)>, ProjectionError> {
    let mut pending = Vec::new();
    for clock in record.clocks.clocks() {
        let Some(due_at) = clock.due_at() else {
            continue;
        };
        let value = store::encode(
            "sla entry",
            &SlaValue {
                number: record.head.number,
                category: record.head.reason.category.clone(),
                clock: clock.clone(),
            },
        )?;
        pending.push((
            IndexedClock {
                kind: clock.kind,
                due_at: keys::nanos(due_at),
                running: matches!(clock.state, ClockState::Running { .. }),
                fingerprint: fnv1a(&value),
            },
            value,
        ));
    }
    Ok(pending)
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The first-response clock's final outcome, if it has one:
/// `(due_at_unix_nanos, met)`.
/// Right after `SlaClocks::apply(.., at, ..)` a running clock is not past
/// due at `at` (apply records earlier breaches first), so running clocks
/// have none and cost no calendar walk here.
fn first_response_outcome(clocks: &SlaClocks) -> Option<(i64, bool)> {
    let clock = clocks
        .clocks()
        .iter()
        .find(|clock| clock.kind == ClockKind::FirstResponse)?;
    match clock.state {
        ClockState::Met {
            due_at: Some(due_at),
            ..
        } => Some((keys::nanos(due_at), true)),
        ClockState::Breached { due_at, .. } => Some((keys::nanos(due_at), false)),
        _ => None,
    }
}

fn policy_for<'a>(
    policies: &'a mut HashMap<OrgId, OrgPolicy>,
    tree: &sled::Tree,
    org: &OrgId,
) -> Result<&'a OrgPolicy, ProjectionError> {
    if !policies.contains_key(org) {
        let policy = store::policy(tree, org)?;
        policies.insert(org.clone(), policy);
    }
    Ok(policies
        .get(org)
        .expect("the policy was just inserted if it was missing"))
}

fn meta(incoming: &Incoming) -> EventMeta {
    EventMeta {
        position: incoming.position,
        version: incoming.version,
        recorded_at: keys::instant(incoming.recorded_at_unix_nanos),
    }
}

/// `ticket-{uuid}` → the uuid.
pub(crate) fn ticket_of_stream(stream: &str) -> Option<Uuid> {
    Uuid::parse_str(stream.strip_prefix("ticket-")?).ok()
}

pub(crate) fn number_key(block: u64) -> Key {
    Key::new(keys::NUMBER).u64(block)
}

pub(crate) fn order_key(order_number: &str, ticket: Uuid) -> Key {
    order_prefix(order_number).uuid(ticket)
}

pub(crate) fn order_prefix(order_number: &str) -> Key {
    Key::new(keys::ORDER).str(order_number)
}

#[cfg(test)]
mod tests {
    use super::{CommitTimes, COMMITS_REMEMBERED_MAX};

    const NANOS_PER_SECOND: i64 = 1_000_000_000;

    #[test]
    fn commits_are_remembered_once_per_second_of_log_time_so_a_busy_hour_fits() {
        let mut commits = CommitTimes::default();
        // An hour at 200 commits a second: 720,000 commits, ten times the
        // number of entries kept.
        let per_second = 200;
        for elapsed_s in 0..3_600i64 {
            for i in 0..per_second {
                let position = (elapsed_s * per_second + i + 1) as u64;
                let log_time_unix_nanos =
                    elapsed_s * NANOS_PER_SECOND + i * (NANOS_PER_SECOND / per_second);
                commits.remember(position, log_time_unix_nanos);
            }
        }
        assert_eq!(commits.0.len(), 3_600);
        assert!(commits.0.len() <= COMMITS_REMEMBERED_MAX);
        // Nothing newer than the cutoff goes: with the hour's start as the
        // cutoff, only the commits of its first second may be pruned.
        assert_eq!(commits.forget_until(0), 1);
        assert_eq!(commits.forget_until(NANOS_PER_SECOND / 2), 0);
        // Half an hour in: up to the first commit of the second at 1,800 s.
        let forgotten = commits.forget_until(1_800 * NANOS_PER_SECOND);
        assert_eq!(forgotten, (1_800 * per_second + 1) as u64);
        assert_eq!(commits.0.len(), 1_799);
    }
}
