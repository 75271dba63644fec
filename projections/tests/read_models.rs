//! Each read model against small, hand-checked histories.

mod common;

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use time::macros::date;
use time::Duration;

use common::*;
use docket_domain::codec;
use docket_domain::types::{OrgScope, Role, Status, TicketId, Visibility};
use docket_projections::{
    CommitBound, CursorProblem, EventMeta, InboxQuery, InboxSort, KpiBucket, KpiGrouping, KpiQuery,
    ProjectionError, RunConfig, Scope, SlaQuery, SlaState, TicketView, SEARCH_ITEMS_MAX,
};

fn agent_of(org: &str) -> Scope {
    Scope {
        orgs: OrgScope::Org(org_id(org)),
        escalated_only: false,
    }
}

fn platform() -> Scope {
    Scope {
        orgs: OrgScope::Platform,
        escalated_only: false,
    }
}

fn support() -> Scope {
    Scope {
        orgs: OrgScope::Platform,
        escalated_only: true,
    }
}

fn inbox(scope: Scope, status: Status) -> InboxQuery {
    InboxQuery {
        inbox: status,
        scope,
        org: None,
        reason: None,
        sales_channel: None,
        from: None,
        to: None,
        sort: InboxSort::Updated,
        limit: 50,
        cursor: None,
    }
}

fn ids(page: &docket_projections::InboxPage) -> Vec<TicketId> {
    page.items.iter().map(|item| item.ticket_id).collect()
}

