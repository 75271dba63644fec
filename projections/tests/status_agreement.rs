//! The status machine exists once (`docket_domain::status::after`), and its
//! three users agree: over every history the domain's property tests
//! generate (random sessions of every role and command, most refused), the
//! ticket decider's status, the ticket view's and the SLA clocks' are the
//! same after every event.

#[path = "../../domain/tests/support/mod.rs"]
mod support;

use docket_domain::policy::OrgPolicy;
use docket_domain::sla::SlaClocks;
use docket_domain::ticket;
use docket_projections::{EventMeta, TicketView};
use proptest::prelude::*;
use support::sessions::{any_session, run};
use support::NOW;
use time::Duration;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_decider_the_view_and_the_sla_clocks_agree_on_the_status(session in any_session()) {
        let policy = OrgPolicy::default();
        let mut state = ticket::initial();
        let mut view: Option<TicketView> = None;
        let mut clocks = SlaClocks::new();
        let mut events_applied = 0u64;
        for (step, (actor, op)) in session.iter().enumerate() {
            let Ok(events) = run(&state, actor, op) else {
                continue;
            };
            // Steps an hour and some apart, so clocks start, pause and
            // breach across business hours.
            let at = NOW + Duration::minutes(67 * step as i64);
            for event in &events {
                let before = state.opened.as_ref().map(|t| t.status);
                events_applied += 1;
                let meta = EventMeta {
                    position: events_applied,
                    version: events_applied,
                    recorded_at: at,
                };
                state = ticket::apply(state, event);
                match &mut view {
                    Some(view) => view.apply(meta, event),
                    None => view = TicketView::replay([(meta, event)]),
                }
                clocks.apply(event, at, &policy);
                let decided = state.opened.as_ref().map(|t| t.status);
                prop_assert_eq!(view.as_ref().map(|v| v.state.status), decided, "view after {:?}", event);
                prop_assert_eq!(clocks.status(), decided, "clocks after {:?}", event);
                if let (Some(before), Some(after)) = (before, decided) {
                    prop_assert_eq!(docket_domain::status::after(before, event), after);
                }
            }
        }
    }
}
