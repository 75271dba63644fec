//! A log in memory and builders of events, for the read-model tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use docket_domain::attachment::MediaType;
use docket_domain::calendar::{BusinessCalendar, CalendarSpec};
use docket_domain::codec;
use docket_domain::contact::{Contact, ContactName, EmailAddress, Language, SalesChannel};
use docket_domain::events::{
    AttachmentAdded, CommentAdded, Escalated, Event, FollowUpOpened, PolicySet, RefundIssued,
    TextModuleRemoved, TextModuleSaved, TicketClosed, TicketOpened,
};
use docket_domain::policy::OrgPolicy;
use docket_domain::types::{
    Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution,
    Role, TicketId, TicketNumber, Visibility,
};
use docket_eventstore::{EnvelopeActor, RecordedEvent, StoredEvent};
use docket_projections::{EventFeed, FeedSource, ProjectionError, RunConfig, Views};

/// An event log held in memory, as the store would record it.
#[derive(Default, Clone)]
pub struct Log {
    pub events: Vec<RecordedEvent>,
    versions: HashMap<String, u64>,
    next_number: u64,
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn head(&self) -> u64 {
        self.events.len() as u64
    }

    /// Appends an event to `stream` at `at`; returns its position.
    pub fn push(&mut self, stream: &str, at: OffsetDateTime, event: &Event) -> u64 {
        let encoded = codec::encode(event);
        self.push_raw(
            stream,
            at,
            encoded.event_type,
            encoded.schema_version,
            encoded.payload,
        )
    }

    pub fn push_raw(
        &mut self,
        stream: &str,
        at: OffsetDateTime,
        event_type: &str,
        schema_version: u16,
        payload: Vec<u8>,
    ) -> u64 {
        let version = self.versions.entry(stream.to_owned()).or_insert(0);
        *version += 1;
        let position = self.events.len() as u64 + 1;
        self.events.push(RecordedEvent {
            position,
            stream: stream.to_owned(),
            version: *version,
            event_id: Uuid::from_u128(u128::from(position)),
            event_type: event_type.to_owned(),
            schema_version,
            recorded_at_unix_nanos: i64::try_from(at.unix_timestamp_nanos()).expect("in range"),
            actor: EnvelopeActor::default(),
            correlation_id: Uuid::from_u128(u128::from(position)),
            causation_id: None,
            idempotency_key: None,
            payload,
            hash: [0; 32],
        });
        position
    }

    pub fn source(&self) -> MemorySource {
        MemorySource {
            events: Arc::new(self.events.iter().map(StoredEvent::from_recorded).collect()),
            read_delay: Duration::ZERO,
        }
    }

    /// Opens a ticket; returns its id.
    pub fn open(&mut self, at: OffsetDateTime, org: &str, category: &str) -> TicketId {
        self.open_with(at, org, category, None, None)
    }

    pub fn open_with(
        &mut self,
        at: OffsetDateTime,
        org: &str,
        category: &str,
        order: Option<(&str, u64, &str)>,
        follow_up_of: Option<TicketId>,
    ) -> TicketId {
        self.next_number += 1;
        let number = TicketNumber::from_sequence(self.next_number).expect("in range");
        let ticket = TicketId(Uuid::from_u128(0x1000_0000 + u128::from(self.next_number)));
        let opened = TicketOpened {
            ticket_id: ticket,
            number,
            org: org_id(org),
            subject: format!("ticket {}", self.next_number),
            description: "something broke".to_owned(),
            reason: Reason {
                category: category.to_owned(),
                detail: None,
            },
            order: order.map(|(number, amount_minor, currency)| Order {
                number: number.to_owned(),
                amount: Money {
                    amount_minor,
                    currency: Currency::parse(currency).expect("currency"),
                },
            }),
            customer_code: None,
            incident_date: None,
            impact: Impact::Medium,
            channel: Channel::Portal,
            opened_by: author(Role::Customer),
            follow_up_of,
            // Tickets about an order say who asked and where it was bought.
            contact: order.map(|(number, _, _)| Contact {
                email: EmailAddress::parse(&format!("buyer-{number}@example.com")).expect("email"),
                name: Some(ContactName::parse("Anna Rossi").expect("name")),
                language: Language::It,
            }),
            sales_channel: order.map(|_| SalesChannel::parse("kaufland.de").expect("channel")),
        };
        self.push(&ticket.stream(), at, &Event::TicketOpened(opened));
        ticket
    }