#[tokio::test]
async fn the_ticket_view_folds_every_event_and_matches_a_replay() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    let h = Duration::hours(1);
    let parent = log.open_with(t0, "acme", "delivery", Some(("A-1", 5_000, "EUR")), None);
    log.comment(t0 + h, parent, Role::Agent, Visibility::Public);
    log.comment(t0 + 2 * h, parent, Role::Customer, Visibility::Public);
    log.comment(t0 + 3 * h, parent, Role::Agent, Visibility::Internal);
    log.escalate(t0 + 4 * h, parent);
    log.refund(t0 + 5 * h, parent, 1_200, "EUR");
    log.close(t0 + 6 * h, parent);
    let child = log.follow_up(t0 + 7 * h, parent, "acme", "delivery");
    apply(&views, &log).await;

    let view = views.ticket(parent).expect("read").expect("exists");
    assert_eq!(view.state.status, Status::Closed);
    assert!(view.state.escalated);
    assert_eq!(view.state.refunded_minor, 1_200);
    assert_eq!(view.state.follow_ups, vec![child]);
    assert_eq!(view.state.version, 8);
    assert_eq!(view.state.closed_at, Some(t0 + 6 * h));
    assert_eq!(view.state.updated_at, t0 + 7 * h);
    assert_eq!(view.head.opened_at, t0);
    assert_eq!(view.comments.len(), 3);
    assert_eq!(view.comments[2].visibility, Visibility::Internal);

    let stream = parent.stream();
    let decoded: Vec<(EventMeta, docket_domain::Event)> = log
        .events
        .iter()
        .filter(|e| e.stream == stream)
        .map(|e| {
            let meta = EventMeta {
                position: e.position,
                version: e.version,
                recorded_at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
                    e.recorded_at_unix_nanos,
                ))
                .expect("valid"),
            };
            let event =
                codec::decode(&e.event_type, e.schema_version, &e.payload).expect("decodes");
            (meta, event)
        })
        .collect();
    let replayed = TicketView::replay(decoded.iter().map(|(meta, event)| (*meta, event)))
        .expect("starts with an open");
    assert_eq!(replayed, view);

    let public = view.to_json(docket_domain::access::CommentsShown::PublicOnly);
    assert_eq!(public["comments"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        view.to_json(docket_domain::access::CommentsShown::All)["comments"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(public["status"], "closed");
    assert_eq!(public["order"]["amount_minor"], 5_000);

    let child_view = views.ticket(child).expect("read").expect("exists");
    assert_eq!(child_view.head.follow_up_of, Some(parent));
    assert_eq!(child_view.state.status, Status::Open);
}

#[tokio::test]
async fn undecodable_and_unknown_events_are_skipped_and_counted() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    let ticket = log.open(t0, "acme", "delivery");
    log.push_raw(&ticket.stream(), t0, "ticket_teleported", 1, vec![1, 2, 3]);
    log.push_raw(&ticket.stream(), t0, "comment_added", 1, vec![0xff; 7]);
    log.push_raw(&ticket.stream(), t0, "comment_added", 99, vec![]);
    // An event of a ticket that was never opened.
    let ghost = TicketId(uuid::Uuid::from_u128(7));
    log.close(t0, ghost);
    log.close(t0 + Duration::hours(1), ticket);
    apply(&views, &log).await;

    let status = views.status();
    assert_eq!(status.applied_position, 6);
    assert_eq!(status.events_skipped, 4);
    assert_eq!(status.events_applied, 2);
    let view = views.ticket(ticket).expect("read").expect("exists");
    assert_eq!(view.state.status, Status::Closed);
    assert!(views.ticket(ghost).expect("read").is_none());
}

/// acme: A open (delivery, Mar 2), B open (billing, Mar 3), C waiting
/// (answered), D closed, E escalated (waiting); zeta: F open.
struct Desk {
    log: Log,
    a: TicketId,
    b: TicketId,
    c: TicketId,
    d: TicketId,
    e: TicketId,
    f: TicketId,
}

fn desk() -> Desk {
    let mut log = Log::new();
    let h = Duration::hours(1);
    let mar2 = at("2026-03-02T09:00:00Z");
    let mar3 = at("2026-03-03T09:00:00Z");
    let a = log.open(mar2, "acme", "delivery");
    let c = log.open(mar2 + h, "acme", "delivery");
    let d = log.open(mar2 + 2 * h, "acme", "billing");
    let e = log.open_with(
        mar2 + 3 * h,
        "acme",
        "billing",
        Some(("ORD-9", 900, "EUR")),
        None,
    );
    let b = log.open_with(mar3, "acme", "billing", Some(("ORD-9", 500, "EUR")), None);
    let f = log.open_with(
        mar3 + h,
        "zeta",
        "delivery",
        Some(("ORD-9", 100, "USD")),
        None,
    );
    log.comment(mar3 + 2 * h, c, Role::Agent, Visibility::Public);
    log.close(mar3 + 3 * h, d);
    log.escalate(mar3 + 4 * h, e);
    Desk {
        log,
        a,
        b,
        c,
        d,
        e,
        f,
    }
}

#[tokio::test]
async fn inboxes_filter_sort_and_scope() {
    let (_dir, views) = temp_views();
    let desk = desk();
    apply(&views, &desk.log).await;

    let open = views
        .inbox(&inbox(agent_of("acme"), Status::Open))
        .expect("page");
    assert_eq!(ids(&open), vec![desk.b, desk.a]);
    assert_eq!(open.next_cursor, None);
    let waiting = views
        .inbox(&inbox(agent_of("acme"), Status::Waiting))
        .expect("page");
    assert_eq!(ids(&waiting), vec![desk.e, desk.c]);
    let closed = views
        .inbox(&inbox(agent_of("acme"), Status::Closed))
        .expect("page");
    assert_eq!(ids(&closed), vec![desk.d]);
    assert_eq!(closed.items[0].status, Status::Closed);

    let mut by_reason = inbox(agent_of("acme"), Status::Open);
    by_reason.reason = Some("delivery".to_owned());
    assert_eq!(ids(&views.inbox(&by_reason).expect("page")), vec![desk.a]);

    let mut by_date = inbox(agent_of("acme"), Status::Open);
    by_date.from = Some(date!(2026 - 03 - 03));
    assert_eq!(ids(&views.inbox(&by_date).expect("page")), vec![desk.b]);
    by_date.from = None;
    by_date.to = Some(date!(2026 - 03 - 02));
    assert_eq!(ids(&views.inbox(&by_date).expect("page")), vec![desk.a]);
    by_date.from = Some(date!(2026 - 03 - 02));
    assert_eq!(ids(&views.inbox(&by_date).expect("page")), vec![desk.a]);

    // A platform token sees every org, or one with `org`.
    let all = views.inbox(&inbox(platform(), Status::Open)).expect("page");
    assert_eq!(ids(&all), vec![desk.f, desk.b, desk.a]);
    let mut zeta = inbox(platform(), Status::Open);
    zeta.org = Some(org_id("zeta"));
    assert_eq!(ids(&views.inbox(&zeta).expect("page")), vec![desk.f]);
    // An agent asking for another org gets nothing (the api answers 403).
    let mut other = inbox(agent_of("acme"), Status::Open);
    other.org = Some(org_id("zeta"));
    assert!(views.inbox(&other).expect("page").items.is_empty());

    // Support sees escalated tickets only.
    let escalated = views
        .inbox(&inbox(support(), Status::Waiting))
        .expect("page");
    assert_eq!(ids(&escalated), vec![desk.e]);
    assert!(escalated.items[0].escalated);
    assert!(views
        .inbox(&inbox(support(), Status::Open))
        .expect("page")
        .items
        .is_empty());
    let mut escalated_zeta = inbox(support(), Status::Waiting);
    escalated_zeta.org = Some(org_id("zeta"));
    assert!(views.inbox(&escalated_zeta).expect("page").items.is_empty());
}

#[tokio::test]
async fn sort_by_due_puts_the_earliest_due_first_and_tickets_without_clocks_last() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let mon = at("2026-03-02T09:00:00Z");
    let h = Duration::hours(1);
    log.policy(mon - h, "acme", policy(4, 2, None, "09:00-17:00"));
    let early = log.open(mon, "acme", "delivery"); // due 13:00
    let late = log.open(mon + 2 * h, "acme", "delivery"); // due 15:00
    let answered = log.open(mon + h, "acme", "delivery"); // due 14:00, then answered
    log.comment(mon + 3 * h, answered, Role::Agent, Visibility::Public);
    log.comment(mon + 4 * h, answered, Role::Customer, Visibility::Public); // next response: due 15:00 +... 2h → 15:00
    let waiting = log.open(mon + 5 * h, "acme", "delivery");
    log.escalate(mon + 6 * h, waiting); // paused: no due
    apply(&views, &log).await;

    let mut query = inbox(agent_of("acme"), Status::Open);
    query.sort = InboxSort::Due;
    let page = views.inbox(&query).expect("page");
    assert_eq!(ids(&page), vec![early, late, answered]);
    assert_eq!(page.items[0].due_at, Some(mon + 4 * h));
    assert_eq!(page.items[1].due_at, Some(mon + 6 * h));
    // The next-response clock started at 13:00 with 2 business hours.
    assert_eq!(page.items[2].due_at, Some(mon + 6 * h));

    let mut query = inbox(agent_of("acme"), Status::Waiting);
    query.sort = InboxSort::Due;
    let page = views.inbox(&query).expect("page");
    assert_eq!(ids(&page), vec![waiting]);
    assert_eq!(page.items[0].due_at, None);
}

