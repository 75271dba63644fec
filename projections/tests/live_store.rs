//! The live runner on the real event store: read-your-writes through
//! `wait_for_position`, and a rebuild while commands keep coming.

use std::time::Duration;

use uuid::Uuid;

use docket_domain::codec;
use docket_domain::events::{CommentAdded, Event, TicketOpened};
use docket_domain::types::{
    Author, Channel, Impact, OrgId, Reason, Role, Status, TicketId, TicketNumber, Visibility,
};
use docket_eventstore::{
    AppendOutcome, AppendRequest, EnvelopeActor, ExpectedVersion, NewEvent, Store, StreamAppend,
};
use docket_projections::{RunConfig, Views};

async fn append(store: &Store, stream: &str, event: &Event, at_nanos: i64) -> u64 {
    let encoded = codec::encode(event);
    let request = AppendRequest {
        streams: vec![StreamAppend {
            stream: stream.to_owned(),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_id: Uuid::now_v7(),
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                recorded_at_unix_nanos: at_nanos,
                actor: EnvelopeActor::default(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                idempotency_key: None,
                payload: encoded.payload,
            }],
        }],
        idempotency: None,
    };
    match store.append(request).await.expect("append") {
        AppendOutcome::Committed { last_position, .. } => last_position,
        AppendOutcome::Duplicate(_) => panic!("no idempotency key was sent"),
    }
}

fn opened(sequence: u64) -> (TicketId, Event) {
    let ticket = TicketId(Uuid::now_v7());
    let event = Event::TicketOpened(TicketOpened {
        ticket_id: ticket,
        number: TicketNumber::from_sequence(sequence).expect("number"),
        org: OrgId::parse("acme").expect("org"),
        subject: "late parcel".to_owned(),
        description: "it did not come".to_owned(),
        reason: Reason {
            category: "delivery".to_owned(),
            detail: None,
        },
        order: None,
        customer_code: None,
        incident_date: None,
        impact: Impact::Medium,
        channel: Channel::Portal,
        opened_by: Author {
            sub: "c-1".to_owned(),
            role: Role::Customer,
        },
        follow_up_of: None,
        contact: None,
        sales_channel: None,
    });
    (ticket, event)
}

const T0: i64 = 1_772_442_000 * 1_000_000_000; // 2026-03-02T09:00:00Z

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_readable_once_their_position_is_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("log")).expect("store");
    let views = Views::open(&dir.path().join("views")).expect("views");
    let runner = views
        .start(store.clone(), RunConfig::SERVING)
        .expect("start");

    let mut tickets = Vec::new();
    for sequence in 0..20 {
        let (ticket, event) = opened(sequence);
        let position = append(&store, &ticket.stream(), &event, T0 + sequence as i64).await;
        views
            .wait_for_position(position, Duration::from_secs(5))
            .await
            .expect("applied in time");
        let view = views
            .ticket(ticket)
            .expect("read")
            .expect("visible at once");
        assert_eq!(view.state.status, Status::Open);
        tickets.push(ticket);
    }

    // A rebuild while more commands come in.
    let rebuild = runner.rebuild();
    let commands = async {
        let mut last = 0;
        for (i, ticket) in tickets.iter().enumerate() {
            let comment = Event::CommentAdded(CommentAdded {
                comment_id: Uuid::now_v7(),
                author: Author {
                    sub: "a-1".to_owned(),
                    role: Role::Agent,
                },
                body: "on it".to_owned(),
                visibility: Visibility::Public,
                text_module: None,
            });
            last = append(&store, &ticket.stream(), &comment, T0 + 1_000 + i as i64).await;
        }
        last
    };
    let (rebuilt_at, last) = tokio::join!(rebuild, commands);
    let rebuilt_at = rebuilt_at.expect("rebuild");
    assert!(rebuilt_at >= 20);
    views
        .wait_for_position(last, Duration::from_secs(5))
        .await
        .expect("applied in time");
    assert_eq!(views.status().generation, 2);
    for ticket in &tickets {
        let view = views.ticket(*ticket).expect("read").expect("exists");
        assert_eq!(view.state.status, Status::Waiting, "{ticket}");
        assert_eq!(view.comments.len(), 1);
    }
    assert_eq!(views.status().events_applied, 40);
    runner.stop().await.expect("stop");
    store.close().expect("close");
}