    pub fn number_of(&self, ticket: TicketId) -> TicketNumber {
        let stream = ticket.stream();
        let event = self
            .events
            .iter()
            .find(|e| e.stream == stream && e.version == 1)
            .expect("opened");
        match codec::decode(&event.event_type, event.schema_version, &event.payload) {
            Ok(Event::TicketOpened(opened)) => opened.number,
            other => panic!("not an open: {other:?}"),
        }
    }

    pub fn comment(
        &mut self,
        at: OffsetDateTime,
        ticket: TicketId,
        role: Role,
        visibility: Visibility,
    ) -> u64 {
        let position = self.head() + 1;
        self.push(
            &ticket.stream(),
            at,
            &Event::CommentAdded(CommentAdded {
                comment_id: Uuid::from_u128(0x2000_0000 + u128::from(position)),
                author: author(role),
                body: format!("comment {position}"),
                visibility,
                text_module: None,
            }),
        )
    }

    pub fn escalate(&mut self, at: OffsetDateTime, ticket: TicketId) -> u64 {
        self.push(
            &ticket.stream(),
            at,
            &Event::Escalated(Escalated {
                reason: EscalationReason::CannotHelp,
                note: None,
                escalated_by: author(Role::Agent),
            }),
        )
    }

    pub fn refund(
        &mut self,
        at: OffsetDateTime,
        ticket: TicketId,
        amount_minor: u64,
        currency: &str,
    ) -> u64 {
        let position = self.head() + 1;
        self.push(
            &ticket.stream(),
            at,
            &Event::RefundIssued(RefundIssued {
                refund_id: Uuid::from_u128(0x3000_0000 + u128::from(position)),
                amount: Money {
                    amount_minor,
                    currency: Currency::parse(currency).expect("currency"),
                },
                reason: "sorry".to_owned(),
                issued_by: author(Role::Agent),
            }),
        )
    }

    pub fn close(&mut self, at: OffsetDateTime, ticket: TicketId) -> u64 {
        self.push(
            &ticket.stream(),
            at,
            &Event::TicketClosed(TicketClosed {
                resolution: Resolution::Resolved,
                note: None,
                closed_by: author(Role::Agent),
            }),
        )
    }

    /// A follow-up of a closed `parent`: the new ticket's open and the
    /// parent's link, as one append. Returns the new ticket.
    pub fn follow_up(
        &mut self,
        at: OffsetDateTime,
        parent: TicketId,
        org: &str,
        category: &str,
    ) -> TicketId {
        let ticket = self.open_with(at, org, category, None, Some(parent));
        let number = self.number_of(ticket);
        self.push(
            &parent.stream(),
            at,
            &Event::FollowUpOpened(FollowUpOpened {
                follow_up_id: ticket,
                follow_up_number: number,
                opened_by: author(Role::Customer),
            }),
        );
        ticket
    }

    /// Adds an attachment to `ticket`.
    pub fn attach(&mut self, at: OffsetDateTime, ticket: TicketId, visibility: Visibility) -> u64 {
        let position = self.head() + 1;
        self.push(
            &ticket.stream(),
            at,
            &Event::AttachmentAdded(AttachmentAdded {
                attachment_id: Uuid::from_u128(0x3000_0000 + u128::from(position)),
                filename: format!("photo {position}.jpg"),
                media_type: MediaType::Jpeg,
                size: 1_000 + position,
                sha256: format!("{position:064x}"),
                visibility,
                author: author(Role::Customer),
            }),
        )
    }

    /// Saves text module `name` of `org` at `version`, for `channels`.
    pub fn save_text_module(
        &mut self,
        at: OffsetDateTime,
        org: &str,
        name: &str,
        version: u64,
        channels: &[&str],
    ) -> u64 {
        let org = org_id(org);
        self.push(
            &format!("text-modules-{org}"),
            at,
            &Event::TextModuleSaved(TextModuleSaved {
                org,
                name: name.to_owned(),
                version,
                title: format!("{name} v{version}"),
                body: "Hello {{contact.name}}, about {{ ticket.number }}.".to_owned(),
                sales_channels: channels
                    .iter()
                    .map(|c| SalesChannel::parse(c).expect("channel"))
                    .collect(),
                saved_by: author(Role::Agent),
            }),
        )
    }