#[tokio::test]
async fn pages_cover_an_inbox_exactly_once() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    let tickets: Vec<TicketId> = (0..25)
        .map(|i| log.open(t0 + Duration::minutes(i), "acme", "delivery"))
        .collect();
    apply(&views, &log).await;
    let mut query = inbox(agent_of("acme"), Status::Open);
    query.limit = 10;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = views.inbox(&query).expect("page");
        pages += 1;
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<TicketId> = tickets.iter().rev().copied().collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_ticket_moving_between_inboxes_while_paging_is_listed_exactly_once() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    // Enough tickets for the index to span several pages.
    let tickets: Vec<TicketId> = (0..300)
        .map(|i| log.open(t0 + Duration::minutes(i), "acme", "delivery"))
        .collect();
    apply(&views, &log).await;
    // Newest first: tickets[299] .. tickets[0].
    let expected: Vec<TicketId> = tickets.iter().rev().copied().collect();

    for sort in [InboxSort::Updated, InboxSort::Due] {
        let mut query = inbox(agent_of("acme"), Status::Open);
        query.limit = 10;
        query.sort = sort;
        let first = views.inbox(&query).expect("page");
        let mut seen = ids(&first);
        let mut later = t0 + Duration::hours(2);
        // While paging: a ticket of the next page is answered (moves to
        // waiting), a ticket already listed is updated (moves to the top),
        // a ticket of the last page gets a refund-free internal note, and
        // new tickets arrive.
        let next_page_ticket = expected[12];
        let listed_ticket = expected[3];
        let last_page_ticket = expected[250];
        later += Duration::minutes(1);
        log.comment(later, next_page_ticket, Role::Agent, Visibility::Public);
        later += Duration::minutes(1);
        log.comment(later, listed_ticket, Role::Customer, Visibility::Public);
        later += Duration::minutes(1);
        log.comment(later, last_page_ticket, Role::Agent, Visibility::Internal);
        later += Duration::minutes(1);
        let newcomer = log.open(later, "acme", "delivery");
        apply(&views, &log).await;

        query.cursor = first.next_cursor.clone();
        while let Some(cursor) = query.cursor.take() {
            query.cursor = Some(cursor);
            let page = views.inbox(&query).expect("page");
            seen.extend(ids(&page));
            query.cursor = page.next_cursor;
        }
        if sort == InboxSort::Updated {
            assert_eq!(seen, expected, "{sort:?}");
        }
        let unique: HashSet<TicketId> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort:?}: a ticket twice");
        let wanted: HashSet<TicketId> = expected.iter().copied().collect();
        assert_eq!(unique, wanted, "{sort:?}: not the inbox at the snapshot");
        assert!(!unique.contains(&newcomer));

        // A fresh listing shows the inbox as it is now.
        let mut now_query = inbox(agent_of("acme"), Status::Open);
        now_query.limit = 500;
        now_query.sort = sort;
        let now = views.inbox(&now_query).expect("page");
        assert!(!ids(&now).contains(&next_page_ticket));
        assert!(ids(&now).contains(&newcomer));
        // Put the answered ticket back for the next round.
        log.comment(
            later + Duration::minutes(1),
            next_page_ticket,
            Role::Customer,
            Visibility::Public,
        );
        log.open(later + Duration::minutes(2), "zeta", "delivery");
        apply(&views, &log).await;
        // The newcomer is part of the inbox now, but not of `expected`:
        // close it to keep the rounds comparable.
        log.close(later + Duration::minutes(3), newcomer);
        apply(&views, &log).await;
    }
}

