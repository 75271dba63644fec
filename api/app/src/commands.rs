//! The command service: load the stream, decide, append, answer. (Past
//! ~600 lines: the one loop every command shares, its answers and caches;
//! text modules and attachments add their commands in their own modules.)
//!
//! A handler parses the request into a domain command and calls one function
//! here. Each command runs the same loop: claim the idempotency key, fold the
//! ticket's stream, call the pure decider, and append the events expecting
//! the version the decision was made on, with the idempotency record in the
//! same commit. A concurrent writer to the same ticket makes the append
//! fail; without `If-Match` the command is decided again on the new state (at
//! most `DECIDE_ATTEMPTS_MAX` times), with `If-Match` it answers 412.
//!
//! A retried command is answered with its recorded response: the store's
//! writer finds the key and returns the record instead of appending, and a
//! retry that no longer decides (the ticket moved on: 409, 412, ...) looks
//! the record up before answering the error. The record is not looked up
//! before deciding: that would be one random sled read on every command for
//! the rare retry (`docs/benchmarks.md`, "HTTP commands (docketd)").
//!
//! Folded tickets are cached between commands: a stream is append-only, so
//! a state folded to version v stays true and a load reads only the events
//! after v (one index range, usually one event) instead of the whole stream
//! (`docs/benchmarks.md`, "HTTP commands (docketd)").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use docket_domain::access::Action;
use docket_domain::codec;
use docket_domain::policy::{apply_policy, decide_policy, OrgPolicy, SetPolicy};
use docket_domain::text_module::TextModules;
use docket_domain::ticket::{self, Command, CommentText, Context, OpenFollowUp, Ticket};
use docket_domain::types::{Actor, OrgId, Status, TicketId, TicketNumber};
use docket_domain::Event;
use docket_eventstore::{
    AppendOutcome, AppendRequest, EnvelopeActor, ExpectedVersion, IdempotencyRecord, NewEvent,
    NewIdempotencyRecord, Store, StoreError, StreamAppend,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::{unix_nanos, ServerClock};
use crate::error::AppError;
use crate::idempotency::{InFlight, ScopedKey};

/// Decisions retried after losing a race for the same stream, before 409.
pub const DECIDE_ATTEMPTS_MAX: usize = 32;

/// Folded tickets kept by `load_ticket`; the cache is cleared when full
/// (a few hundred tickets are live at once even at 256 clients).
pub const TICKET_CACHE_MAX: usize = 4096;

/// What every command request brings besides its body.
pub struct CommandMeta {
    /// Who asks.
    pub actor: Actor,
    /// The request's `Idempotency-Key`, scoped by the actor.
    pub idempotency: Option<ScopedKey>,
    /// The ticket version the caller's `If-Match` requires.
    pub if_match: Option<u64>,
    /// What makes a retry "the same request" (`idempotency::fingerprint`).
    pub fingerprint: [u8; 32],
    /// Recorded in every event's envelope (the request id).
    pub correlation_id: Uuid,
}

/// Whether a command made a new ticket or changed one. Recorded with the
/// key's answer as the HTTP status it was first given (201 or 200), so
/// idempotency records written before this type existed read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub enum Outcome {
    /// A new ticket (open, follow-up): 201 with `Location`.
    Created,
    /// A change to an existing ticket: 200.
    Changed,
}

impl From<Outcome> for u16 {
    fn from(outcome: Outcome) -> u16 {
        match outcome {
            Outcome::Created => 201,
            Outcome::Changed => 200,
        }
    }
}

impl TryFrom<u16> for Outcome {
    type Error = String;

    fn try_from(status: u16) -> Result<Outcome, String> {
        match status {
            201 => Ok(Outcome::Created),
            200 => Ok(Outcome::Changed),
            other => Err(format!("a recorded answer has status {other}")),
        }
    }
}

/// A command's success answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Recorded under the field name `status` (see [`Outcome`]).
    #[serde(rename = "status")]
    pub outcome: Outcome,
    /// The new resource's path, for a created one.
    pub location: Option<String>,
    /// The contract's success body.
    pub body: AnswerBody,
}

/// The contract's success body of a command: a ticket command's or a text
/// module's. Untagged, so a recorded ticket answer reads as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerBody {
    /// Open, comment, escalate, refund, close, follow-up.
    Ticket(TicketAnswer),
    /// A text module saved or removed.
    TextModule(crate::text_modules::TextModuleAnswer),
}