    /// Removes text module `name` of `org` at `version`.
    pub fn remove_text_module(
        &mut self,
        at: OffsetDateTime,
        org: &str,
        name: &str,
        version: u64,
    ) -> u64 {
        let org = org_id(org);
        self.push(
            &format!("text-modules-{org}"),
            at,
            &Event::TextModuleRemoved(TextModuleRemoved {
                org,
                name: name.to_owned(),
                version,
                removed_by: author(Role::Admin),
            }),
        )
    }

    pub fn policy(&mut self, at: OffsetDateTime, org: &str, policy: OrgPolicy) -> u64 {
        let org = org_id(org);
        self.push(
            &org.policy_stream(),
            at,
            &Event::PolicySet(PolicySet {
                org,
                policy,
                set_by: author(Role::Admin),
            }),
        )
    }
}

pub fn org_id(text: &str) -> OrgId {
    OrgId::parse(text).expect("org id")
}

pub fn author(role: Role) -> Author {
    Author {
        sub: format!("{}-1", role.as_str()),
        role,
    }
}

pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
}

/// First response `first_h`, next response `next_h`, resolution `resolution_h`
/// business hours on a calendar with `hours` (e.g. "09:00-17:00") Mon–Fri, UTC.
pub fn policy(first_h: u32, next_h: u32, resolution_h: Option<u32>, hours: &str) -> OrgPolicy {
    OrgPolicy {
        first_response_hours: first_h,
        next_response_hours: next_h,
        resolution_hours: resolution_h,
        calendar: BusinessCalendar::from_spec(&CalendarSpec {
            hours: Some(hours.to_owned()),
            ..CalendarSpec::default()
        })
        .expect("calendar"),
        ..OrgPolicy::default()
    }
}

/// The events of a [`Log`] as a feed source.
#[derive(Clone)]
pub struct MemorySource {
    events: Arc<Vec<StoredEvent>>,
    read_delay: Duration,
}

pub struct MemoryFeed {
    events: Arc<Vec<StoredEvent>>,
    next: u64,
    read_delay: Duration,
}

impl MemorySource {
    /// Each read waits `delay` first: a feed slower than the applier, which
    /// then finds one read's worth of events queued at a time.
    pub fn with_read_delay(mut self, delay: Duration) -> MemorySource {
        self.read_delay = delay;
        self
    }
}

impl FeedSource for MemorySource {
    type Feed = MemoryFeed;

    async fn open(&self, from_position: u64) -> Result<MemoryFeed, ProjectionError> {
        Ok(MemoryFeed {
            events: self.events.clone(),
            next: from_position.max(1),
            read_delay: self.read_delay,
        })
    }

    async fn head(&self) -> Result<u64, ProjectionError> {
        Ok(self.events.len() as u64)
    }
}

impl EventFeed for MemoryFeed {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, ProjectionError> {
        if !self.read_delay.is_zero() {
            tokio::time::sleep(self.read_delay).await;
        }
        let start = usize::try_from(self.next - 1).expect("small");
        if start >= self.events.len() {
            // Caught up with a log that never grows: wait forever, as a
            // subscription at the head does.
            std::future::pending::<()>().await;
        }
        let end = (start + max).min(self.events.len());
        self.next += (end - start) as u64;
        Ok(self.events[start..end].to_vec())
    }
}

/// Applies the whole log to the views (catching up from their checkpoint).
pub async fn apply(views: &Views, log: &Log) {
    views
        .catch_up(&log.source(), log.head(), RunConfig::SERVING, |_| {})
        .await
        .expect("catch up");
}

/// `apply`, committing every `events` events: what one commit writes (a
/// ticket record, a day's KPI samples) is spread over many.
pub async fn apply_in_commits_of(views: &Views, log: &Log, events: usize) {
    let config = RunConfig {
        commit_events_max: events,
        ..RunConfig::OFFLINE
    };
    views
        .catch_up(&log.source(), log.head(), config, |_| {})
        .await
        .expect("catch up");
}

pub fn temp_views() -> (tempfile::TempDir, Views) {
    let dir = tempfile::tempdir().expect("temp dir");
    let views = Views::open(&dir.path().join("views")).expect("open views");
    (dir, views)
}