#[tokio::test]
async fn bad_cursors_are_refused() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    for i in 0..5 {
        log.open(t0 + Duration::minutes(i), "acme", "delivery");
    }
    apply(&views, &log).await;
    let mut query = inbox(agent_of("acme"), Status::Open);
    query.limit = 2;
    let cursor = views
        .inbox(&query)
        .expect("page")
        .next_cursor
        .expect("more");

    let problem = |query: &InboxQuery| match views.inbox(query) {
        Err(ProjectionError::InvalidCursor { problem }) => Some(problem),
        _ => None,
    };
    let mut garbage = query.clone();
    garbage.cursor = Some("not-a-cursor".to_owned());
    assert_eq!(problem(&garbage), Some(CursorProblem::Malformed));
    let mut truncated = query.clone();
    truncated.cursor = Some(cursor[..20].to_owned());
    assert_eq!(problem(&truncated), Some(CursorProblem::Malformed));
    let mut other = inbox(agent_of("acme"), Status::Waiting);
    other.cursor = Some(cursor.clone());
    assert_eq!(problem(&other), Some(CursorProblem::OtherQuery));
    let mut other_filter = query.clone();
    other_filter.reason = Some("billing".to_owned());
    other_filter.cursor = Some(cursor.clone());
    assert_eq!(problem(&other_filter), Some(CursorProblem::OtherQuery));
    let mut good = query.clone();
    good.cursor = Some(cursor.clone());
    assert!(views.inbox(&good).is_ok());

    // A rebuild past the snapshot keeps no superseded entries.
    log.open(t0 + Duration::hours(1), "acme", "delivery");
    views
        .rebuild_offline(&log.source(), RunConfig::OFFLINE, |_, _| {})
        .await
        .expect("rebuild");
    assert_eq!(problem(&good), Some(CursorProblem::Expired));

    let mut too_many = query.clone();
    too_many.limit = 501;
    assert!(matches!(
        views.inbox(&too_many),
        Err(ProjectionError::InvalidQuery(_))
    ));
}