impl AnswerBody {
    /// The version the `ETag` names: the ticket's, or the module name's.
    pub fn version(&self) -> u64 {
        match self {
            AnswerBody::Ticket(ticket) => ticket.version,
            AnswerBody::TextModule(module) => module.version(),
        }
    }

    /// The log position of the command's last event.
    pub fn position(&self) -> u64 {
        match self {
            AnswerBody::Ticket(ticket) => ticket.position,
            AnswerBody::TextModule(module) => module.position(),
        }
    }

    fn set_position(&mut self, position: u64) {
        match self {
            AnswerBody::Ticket(ticket) => ticket.position = position,
            AnswerBody::TextModule(module) => module.set_position(position),
        }
    }
}

/// Whether an answer carries the ticket's running refund total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundTotal {
    /// With `refunded_minor`.
    Included,
    /// Without it.
    Omitted,
}

/// The contract's success body of a ticket command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAnswer {
    /// The ticket the command made or changed.
    pub ticket_id: TicketId,
    /// Its human number.
    pub number: TicketNumber,
    /// Its status after the command.
    pub status: Status,
    /// The ticket's stream version after the command.
    pub version: u64,
    /// The log position of the command's last event.
    pub position: u64,
    /// The running refund total (refunds, opens and follow-ups only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refunded_minor: Option<u64>,
    /// The parent, for a follow-up.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub follow_up_of: Option<TicketId>,
    /// The attachment an attach command added.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attachment: Option<crate::attachments::AttachmentAnswer>,
}

/// The success answer of a policy change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAnswer {
    /// The org whose policy it is.
    pub org: OrgId,
    /// The policy now in force.
    pub policy: OrgPolicy,
    /// The policy stream's version.
    pub version: u64,
    /// The log position of the policy's event.
    pub position: u64,
}

/// The command service: every command of every edge goes through it.
#[derive(Clone)]
pub struct Commands {
    store: Store,
    clock: ServerClock,
    in_flight: InFlight,
    /// Policies by org, with the stream version they were folded at. Only
    /// this process writes policies, and it updates the cache after each
    /// append, so a cached policy is never stale.
    policies: Arc<RwLock<HashMap<OrgId, (u64, OrgPolicy)>>>,
    /// Tickets as last folded from durable events (see the module doc).
    tickets: Arc<Mutex<HashMap<TicketId, Ticket>>>,
    /// Orgs' text modules as last folded, the same way (`text_modules.rs`).
    pub(crate) text_modules: Arc<Mutex<HashMap<OrgId, TextModules>>>,
}

/// One decision, ready to append.
pub(crate) struct Plan {
    pub(crate) request_streams: Vec<StreamAppend>,
    pub(crate) answer: Answer,
    /// The instant the decision was made at: the events' recorded time and
    /// the idempotency record's.
    pub(crate) now: OffsetDateTime,
}

impl Commands {
    /// A service appending to `store`, recording `clock`'s time.
    pub fn new(store: Store, clock: ServerClock) -> Commands {
        Commands {
            store,
            clock,
            in_flight: InFlight::default(),
            policies: Arc::default(),
            tickets: Arc::default(),
            text_modules: Arc::default(),
        }
    }

    /// The clock every event records.
    pub fn clock(&self) -> &ServerClock {
        &self.clock
    }

    /// Opens a ticket. `build` turns fresh ids into the domain command.
    pub async fn open(
        &self,
        meta: CommandMeta,
        requested_org: Option<OrgId>,
        build: impl Fn(TicketId, TicketNumber) -> Command,
    ) -> Result<Answer, AppError> {
        self.run(&meta, || async {
            // The role first, as `decide` would: a support or admin token
            // (org `*`) without `org` is refused as a role (403), not asked
            // for the org it may not open in anyway (422).
            Action::OpenTicket.permit(meta.actor.role)?;
            if meta.if_match.is_some_and(|v| v != 0) {
                return Err(AppError::VersionMismatch);
            }
            let org = ticket::org_for_open(&meta.actor, requested_org.as_ref())?;
            let policy = self.policy(&org)?;
            let (ticket_id, number) = self.fresh_ticket().await?;
            let command = build(ticket_id, number);
            let context = self.context(&meta.actor, policy);
            let events = ticket::decide(&ticket::initial(), &command, &context)?;
            let state = ticket::fold(&events);
            Ok(Plan {
                answer: answer_for(&state, Outcome::Created, RefundTotal::Included),
                request_streams: vec![StreamAppend {
                    stream: ticket_id.stream(),
                    expected: ExpectedVersion::NoStream,
                    events: envelopes(&meta, &events, context.now, None),
                }],
                now: context.now,
            })
        })
        .await
    }

