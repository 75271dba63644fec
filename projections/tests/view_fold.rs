//! The view fold's status rules agree with the domain's ticket fold, for
//! any sequence of events on one ticket (including ones the deciders never
//! produce), and the projection stores what the fold computes.

mod common;

use proptest::prelude::*;
use time::Duration;

use common::*;
use docket_domain::codec;
use docket_domain::types::{Role, Visibility};
use docket_domain::{ticket, Event};
use docket_projections::{EventMeta, TicketView};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_view_fold_follows_the_domain_fold(actions in prop::collection::vec((0u8..7, 0u8..3, any::<bool>()), 0..30)) {
        let mut log = Log::new();
        let t0 = at("2026-03-02T09:00:00Z");
        let id = log.open_with(t0, "acme", "delivery", Some(("O-1", 10_000, "EUR")), None);
        for (i, (action, role, public)) in actions.iter().enumerate() {
            let t = t0 + Duration::minutes(i as i64 + 1);
            let role = [Role::Customer, Role::Agent, Role::Support][usize::from(*role)];
            let visibility = if *public { Visibility::Public } else { Visibility::Internal };
            match action {
                0 | 1 => { log.comment(t, id, role, visibility); }
                2 => { log.escalate(t, id); }
                3 => { log.refund(t, id, 100, "EUR"); }
                4 => { log.close(t, id); }
                5 => { log.follow_up(t, id, "acme", "delivery"); }
                _ => { log.open_with(t, "acme", "billing", None, None); }
            }
        }
        let stream = id.stream();
        let events: Vec<(EventMeta, Event)> = log
            .events
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| {
                let meta = EventMeta {
                    position: e.position,
                    version: e.version,
                    recorded_at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.recorded_at_unix_nanos)).expect("valid"),
                };
                (meta, codec::decode(&e.event_type, e.schema_version, &e.payload).expect("decodes"))
            })
            .collect();
        let view = TicketView::replay(events.iter().map(|(m, e)| (*m, e))).expect("opened");
        let domain = ticket::fold(events.iter().map(|(_, e)| e));
        let opened = domain.opened.as_ref().expect("opened");
        prop_assert_eq!(view.state.status, opened.status);
        prop_assert_eq!(view.state.escalated, opened.escalated);
        prop_assert_eq!(view.state.refunded_minor, opened.refunded_minor);
        prop_assert_eq!(&view.state.follow_ups, &opened.follow_ups);
        prop_assert_eq!(view.state.version, domain.version);

        // The projection stores the same view.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (_dir, views) = temp_views();
        runtime.block_on(apply(&views, &log));
        let stored = views.ticket(id).expect("read").expect("exists");
        prop_assert_eq!(stored, view);
    }
}