#[tokio::test]
async fn search_by_number_and_order_number_stays_in_scope() {
    let (_dir, views) = temp_views();
    let desk = desk();
    apply(&views, &desk.log).await;
    let number = desk.log.number_of(desk.a);
    let found = views
        .search_number(number, &agent_of("acme"))
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].ticket_id, desk.a);
    assert_eq!(found[0].number, number);
    assert!(views
        .search_number(number, &agent_of("zeta"))
        .expect("search")
        .is_empty());
    assert!(views
        .search_number(number, &support())
        .expect("search")
        .is_empty());
    let escalated = desk.log.number_of(desk.e);
    assert_eq!(
        views
            .search_number(escalated, &support())
            .expect("search")
            .len(),
        1
    );
    let missing = docket_domain::types::TicketNumber::from_sequence(999_999).expect("number");
    assert!(views
        .search_number(missing, &platform())
        .expect("search")
        .is_empty());

    let acme: Vec<TicketId> = views
        .search_order("ORD-9", &agent_of("acme"))
        .expect("search")
        .iter()
        .map(|s| s.ticket_id)
        .collect();
    assert_eq!(acme, vec![desk.b, desk.e]);
    let everyone: HashSet<TicketId> = views
        .search_order("ORD-9", &platform())
        .expect("search")
        .iter()
        .map(|s| s.ticket_id)
        .collect();
    assert_eq!(everyone, HashSet::from([desk.b, desk.e, desk.f]));
    let escalated: Vec<TicketId> = views
        .search_order("ORD-9", &support())
        .expect("search")
        .iter()
        .map(|s| s.ticket_id)
        .collect();
    assert_eq!(escalated, vec![desk.e]);
    assert!(views
        .search_order("ORD-1", &platform())
        .expect("search")
        .is_empty());
    let _ = (desk.c, desk.d);
}

/// An order with more tickets than one answer holds: the newest
/// `SEARCH_ITEMS_MAX` are answered, newest first.
#[tokio::test]
async fn an_order_search_past_its_limit_answers_the_newest_tickets() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    let total = SEARCH_ITEMS_MAX + 20;
    let opened: Vec<TicketId> = (0..total)
        .map(|i| {
            let when = t0 + Duration::minutes(i as i64);
            log.open_with(
                when,
                "acme",
                "delivery",
                Some(("ORD-BIG", 5_000, "EUR")),
                None,
            )
        })
        .collect();
    apply(&views, &log).await;
    let found: Vec<TicketId> = views
        .search_order("ORD-BIG", &agent_of("acme"))
        .expect("search")
        .iter()
        .map(|s| s.ticket_id)
        .collect();
    let newest: Vec<TicketId> = opened
        .iter()
        .rev()
        .take(SEARCH_ITEMS_MAX)
        .copied()
        .collect();
    assert_eq!(found, newest);
}

