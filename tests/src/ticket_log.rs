//! Realistic ticket logs for the projection crash test and benchmark.
//!
//! Root tickets open at random times over `days` across `orgs` orgs; each
//! lives through a back-and-forth of public comments (plus some internal
//! notes), sometimes an escalation and a refund, mostly a close, and now and
//! then a follow-up with a life of its own. Every org sets a policy at the
//! start (office hours, Mon–Fri) and some change it halfway.
//!
//! The events go through `docket_eventstore::Store`, encoded by
//! `docket_domain::codec`, from `lanes` concurrent tasks: a lane owns whole
//! families of tickets (a ticket and its follow-ups), so each stream stays
//! in order, while the lanes' appends interleave in the log as concurrent
//! commands do. Each lane merges its families' events by time and appends
//! them in requests of at most 16 streams; a follow-up's open and its
//! parent's link go in one request, as the api appends them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use docket_domain::calendar::{BusinessCalendar, CalendarSpec};
use docket_domain::codec;
use docket_domain::events::{
    CommentAdded, Escalated, Event, FollowUpOpened, PolicySet, RefundIssued, TicketClosed,
    TicketOpened,
};
use docket_domain::policy::OrgPolicy;
use docket_domain::types::{
    Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution,
    Role, TicketId, TicketNumber, Visibility,
};
use docket_eventstore::{
    AppendRequest, EnvelopeActor, ExpectedVersion, NewEvent, Store, StoreError, StreamAppend,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const MINUTE: i64 = 60 * 1_000_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Streams per append request (the store's limit).
const STREAMS_PER_REQUEST: usize = 16;

const CATEGORIES: [&str; 8] = [
    "delivery", "damaged", "billing", "refund", "account", "returns", "warranty", "other",
];

/// What a generated log holds: how many tickets and orgs, over how many
/// days, written by how many lanes.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// Root tickets (follow-ups come on top).
    pub tickets: u64,
    /// Orgs the tickets are spread over.
    pub orgs: u32,
    /// Root tickets open over this many days from `start_unix_nanos`.
    pub days: u32,
    /// The instant the first day starts, in unix nanoseconds.
    pub start_unix_nanos: i64,
    /// Concurrent appending tasks, each owning whole ticket families.
    pub lanes: u32,
    /// Seeds each lane's random choices.
    pub seed: u64,
    /// Percent of tickets that get closed.
    pub closed_percent: u32,
    /// Public comments per ticket, on average (at least 1 when not 0).
    pub comments_mean: u32,
    /// The first ticket number's sequence (so logs can be extended).
    pub first_sequence: u64,
    /// Whether to write the orgs' policies first.
    pub policies: bool,
}

impl LogSpec {
    /// ~6.7 events per root ticket: about `events` events in all.
    pub fn realistic(events: u64, seed: u64) -> LogSpec {
        LogSpec {
            tickets: events * 10 / 67,
            orgs: 40,
            days: 60,
            start_unix_nanos: 1_767_571_200 * 1_000_000_000, // 2026-01-05, a Monday
            lanes: 64,
            seed,
            closed_percent: 92,
            comments_mean: 4,
            first_sequence: 0,
            policies: true,
        }
    }
}

/// Appends the log described by `spec`; returns the events appended.
/// `progress` gets the running count now and then.
pub async fn write_log(
    store: &Store,
    spec: &LogSpec,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<u64, StoreError> {
    let progress = std::sync::Arc::new(progress);
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut written = 0;
    if spec.policies {
        written += write_policies(store, spec).await?;
    }
    let mut lanes = Vec::new();
    for lane in 0..spec.lanes {
        let store = store.clone();
        let spec = spec.clone();
        let progress = progress.clone();
        let counter = counter.clone();
        lanes.push(tokio::spawn(async move {
            let mut plan = Lane::new(&spec, lane);
            let mut written = 0u64;
            while let Some(request) = plan.next_request() {
                let events = request.event_count() as u64;
                store.append(request).await?;
                written += events;
                let total =
                    counter.fetch_add(events, std::sync::atomic::Ordering::Relaxed) + events;
                if total / 50_000 != (total - events) / 50_000 {
                    progress(total);
                }
            }
            Ok::<u64, StoreError>(written)
        }));
    }
    for lane in lanes {
        written += lane
            .await
            .map_err(|error| StoreError::InvalidRequest(format!("lane task failed: {error}")))??;
    }
    Ok(written)
}

fn org_name(index: u32) -> OrgId {
    OrgId::parse(&format!("org-{index:03}")).expect("a valid org id")
}

fn office_policy(first_response_hours: u32, hours: &str) -> OrgPolicy {
    OrgPolicy {
        first_response_hours,
        next_response_hours: 8,
        resolution_hours: Some(72),
        calendar: BusinessCalendar::from_spec(&CalendarSpec {
            timezone: Some("Europe/Rome".to_owned()),
            hours: Some(hours.to_owned()),
            ..CalendarSpec::default()
        })
        .expect("a valid calendar"),
        ..OrgPolicy::default()
    }
}

async fn write_policies(store: &Store, spec: &LogSpec) -> Result<u64, StoreError> {
    let mut written = 0;
    for org in 0..spec.orgs {
        let at = spec.start_unix_nanos - HOUR;
        let event = Event::PolicySet(PolicySet {
            org: org_name(org),
            policy: office_policy(4 + org % 5, "08:00-18:00"),
            set_by: author(Role::Admin),
        });
        store
            .append(request(vec![(
                org_name(org).policy_stream(),
                vec![(at, event)],
            )]))
            .await?;
        written += 1;
    }
    Ok(written)
}

fn author(role: Role) -> Author {
    Author {
        sub: format!("{}-{}", role.as_str(), 1 + (role as u8 % 3)),
        role,
    }
}

/// One planned append: events for one or two streams (a follow-up's open
/// and its parent's link) that go into the same request.
struct Planned {
    at: i64,
    seq: u64,
    parts: Vec<(String, Event)>,
}

impl PartialEq for Planned {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Planned {}
impl PartialOrd for Planned {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Planned {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One lane's families, generated as time goes by.
struct Lane {
    spec: LogSpec,
    lane: u32,
    rng: StdRng,
    /// Root tickets of this lane still to open, and the next one's index.
    remaining: u64,
    index: u64,
    heap: BinaryHeap<Reverse<Planned>>,
    seq: u64,
    next_open: i64,
    span_per_ticket: i64,
    /// Follow-ups get sequences above every root ticket's.
    follow_ups: u64,
}

impl Lane {
    fn new(spec: &LogSpec, lane: u32) -> Lane {
        let lanes = u64::from(spec.lanes.max(1));
        let remaining = spec.tickets / lanes + u64::from(u64::from(lane) < spec.tickets % lanes);
        let span = i64::from(spec.days) * DAY;
        let span_per_ticket = span / i64::try_from(remaining.max(1)).unwrap_or(i64::MAX);
        Lane {
            spec: spec.clone(),
            lane,
            rng: StdRng::seed_from_u64(spec.seed.wrapping_mul(1_000_003) + u64::from(lane)),
            remaining,
            index: 0,
            heap: BinaryHeap::new(),
            seq: 0,
            next_open: spec.start_unix_nanos,
            span_per_ticket: span_per_ticket.max(1),
            follow_ups: 0,
        }
    }

    /// The next append request in time order, `None` when done.
    fn next_request(&mut self) -> Option<AppendRequest> {
        let mut streams: Vec<(String, Vec<(i64, Event)>)> = Vec::new();
        loop {
            // Open root tickets due before the earliest planned event.
            while self.remaining > 0
                && self
                    .heap
                    .peek()
                    .is_none_or(|Reverse(p)| p.at >= self.next_open)
            {
                self.open_family();
            }
            let Some(Reverse(planned)) = self.heap.pop() else {
                break;
            };
            let new_streams = planned
                .parts
                .iter()
                .filter(|(stream, _)| !streams.iter().any(|(s, _)| s == stream))
                .count();
            if streams.len() + new_streams > STREAMS_PER_REQUEST {
                self.heap.push(Reverse(planned));
                break;
            }
            for (stream, event) in planned.parts {
                match streams.iter_mut().find(|(s, _)| *s == stream) {
                    Some((_, events)) => events.push((planned.at, event)),
                    None => streams.push((stream, vec![(planned.at, event)])),
                }
            }
        }
        (!streams.is_empty()).then(|| request(streams))
    }

    fn plan(&mut self, at: i64, parts: Vec<(String, Event)>) {
        self.seq += 1;
        self.heap.push(Reverse(Planned {
            at,
            seq: self.seq,
            parts,
        }));
    }

    fn open_family(&mut self) {
        let lanes = u64::from(self.spec.lanes.max(1));
        let sequence = self.spec.first_sequence + self.index * lanes + u64::from(self.lane);
        self.index += 1;
        self.remaining -= 1;
        let at = self.next_open + self.rng.random_range(0..self.span_per_ticket);
        self.next_open += self.span_per_ticket;
        let org = org_name(self.rng.random_range(0..self.spec.orgs.max(1)));
        let category = CATEGORIES[self.rng.random_range(0..CATEGORIES.len())];
        self.ticket(sequence, at, org, category, None);
    }

    /// Plans the whole life of one ticket opened at `at`.
    fn ticket(
        &mut self,
        sequence: u64,
        at: i64,
        org: OrgId,
        category: &str,
        parent: Option<(TicketId, String)>,
    ) -> TicketId {
        let rng = &mut self.rng;
        let millis = u64::try_from(at / 1_000_000).unwrap_or(0);
        let random: [u8; 10] = rng.random();
        let ticket =
            TicketId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid());
        let number = TicketNumber::from_sequence(sequence).expect("ticket numbers left");
        let currency = if rng.random_bool(0.7) { "EUR" } else { "USD" };
        let order = rng.random_bool(0.6).then(|| Order {
            number: format!("ORD-{}-{}", org.as_str(), rng.random_range(0..1_000_000u32)),
            amount: Money {
                amount_minor: rng.random_range(1_000..200_000),
                currency: Currency::parse(currency).expect("a valid currency"),
            },
        });
        let opened = Event::TicketOpened(TicketOpened {
            ticket_id: ticket,
            number,
            org: org.clone(),
            subject: format!("{category}: order problem #{sequence}"),
            description: "The parcel arrived late and the box was dented; two items are missing \
                          and the invoice shows a different address. Please check and advise."
                .repeat(2),
            reason: Reason {
                category: category.to_owned(),
                detail: rng.random_bool(0.3).then(|| "see description".to_owned()),
            },
            order: order.clone(),
            customer_code: rng
                .random_bool(0.5)
                .then(|| format!("C{}", rng.random_range(0..99_999u32))),
            incident_date: None,
            impact: [Impact::Low, Impact::Medium, Impact::High, Impact::Critical]
                [rng.random_range(0..4)],
            channel: [
                Channel::Portal,
                Channel::Email,
                Channel::Phone,
                Channel::Chat,
                Channel::Api,
            ][rng.random_range(0..5)],
            opened_by: author(Role::Customer),
            follow_up_of: parent.as_ref().map(|(id, _)| *id),
            contact: None,
            sales_channel: None,
        });
        let stream = ticket.stream();
        match &parent {
            None => self.plan(at, vec![(stream.clone(), opened)]),
            Some((parent_id, _)) => {
                let link = Event::FollowUpOpened(FollowUpOpened {
                    follow_up_id: ticket,
                    follow_up_number: number,
                    opened_by: author(Role::Customer),
                });
                self.plan(
                    at,
                    vec![(stream.clone(), opened), (parent_id.stream(), link)],
                );
            }
        }

        let rng = &mut self.rng;
        let mean = self.spec.comments_mean;
        let comments = if mean == 0 {
            0
        } else {
            rng.random_range(1..=2 * mean - 1)
        };
        let mut t = at;
        let mut steps: Vec<(i64, Event)> = Vec::new();
        let mut escalated = false;
        let mut refunded = false;
        for i in 0..comments {
            let agent_turn = i % 2 == 0;
            t += if agent_turn {
                rng.random_range(10 * MINUTE..30 * HOUR)
            } else {
                rng.random_range(HOUR..2 * DAY)
            };
            if agent_turn && !escalated && rng.random_bool(0.1) {
                escalated = true;
                steps.push((
                    t,
                    Event::Escalated(Escalated {
                        reason: EscalationReason::PaymentProvider,
                        note: Some("needs the payment provider".to_owned()),
                        escalated_by: author(Role::Agent),
                    }),
                ));
                t += rng.random_range(HOUR..DAY);
            }
            if agent_turn && rng.random_bool(0.15) {
                steps.push((t, comment(rng, Role::Agent, Visibility::Internal)));
                t += rng.random_range(MINUTE..HOUR);
            }
            let role = if agent_turn {
                if escalated {
                    Role::Support
                } else {
                    Role::Agent
                }
            } else {
                Role::Customer
            };
            steps.push((t, comment(rng, role, Visibility::Public)));
            if agent_turn && !refunded && rng.random_bool(0.2) {
                if let Some(order) = &order {
                    refunded = true;
                    t += rng.random_range(MINUTE..HOUR);
                    steps.push((
                        t,
                        Event::RefundIssued(RefundIssued {
                            refund_id: Uuid::from_u128(rng.random()),
                            amount: Money {
                                amount_minor: order.amount.amount_minor / 3,
                                currency: order.amount.currency,
                            },
                            reason: "goodwill".to_owned(),
                            issued_by: author(Role::Agent),
                        }),
                    ));
                }
            }
        }
        let closes = rng.random_range(0..100) < self.spec.closed_percent;
        if closes {
            t += rng.random_range(HOUR..3 * DAY);
            steps.push((
                t,
                Event::TicketClosed(TicketClosed {
                    resolution: [
                        Resolution::Resolved,
                        Resolution::NoResponse,
                        Resolution::Rejected,
                    ][rng.random_range(0..3)],
                    note: None,
                    closed_by: author(Role::Agent),
                }),
            ));
        }
        for (at, event) in steps {
            self.plan(at, vec![(stream.clone(), event)]);
        }
        if closes && parent.is_none() && self.rng.random_bool(0.05) {
            let follow_at = t + self.rng.random_range(HOUR..5 * DAY);
            self.follow_ups += 1;
            let lanes = u64::from(self.spec.lanes.max(1));
            // Above every root ticket of every lane.
            let sequence = self.spec.first_sequence
                + self.spec.tickets
                + lanes
                + self.follow_ups * lanes
                + u64::from(self.lane);
            let category = CATEGORIES[self.rng.random_range(0..CATEGORIES.len())].to_owned();
            self.ticket(
                sequence,
                follow_at,
                org,
                &category,
                Some((ticket, category.clone())),
            );
        }
        ticket
    }
}

fn comment(rng: &mut StdRng, role: Role, visibility: Visibility) -> Event {
    Event::CommentAdded(CommentAdded {
        comment_id: Uuid::from_u128(rng.random()),
        author: author(role),
        body: "Thanks for the details. We checked the shipment with the carrier and will get back \
               to you as soon as we hear from them; meanwhile please keep the packaging."
            .to_owned(),
        visibility,
        text_module: None,
    })
}

fn request(streams: Vec<(String, Vec<(i64, Event)>)>) -> AppendRequest {
    AppendRequest {
        streams: streams
            .into_iter()
            .map(|(stream, events)| StreamAppend {
                stream,
                expected: ExpectedVersion::Any,
                events: events
                    .into_iter()
                    .map(|(at, event)| {
                        let encoded = codec::encode(&event);
                        let role = match &event {
                            Event::CommentAdded(c) => c.author.role,
                            Event::TicketOpened(_) | Event::FollowUpOpened(_) => Role::Customer,
                            Event::PolicySet(_) => Role::Admin,
                            _ => Role::Agent,
                        };
                        NewEvent {
                            event_id: Uuid::now_v7(),
                            event_type: encoded.event_type.to_owned(),
                            schema_version: encoded.schema_version,
                            recorded_at_unix_nanos: at,
                            actor: EnvelopeActor {
                                sub: format!("{}-1", role.as_str()),
                                role: role.as_str().to_owned(),
                                org: "*".to_owned(),
                            },
                            correlation_id: Uuid::now_v7(),
                            causation_id: None,
                            idempotency_key: None,
                            payload: encoded.payload,
                        }
                    })
                    .collect(),
            })
            .collect(),
        idempotency: None,
    }
}