    /// Decides a command on an existing ticket.
    pub async fn on_ticket(
        &self,
        meta: CommandMeta,
        ticket_id: TicketId,
        command: Command,
    ) -> Result<Answer, AppError> {
        self.run(&meta, || async {
            let state = self.load_ticket(ticket_id)?;
            // The role and the ticket first, then `If-Match` (a stale
            // version is 412 whatever the ticket has become), then the rules.
            ticket::authorize(&state, &command, &meta.actor)?;
            check_if_match(meta.if_match, state.version)?;
            let policy = match &state.opened {
                Some(opened) => self.policy(&opened.org)?,
                None => OrgPolicy::default(),
            };
            let mut context = self.context(&meta.actor, policy);
            if let (Command::Comment(comment), Some(opened)) = (&command, &state.opened) {
                if let CommentText::FromModule(_) = comment.body {
                    context.text_modules = self.text_modules_of(&opened.org)?;
                }
            }
            let events = ticket::decide(&state, &command, &context)?;
            let version = state.version;
            let after = events.iter().fold(state, ticket::apply);
            let refund_total = match command {
                Command::Refund(_) => RefundTotal::Included,
                _ => RefundTotal::Omitted,
            };
            Ok(Plan {
                answer: answer_for(&after, Outcome::Changed, refund_total),
                request_streams: vec![StreamAppend {
                    stream: ticket_id.stream(),
                    expected: ExpectedVersion::Exact(version),
                    events: envelopes(&meta, &events, context.now, None),
                }],
                now: context.now,
            })
        })
        .await
    }

    /// Opens a follow-up of a closed ticket: both streams in one append.
    pub async fn follow_up(
        &self,
        meta: CommandMeta,
        parent_id: TicketId,
        build: impl Fn(TicketId, TicketNumber) -> OpenFollowUp,
    ) -> Result<Answer, AppError> {
        self.run(&meta, || async {
            let parent = self.load_ticket(parent_id)?;
            ticket::authorize_follow_up(&parent, &meta.actor)?;
            check_if_match(meta.if_match, parent.version)?;
            let policy = match &parent.opened {
                Some(opened) => self.policy(&opened.org)?,
                None => OrgPolicy::default(),
            };
            let (ticket_id, number) = self.fresh_ticket().await?;
            let command = build(ticket_id, number);
            let context = self.context(&meta.actor, policy);
            let decision = ticket::decide_follow_up(&parent, &command, &context)?;
            let new_events = envelopes(&meta, &decision.new_ticket, context.now, None);
            let cause = new_events.first().map(|e| e.event_id);
            let parent_events = envelopes(&meta, &decision.parent, context.now, cause);
            let state = ticket::fold(&decision.new_ticket);
            Ok(Plan {
                answer: answer_for(&state, Outcome::Created, RefundTotal::Included),
                request_streams: vec![
                    StreamAppend {
                        stream: ticket_id.stream(),
                        expected: ExpectedVersion::NoStream,
                        events: new_events,
                    },
                    StreamAppend {
                        stream: parent_id.stream(),
                        expected: ExpectedVersion::Exact(parent.version),
                        events: parent_events,
                    },
                ],
                now: context.now,
            })
        })
        .await
    }