#[tokio::test]
async fn sla_lists_breached_and_at_risk_clocks_as_of_now_and_notices_breaches_once() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let mon = at("2026-03-02T09:00:00Z");
    let h = Duration::hours(1);
    log.policy(mon - h, "acme", policy(2, 2, Some(8), "09:00-17:00"));
    let ticket = log.open(mon, "acme", "delivery"); // first response due 11:00, resolution 17:00
    let other = log.open(mon + h, "acme", "billing"); // due 12:00
    apply(&views, &log).await;

    let query = |state| SlaQuery {
        state,
        scope: agent_of("acme"),
        org: None,
    };
    let at_risk = views
        .sla(
            &query(SlaState::AtRisk {
                within_seconds: 3_600,
            }),
            mon + h,
        )
        .expect("sla");
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0].ticket_id, ticket);
    assert_eq!(at_risk[0].clock.as_str(), "first_response");
    assert_eq!(at_risk[0].business_seconds_left, 3_600);
    assert!(!at_risk[0].breached);
    assert!(views
        .sla(
            &query(SlaState::AtRisk {
                within_seconds: 3_599
            }),
            mon + h
        )
        .expect("sla")
        .is_empty());
    // Exactly at the due time the clock is not breached yet.
    assert!(views
        .sla(&query(SlaState::Breached), mon + 2 * h)
        .expect("sla")
        .is_empty());
    let late = mon + 2 * h + Duration::seconds(1);
    let breached = views.sla(&query(SlaState::Breached), late).expect("sla");
    assert_eq!(breached.len(), 1);
    assert!(breached[0].breached);
    assert_eq!(breached[0].due_at, Some(mon + 2 * h));
    assert_eq!(breached[0].business_seconds_left, -1);
    // Another org's agent sees nothing; a platform token everything.
    let zeta = SlaQuery {
        state: SlaState::Breached,
        scope: agent_of("zeta"),
        org: None,
    };
    assert!(views.sla(&zeta, late).expect("sla").is_empty());

    let notices = views.mark_breaches(late).expect("mark");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].ticket_id, ticket);
    assert_eq!(notices[0].org, org_id("acme"));
    assert!(views.mark_breaches(late).expect("mark").is_empty());
    let later = mon + 3 * h + Duration::seconds(1);
    let notices = views.mark_breaches(later).expect("mark");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].ticket_id, other);

    // Answered late: no longer pending, not listed.
    log.comment(mon + 4 * h, ticket, Role::Agent, Visibility::Public);
    apply(&views, &log).await;
    let breached = views
        .sla(&query(SlaState::Breached), mon + 4 * h)
        .expect("sla");
    assert_eq!(
        breached.iter().map(|i| i.ticket_id).collect::<Vec<_>>(),
        vec![other]
    );
    // The resolution clock pauses while waiting: nothing of `ticket` at risk.
    let at_risk = views
        .sla(
            &query(SlaState::AtRisk {
                within_seconds: 100_000,
            }),
            mon + 4 * h,
        )
        .expect("sla");
    assert_eq!(
        at_risk.iter().map(|i| i.ticket_id).collect::<Vec<_>>(),
        vec![other]
    );
    assert_eq!(at_risk[0].clock.as_str(), "resolution");
    assert!(views.mark_breaches(mon + 4 * h).expect("mark").is_empty());
}

#[tokio::test]
async fn kpi_rows_count_a_small_week() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    let mon = at("2026-03-02T09:00:00Z");
    let h = Duration::hours(1);
    let d = Duration::days(1);
    log.policy(mon - h, "acme", policy(2, 2, None, "09:00-17:00"));
    let a = log.open_with(mon, "acme", "delivery", Some(("O-1", 5_000, "EUR")), None);
    let b = log.open(mon + h, "acme", "billing");
    let c = log.open(mon + d, "acme", "delivery");
    log.comment(mon + h, a, Role::Agent, Visibility::Public); // 3600 s, met (due 11:00)
    log.comment(mon + 5 * h, b, Role::Support, Visibility::Public); // 14400 s, breached (due 12:00)
    log.refund(mon + 6 * h, a, 700, "EUR");
    log.refund(mon + 6 * h, a, 300, "EUR");
    log.escalate(mon + d + h, c);
    log.close(mon + d + 2 * h, a); // resolution 26 h = 93600 s
    log.follow_up(mon + 2 * d, a, "acme", "billing"); // counted on a's delivery
    apply(&views, &log).await;

    let query = KpiQuery {
        org: Some(org_id("acme")),
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 05),
        bucket: KpiBucket::Day,
        grouping: KpiGrouping::ByOrg,
    };
    let now = mon + 10 * d;
    let rows = views.kpis(&query, now).expect("kpis");
    assert_eq!(rows.len(), 4);
    let monday = &rows[0];
    assert_eq!(monday.bucket, date!(2026 - 03 - 02));
    assert_eq!(monday.opened, 2);
    assert_eq!(monday.first_response_p50_s, Some(3_600));
    assert_eq!(monday.first_response_p90_s, Some(14_400));
    assert_eq!((monday.sla_met, monday.sla_breached), (1, 1));
    assert_eq!(monday.sla_compliance, Some(0.5));
    assert_eq!(monday.refunds["EUR"].count, 2);
    assert_eq!(monday.refunds["EUR"].amount_minor, 1_000);
    assert_eq!(monday.backlog_end, 2);
    let tuesday = &rows[1];
    assert_eq!(tuesday.opened, 1);
    assert_eq!(tuesday.escalated, 1);
    assert_eq!(tuesday.closed, 1);
    assert_eq!(tuesday.resolution_p50_s, Some(93_600));
    assert_eq!(tuesday.backlog_end, 2);
    // c's clock was paused by the escalation before its due time: nowhere.
    assert_eq!((tuesday.sla_met, tuesday.sla_breached), (0, 0));
    let wednesday = &rows[2];
    assert_eq!(wednesday.opened, 1);
    assert_eq!(wednesday.follow_ups, 1);
    assert_eq!(wednesday.backlog_end, 3);
    // The follow-up's first response (due Wed 11:00) is running: breached at `now`.
    assert_eq!(wednesday.sla_breached, 1);
    assert!(rows[3].first_response_p50_s.is_none());
    assert_eq!(rows[3].sla_compliance, None);
    assert_eq!(rows[3].backlog_end, 3);

    // Before its due time the running clock counts nowhere.
    let early = views.kpis(&query, mon + 2 * d + h).expect("kpis");
    assert_eq!(early[2].sla_breached, 0);

    let weekly = views
        .kpis(
            &KpiQuery {
                bucket: KpiBucket::Week,
                grouping: KpiGrouping::ByReason,
                ..query.clone()
            },
            now,
        )
        .expect("kpis");
    let reasons: Vec<Option<&str>> = weekly.iter().map(|r| r.reason.as_deref()).collect();
    assert_eq!(reasons, vec![Some("billing"), Some("delivery")]);
    let billing = &weekly[0];
    assert_eq!(
        (billing.opened, billing.follow_ups, billing.sla_breached),
        (2, 0, 2)
    );
    let delivery = &weekly[1];
    assert_eq!(
        (delivery.opened, delivery.closed, delivery.follow_ups),
        (2, 1, 1)
    );
    assert_eq!((delivery.sla_met, delivery.sla_breached), (1, 0));
    assert_eq!(delivery.backlog_end, 1);

    let all = views
        .kpis(
            &KpiQuery {
                org: None,
                ..query.clone()
            },
            now,
        )
        .expect("kpis");
    assert_eq!(all.len(), 4);
    let bad = KpiQuery {
        from: date!(2026 - 03 - 05),
        to: date!(2026 - 03 - 02),
        ..query
    };
    assert!(matches!(
        views.kpis(&bad, now),
        Err(ProjectionError::InvalidQuery(_))
    ));
}