    /// Records a new policy for `org` (admin only; the domain checks).
    pub async fn set_policy(
        &self,
        actor: &Actor,
        org: OrgId,
        command: SetPolicy,
    ) -> Result<PolicyAnswer, AppError> {
        let meta = CommandMeta {
            actor: actor.clone(),
            idempotency: None,
            if_match: None,
            fingerprint: [0; 32],
            correlation_id: Uuid::now_v7(),
        };
        let stream = org.policy_stream();
        for _ in 0..DECIDE_ATTEMPTS_MAX {
            let (version, current) = self.load_policy(&org)?;
            let context = self.context(actor, current);
            let events = decide_policy(&command, &context)?;
            let policy = events.iter().fold(context.policy.clone(), apply_policy);
            let request = AppendRequest {
                streams: vec![StreamAppend {
                    stream: stream.clone(),
                    expected: ExpectedVersion::Exact(version),
                    events: envelopes(&meta, &events, context.now, None),
                }],
                idempotency: None,
            };
            match self.store.append(request).await {
                Ok(AppendOutcome::Committed {
                    last_position,
                    stream_versions,
                    ..
                }) => {
                    let version = stream_versions.first().copied().unwrap_or(version);
                    self.cache_policy(&org, version, &policy);
                    return Ok(PolicyAnswer {
                        org,
                        policy,
                        version,
                        position: last_position,
                    });
                }
                Ok(AppendOutcome::Duplicate(_)) => {
                    return Err(AppError::Unexpected(
                        "a policy append carries no idempotency key",
                    ))
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(AppError::Contended)
    }

    /// The policy in force for `org` now.
    pub fn policy(&self, org: &OrgId) -> Result<OrgPolicy, AppError> {
        if let Some((_, policy)) = self
            .policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(org)
        {
            return Ok(policy.clone());
        }
        let (version, policy) = self.load_policy(org)?;
        self.cache_policy(org, version, &policy);
        Ok(policy)
    }

    /// The policy in force for `org` now, with its stream version.
    pub fn policy_with_version(&self, org: &OrgId) -> Result<(u64, OrgPolicy), AppError> {
        self.load_policy(org)
    }

    /// The log commands append to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Folds a ticket's stream: the cached fold, plus the durable events
    /// after it.
    pub fn load_ticket(&self, ticket_id: TicketId) -> Result<Ticket, AppError> {
        let cached = self
            .tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ticket_id)
            .cloned();
        let mut state = cached.unwrap_or_else(ticket::initial);
        let recorded =
            self.store
                .read_stream_range(&ticket_id.stream(), state.version + 1, usize::MAX)?;
        if recorded.is_empty() {
            return Ok(state);
        }
        for entry in &recorded {
            let event = crate::decode(entry, "event")?;
            state = ticket::apply(state, &event);
        }
        self.cache_ticket(ticket_id, &state);
        Ok(state)
    }

    fn cache_ticket(&self, ticket_id: TicketId, state: &Ticket) {
        let mut cache = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= TICKET_CACHE_MAX && !cache.contains_key(&ticket_id) {
            cache.clear();
        }
        let newer = cache
            .get(&ticket_id)
            .is_none_or(|cached| cached.version < state.version);
        if newer {
            cache.insert(ticket_id, state.clone());
        }
    }

    fn load_policy(&self, org: &OrgId) -> Result<(u64, OrgPolicy), AppError> {
        let recorded = self.store.read_stream(&org.policy_stream())?;
        let mut policy = OrgPolicy::default();
        for entry in &recorded {
            let event = crate::decode(entry, "policy event")?;
            policy = apply_policy(policy, &event);
        }
        Ok((recorded.len() as u64, policy))
    }

    fn cache_policy(&self, org: &OrgId, version: u64, policy: &OrgPolicy) {
        let mut cache = self.policies.write().unwrap_or_else(|p| p.into_inner());
        let newer = cache.get(org).is_none_or(|(cached, _)| *cached < version);
        if newer {
            cache.insert(org.clone(), (version, policy.clone()));
        }
    }

    pub(crate) fn context(&self, actor: &Actor, policy: OrgPolicy) -> Context {
        Context {
            now: self.clock.now(),
            actor: actor.clone(),
            policy,
            text_modules: TextModules::default(),
        }
    }

    async fn fresh_ticket(&self) -> Result<(TicketId, TicketNumber), AppError> {
        let sequence = self.store.next_sequence().await?;
        let number =
            TicketNumber::from_sequence(sequence).ok_or(AppError::TicketNumbersExhausted)?;
        Ok((TicketId(Uuid::now_v7()), number))
    }

    /// The loop every ticket command shares (see the module doc).
    pub(crate) async fn run<F, Fut>(&self, meta: &CommandMeta, plan: F) -> Result<Answer, AppError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Plan, AppError>>,
    {
        let _claim = match &meta.idempotency {
            Some(key) => Some(self.in_flight.claim(key)?),
            None => None,
        };
        let refused = match self.decide_and_append(meta, plan).await {
            Ok(answer) => return Ok(answer),
            Err(refused) => refused,
        };
        // A retry of a command that succeeded may no longer decide (the
        // ticket moved on): its recorded answer, not today's error.
        if let Some(key) = &meta.idempotency {
            let now = unix_nanos(self.clock.now());
            let recorded = self.store.idempotency_record(&key.store_key, now)?;
            if let Some(record) = recorded {
                return replay(&record, &meta.fingerprint);
            }
        }
        Err(refused)
    }

    async fn decide_and_append<F, Fut>(
        &self,
        meta: &CommandMeta,
        plan: F,
    ) -> Result<Answer, AppError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Plan, AppError>>,
    {
        for _ in 0..DECIDE_ATTEMPTS_MAX {
            let Plan {
                request_streams,
                answer,
                now,
            } = plan().await?;
            let idempotency = match &meta.idempotency {
                Some(key) => Some(NewIdempotencyRecord {
                    key: key.store_key.clone(),
                    fingerprint: meta.fingerprint,
                    response: serde_json::to_vec(&answer).map_err(|e| {
                        AppError::IdempotencyRecord(format!("cannot record the answer: {e}"))
                    })?,
                    recorded_at_unix_nanos: unix_nanos(now),
                }),
                None => None,
            };
            let request = AppendRequest {
                streams: request_streams,
                idempotency,
            };
            match self.store.append(request).await {
                Ok(AppendOutcome::Committed { last_position, .. }) => {
                    let mut answer = answer;
                    answer.body.set_position(last_position);
                    return Ok(answer);
                }
                Ok(AppendOutcome::Duplicate(record)) => return replay(&record, &meta.fingerprint),
                Err(StoreError::VersionMismatch { .. }) if meta.if_match.is_some() => {
                    return Err(AppError::VersionMismatch)
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(AppError::Contended)
    }
}

/// The store's envelopes of `events`, recorded at `now`.
pub(crate) fn envelopes(
    meta: &CommandMeta,
    events: &[Event],
    now: OffsetDateTime,
    causation_id: Option<Uuid>,
) -> Vec<NewEvent> {
    let recorded_at_unix_nanos = unix_nanos(now);
    events
        .iter()
        .map(|event| {
            let encoded = codec::encode(event);
            NewEvent {
                event_id: Uuid::now_v7(),
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                recorded_at_unix_nanos,
                actor: EnvelopeActor {
                    sub: meta.actor.sub.clone(),
                    role: meta.actor.role.as_str().to_owned(),
                    org: meta.actor.org.to_string(),
                },
                correlation_id: meta.correlation_id,
                causation_id,
                idempotency_key: meta.idempotency.as_ref().map(|k| k.key.clone()),
                payload: encoded.payload,
            }
        })
        .collect()
}

/// The recorded answer of a retried command, or 422 if the key was used for
/// another request.
fn replay(record: &IdempotencyRecord, fingerprint: &[u8; 32]) -> Result<Answer, AppError> {
    if record.fingerprint != *fingerprint {
        return Err(AppError::IdempotencyKeyReused);
    }
    let mut answer: Answer = serde_json::from_slice(&record.response)
        .map_err(|e| AppError::IdempotencyRecord(format!("unreadable idempotency record: {e}")))?;
    answer.body.set_position(record.last_position);
    Ok(answer)
}

pub(crate) fn answer_for(state: &Ticket, outcome: Outcome, refund_total: RefundTotal) -> Answer {
    let opened = state
        .opened
        .as_ref()
        .expect("a successful ticket decision leaves an opened ticket");
    Answer {
        outcome,
        location: (outcome == Outcome::Created)
            .then(|| format!("/v1/tickets/{}", opened.ticket_id)),
        body: AnswerBody::Ticket(TicketAnswer {
            ticket_id: opened.ticket_id,
            number: opened.number,
            status: opened.status,
            version: state.version,
            position: 0,
            refunded_minor: (refund_total == RefundTotal::Included)
                .then_some(opened.refunded_minor),
            follow_up_of: opened.follow_up_of,
            attachment: None,
        }),
    }
}

pub(crate) fn check_if_match(if_match: Option<u64>, version: u64) -> Result<(), AppError> {
    match if_match {
        Some(expected) if expected != version => Err(AppError::VersionMismatch),
        _ => Ok(()),
    }
}