#[tokio::test]
async fn waiting_for_a_position_times_out_as_lagging() {
    let (_dir, views) = temp_views();
    let mut log = Log::new();
    log.open(at("2026-03-02T09:00:00Z"), "acme", "delivery");
    apply(&views, &log).await;
    views
        .wait_for_position(1, StdDuration::from_millis(10))
        .await
        .expect("applied");
    match views
        .wait_for_position(2, StdDuration::from_millis(30))
        .await
    {
        Err(ProjectionError::Lagging {
            position: 2,
            applied: 1,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_live_runner_follows_the_log_and_rebuilds_into_a_fresh_copy() {
    let (dir, views) = temp_views();
    let desk = desk();
    let runner = views
        .start(desk.log.source(), RunConfig::SERVING)
        .expect("start");
    views
        .wait_for_position(desk.log.head(), StdDuration::from_secs(10))
        .await
        .expect("caught up");
    let before = views.dump().expect("dump");
    let generation = views.status().generation;
    let position = runner.rebuild().await.expect("rebuild");
    assert_eq!(position, desk.log.head());
    assert_eq!(views.status().generation, generation + 1);
    assert_eq!(views.dump().expect("dump"), before);
    runner.stop().await.expect("stop");
    drop(views);
    // Reopened, it serves the rebuilt copy.
    let views = docket_projections::Views::open(&dir.path().join("views")).expect("reopen");
    assert_eq!(views.status().generation, generation + 1);
    assert_eq!(views.dump().expect("dump"), before);
}

/// A rebuild hands each commit over to its writer in chunks while it
/// prepares the rest, and commits at an events or a changed-tickets bound:
/// whatever the chunks and bounds, the copy it serves is what one catch-up
/// of the same log leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_in_chunked_commits_leaves_what_a_catch_up_leaves() {
    let mut log = Log::new();
    let t0 = at("2026-03-02T08:00:00Z");
    let orgs = ["acme", "zeta", "orbit"];
    let mut tickets = Vec::new();
    for i in 0..120i64 {
        let when = t0 + Duration::minutes(37 * i);
        let org = orgs[(i % 3) as usize];
        let ticket = if i % 4 == 0 {
            log.open_with(when, org, "billing", Some(("ORD-7", 900, "EUR")), None)
        } else {
            log.open(when, org, "delivery")
        };
        tickets.push(ticket);
        // Earlier tickets move on while new ones open: a commit holds
        // records of tickets opened long before it.
        for (k, &older) in tickets.iter().enumerate().rev().take(5) {
            let later = when + Duration::minutes(k as i64 + 1);
            let _position = match (i + k as i64) % 7 {
                0 => log.close(later, older),
                1 => log.escalate(later, older),
                2 => log.refund(later, older, 100, "EUR"),
                3 => log.comment(later, older, Role::Customer, Visibility::Public),
                4 => log.comment(later, older, Role::Agent, Visibility::Internal),
                _ => log.comment(later, older, Role::Agent, Visibility::Public),
            };
        }
    }
    let (_served_dir, served) = temp_views();
    apply(&served, &log).await;
    let expected = served.dump().expect("dump");

    let (_dir, views) = temp_views();
    let bounds = [
        (usize::MAX, 7, 1),
        (13, usize::MAX, 3),
        (250, 40, 16),
        (usize::MAX, usize::MAX, 5),
    ];
    for (events_max, tickets_max, chunk_tickets) in bounds {
        let config = RunConfig {
            build_commit: CommitBound {
                events_max,
                tickets_max,
                chunk_tickets,
            },
            ..RunConfig::OFFLINE
        };
        let position = views
            .rebuild_offline(&log.source(), config, |_, _| {})
            .await
            .expect("rebuild");
        assert_eq!(position, log.head());
        assert!(
            views.dump().expect("dump") == expected,
            "rebuilt with commits of {events_max} events / {tickets_max} tickets in chunks of {chunk_tickets}"
        );
    }
}

#[tokio::test]
async fn a_catch_up_commits_every_commit_events_max_events_however_small_the_feeds_reads() {
    // 1,800 tickets, each opened and answered 4 times: 9,000 events, read
    // 4,096 at a time from a feed slower than the applier, so that the
    // applier finds one read's worth queued at a time.
    let mut log = Log::new();
    let t0 = at("2026-03-02T09:00:00Z");
    let tickets: Vec<TicketId> = (0..1_800)
        .map(|i| log.open(t0 + Duration::seconds(i), "acme", "delivery"))
        .collect();
    for round in 1..=4 {
        for (i, ticket) in tickets.iter().enumerate() {
            let when = t0 + Duration::hours(round) + Duration::seconds(i as i64);
            log.comment(when, *ticket, Role::Agent, Visibility::Public);
        }
    }
    let head = log.head();
    let commit_events_max = 5_000;
    let config = RunConfig {
        commit_events_max,
        ..RunConfig::OFFLINE
    };
    let (dir, views) = temp_views();
    let mut commits = Vec::new();
    let slow = log.source().with_read_delay(StdDuration::from_millis(400));
    views
        .catch_up(&slow, head, config, |position| commits.push(position))
        .await
        .expect("catch up");

    // A ticket's record is written once per commit: commits smaller than
    // asked for would write it more often. Only the last, at the target,
    // may be smaller.
    assert_eq!(commits.last(), Some(&head), "commits at {commits:?}");
    let mut from = 0;
    for &position in &commits[..commits.len() - 1] {
        assert!(
            position - from >= commit_events_max as u64,
            "commits at {commits:?}"
        );
        from = position;
    }
    let folded = views.dump().expect("dump");
    drop(views);

    // Everything folded was committed, and equals a catch-up that commits
    // every read.
    let reopened = docket_projections::Views::open(&dir.path().join("views")).expect("reopen");
    assert_eq!(reopened.applied_position(), head);
    assert_eq!(reopened.dump().expect("dump"), folded);
    let (_other_dir, per_read) = temp_views();
    apply(&per_read, &log).await;
    assert_eq!(per_read.dump().expect("dump"), folded);
}
