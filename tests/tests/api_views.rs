//! The read-model queries over HTTP: inboxes (filters, sorts, cursor
//! paging), search by number and order number, SLA lists and KPIs, with
//! their roles and org checks. One day of three tickets on the test clock,
//! with figures worked out by hand:
//!
//! - policy: first response within 2 business hours, every day 00:00-24:00
//!   UTC (so business time is wall time);
//! - A (delivery, ORD-A) opened 08:00, answered 09:00 (met, 3,600 s),
//!   closed 12:00 (resolution 14,400 s);
//! - B (billing, ORD-B) opened 08:30, never answered: due 10:30, breached;
//! - C (delivery) opened 09:30, never answered: due 11:30;
//! - queried at 10:45 (before A's close) and at 12:00.
//!
//! Page sizes, week and month KPI buckets and the bounds of query parameters
//! have tests of their own, each with its own tickets.

use std::time::Duration;

use docket_tests::harness::{
    around_the_clock_policy, id_of, open_body, token, Reply, ReplyExt, Server, Tokens, ORG,
    OTHER_ORG,
};
use serde_json::{json, Value};

const DAY: &str = "2031-03-03";

/// How long the breach timer may take to mark a breach after the clock moved.
const BREACH_WAIT: Duration = Duration::from_secs(10);

fn at(time: &str) -> String {
    format!("{DAY}T{time}:00Z")
}

fn body(category: &str, order: Option<&str>) -> Value {
    let mut body = open_body();
    body["reason"] = json!({ "category": category });
    if let Some(order) = order {
        body["order"] = json!({"number": order, "amount_minor": 5_000, "currency": "EUR"});
    }
    body
}

struct Day {
    server: Server,
    tokens: Tokens,
    a: String,
    b: String,
    c: String,
    a_number: String,
}

impl Day {
    /// Everything up to 10:45, A not closed yet.
    async fn start() -> Day {
        let server = Server::start().await;
        let tokens = Tokens::for_org(ORG);
        server.set_clock(&at("07:00")).await.expect_status(200);
        server.set_policy(ORG, &around_the_clock_policy(2)).await;
        server.set_clock(&at("08:00")).await.expect_status(200);
        let opened = server
            .open_ok(&tokens.customer, &body("delivery", Some("ORD-A")))
            .await;
        let a = id_of(&opened);
        let a_number = opened["number"].as_str().expect("number").to_owned();
        server.set_clock(&at("08:30")).await.expect_status(200);
        let b = id_of(
            &server
                .open_ok(&tokens.customer, &body("billing", Some("ORD-B")))
                .await,
        );
        server.set_clock(&at("09:00")).await.expect_status(200);
        server
            .command(&tokens.agent, &a, "comments", &json!({"body": "on it"}))
            .await
            .expect_status(200);
        server.set_clock(&at("09:30")).await.expect_status(200);
        let c = id_of(
            &server
                .open_ok(&tokens.customer, &body("delivery", None))
                .await,
        );
        server.set_clock(&at("10:45")).await.expect_status(200);
        Day {
            server,
            tokens,
            a,
            b,
            c,
            a_number,
        }
    }

    async fn close_a_at_noon(&self) {
        self.server.set_clock(&at("12:00")).await.expect_status(200);
        self.server
            .command(
                &self.tokens.agent,
                &self.a,
                "close",
                &json!({"resolution": "resolved"}),
            )
            .await
            .expect_status(200);
    }

    /// `GET path` as `token`, after every write so far.
    async fn read(&self, token: &str, path: &str) -> Reply {
        let head = self.server.head().await;
        self.server
            .get(path)
            .bearer_auth(token)
            .header("x-min-position", head.to_string())
            .reply()
            .await
    }
}

fn ids(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["ticket_id"].as_str().expect("ticket_id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inboxes_filter_sort_and_page() {
    let day = Day::start().await;
    let agent = &day.tokens.agent;
    let (a, b, c) = (&day.a, &day.b, &day.c);

    let open = day.read(agent, "/v1/inbox/open").await.expect_status(200);
    assert_eq!(ids(&open), [c.clone(), b.clone()], "newest update first");
    let waiting = day
        .read(agent, "/v1/inbox/waiting")
        .await
        .expect_status(200);
    assert_eq!(ids(&waiting), vec![a.to_owned()], "answered by an agent");
    let first = &open["items"][0];
    assert_eq!(first["org"], ORG);
    assert_eq!(first["status"], "open");
    assert_eq!(first["due_at"], at("11:30"));

    let by_due = day
        .read(agent, "/v1/inbox/open?sort=due")
        .await
        .expect_status(200);
    assert_eq!(ids(&by_due), [b.clone(), c.clone()], "earliest due first");
    let delivery = day
        .read(agent, "/v1/inbox/open?reason=delivery")
        .await
        .expect_status(200);
    assert_eq!(ids(&delivery), vec![c.to_owned()]);
    let later = day
        .read(agent, &format!("/v1/inbox/open?from={DAY}&to={DAY}"))
        .await
        .expect_status(200);
    assert_eq!(ids(&later).len(), 2, "from/to are inclusive dates");
    let none = day
        .read(agent, "/v1/inbox/open?from=2031-03-04")
        .await
        .expect_status(200);
    assert!(ids(&none).is_empty());

    // Paging one by one returns each ticket once, then no cursor.
    let page = day
        .read(agent, "/v1/inbox/open?limit=1")
        .await
        .expect_status(200);
    assert_eq!(ids(&page), vec![c.to_owned()]);
    let cursor = page["next_cursor"].as_str().expect("a next cursor");
    let page = day
        .read(agent, &format!("/v1/inbox/open?limit=1&cursor={cursor}"))
        .await
        .expect_status(200);
    assert_eq!(ids(&page), vec![b.to_owned()]);
    if let Some(cursor) = page["next_cursor"].as_str() {
        let last = day
            .read(agent, &format!("/v1/inbox/open?limit=1&cursor={cursor}"))
            .await
            .expect_status(200);
        assert!(ids(&last).is_empty(), "{last}");
        assert!(last["next_cursor"].is_null(), "{last}");
    }

    day.close_a_at_noon().await;
    let closed = day.read(agent, "/v1/inbox/closed").await.expect_status(200);
    assert_eq!(ids(&closed), vec![a.to_owned()]);
    let waiting = day
        .read(agent, "/v1/inbox/waiting")
        .await
        .expect_status(200);
    assert!(ids(&waiting).is_empty());

    // Roles and orgs.
    day.read(&day.tokens.customer, "/v1/inbox/open")
        .await
        .expect_problem(403, "forbidden");
    day.read(&day.tokens.analyst, "/v1/inbox/open")
        .await
        .expect_problem(403, "forbidden");
    day.read(&day.tokens.support, "/v1/inbox/open")
        .await
        .expect_status(200);
    let stranger = token("agent", OTHER_ORG);
    day.read(&stranger, &format!("/v1/inbox/open?org={ORG}"))
        .await
        .expect_problem(403, "forbidden_org");
    let own = day
        .read(&stranger, "/v1/inbox/open")
        .await
        .expect_status(200);
    assert!(ids(&own).is_empty(), "another org's inbox is its own");
    day.read(agent, "/v1/inbox/archived")
        .await
        .assert_problem_shape();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_number_and_order_number() {
    let day = Day::start().await;
    let agent = &day.tokens.agent;
    let found = day
        .read(agent, &format!("/v1/tickets?number={}", day.a_number))
        .await
        .expect_status(200);
    assert_eq!(ids(&found), vec![day.a.to_owned()]);
    let found = day
        .read(agent, "/v1/tickets?order_number=ORD-B")
        .await
        .expect_status(200);
    assert_eq!(ids(&found), vec![day.b.to_owned()]);
    let found = day
        .read(&day.tokens.customer, "/v1/tickets?order_number=ORD-A")
        .await
        .expect_status(200);
    assert_eq!(
        ids(&found),
        vec![day.a.to_owned()],
        "customers search their org"
    );
    let nothing = day
        .read(agent, "/v1/tickets?order_number=ORD-NONE")
        .await
        .expect_status(200);
    assert!(ids(&nothing).is_empty());
    let stranger = token("agent", OTHER_ORG);
    let hidden = day
        .read(&stranger, &format!("/v1/tickets?number={}", day.a_number))
        .await
        .expect_status(200);
    assert!(
        ids(&hidden).is_empty(),
        "no ticket of another org: {hidden}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_lists_breached_and_at_risk_clocks() {
    let day = Day::start().await;
    let agent = &day.tokens.agent;

    // B's first response was due at 10:30; the breach timer marks it.
    let deadline = std::time::Instant::now() + BREACH_WAIT;
    let breached = loop {
        let answer = day
            .read(agent, "/v1/sla?state=breached")
            .await
            .expect_status(200);
        if !ids(&answer).is_empty() || std::time::Instant::now() >= deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ids(&breached), vec![day.b.to_owned()], "{breached}");
    let item = &breached["items"][0];
    assert_eq!(item["clock"], "first_response");
    assert_eq!(item["breached"], true);
    assert_eq!(item["due_at"], at("10:30"));

    // C is due at 11:30: 45 minutes left at 10:45.
    let at_risk = day
        .read(agent, "/v1/sla?state=at_risk&within=3600")
        .await
        .expect_status(200);
    assert_eq!(ids(&at_risk), vec![day.c.to_owned()], "{at_risk}");
    assert_eq!(at_risk["items"][0]["business_seconds_left"], 2_700);
    assert_eq!(at_risk["items"][0]["breached"], false);
    let too_soon = day
        .read(agent, "/v1/sla?state=at_risk&within=2699")
        .await
        .expect_status(200);
    assert!(ids(&too_soon).is_empty(), "{too_soon}");

    day.read(&day.tokens.customer, "/v1/sla?state=breached")
        .await
        .expect_problem(403, "forbidden");
    day.read(
        &token("agent", OTHER_ORG),
        &format!("/v1/sla?state=breached&org={ORG}"),
    )
    .await
    .expect_problem(403, "forbidden_org");
    day.read(agent, "/v1/sla?state=late")
        .await
        .assert_problem_shape();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpis_count_the_day_exactly() {
    let day = Day::start().await;
    day.close_a_at_noon().await;
    let analyst = &day.tokens.analyst;

    let rows = day
        .read(analyst, &format!("/v1/kpis?from={DAY}&to={DAY}&bucket=day"))
        .await
        .expect_status(200);
    let rows = rows["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["bucket"], DAY);
    assert_eq!(row["org"], ORG);
    assert_eq!(row["opened"], 3);
    assert_eq!(row["closed"], 1);
    assert_eq!(row["escalated"], 0);
    assert_eq!(row["follow_ups"], 0);
    assert_eq!(row["first_response_p50_s"], 3_600);
    assert_eq!(row["first_response_p90_s"], 3_600);
    assert_eq!(row["resolution_p50_s"], 14_400);
    // A met (answered 09:00, due 10:00); B breached (due 10:30); C's clock
    // (due 11:30) was breached at noon too, unanswered.
    assert_eq!(row["sla_met"], 1, "{row}");
    assert_eq!(row["sla_breached"], 2, "{row}");
    assert_eq!(row["backlog_end"], 2);

    let by_reason = day
        .read(
            analyst,
            &format!("/v1/kpis?from={DAY}&to={DAY}&bucket=day&group_by=reason"),
        )
        .await
        .expect_status(200);
    let by_reason = by_reason["rows"].as_array().expect("rows");
    let of = |reason: &str| {
        by_reason
            .iter()
            .find(|row| row["reason"] == reason)
            .unwrap_or_else(|| panic!("no {reason} row in {by_reason:?}"))
    };
    assert_eq!(by_reason.len(), 2, "{by_reason:?}");
    assert_eq!(of("delivery")["opened"], 2);
    assert_eq!(of("delivery")["closed"], 1);
    assert_eq!(of("delivery")["resolution_p50_s"], 14_400);
    assert_eq!(of("billing")["opened"], 1);
    assert_eq!(of("billing")["sla_breached"], 1);
    assert!(of("billing")["first_response_p50_s"].is_null());

    // A week and a month hold the same day.
    for bucket in ["week", "month"] {
        let rows = day
            .read(
                analyst,
                &format!("/v1/kpis?from={DAY}&to={DAY}&bucket={bucket}"),
            )
            .await
            .expect_status(200);
        assert_eq!(rows["rows"][0]["opened"], 3, "{bucket}: {rows}");
    }

    day.read(
        &day.tokens.customer,
        &format!("/v1/kpis?from={DAY}&to={DAY}"),
    )
    .await
    .expect_problem(403, "forbidden");
    day.read(
        &token("analyst", OTHER_ORG),
        &format!("/v1/kpis?org={ORG}&from={DAY}&to={DAY}"),
    )
    .await
    .expect_problem(403, "forbidden_org");
    day.read(analyst, "/v1/kpis?from=2031-03-04&to=2031-03-03")
        .await
        .assert_problem_shape();
}

/// "`limit` (default 50, max 500)" and "`sort=updated` (default, newest
/// first)" (contract); "`limit` outside 1..500 is 422 `invalid_query`" and
/// a malformed cursor is 400 `invalid_cursor` (docs/api.md). 55 open
/// tickets, one a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_page_holds_50_tickets_unless_asked_otherwise() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut opened = Vec::new();
    for minute in 0..55 {
        server
            .set_clock(&format!("{DAY}T08:{minute:02}:00Z"))
            .await
            .expect_status(200);
        opened.push(id_of(&server.open_ok(&tokens.customer, &open_body()).await));
    }
    let newest_first: Vec<String> = opened.into_iter().rev().collect();
    let head = server.head().await;
    let read = |path: &str| {
        server
            .get(path)
            .bearer_auth(&tokens.agent)
            .header("x-min-position", head.to_string())
    };

    let first = read("/v1/inbox/open").reply().await.expect_status(200);
    assert_eq!(
        ids(&first),
        newest_first[..50],
        "50 by default, newest first"
    );
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next cursor after a full page");
    let second = read(&format!("/v1/inbox/open?cursor={cursor}"))
        .reply()
        .await
        .expect_status(200);
    assert_eq!(ids(&second), newest_first[50..]);
    assert!(second["next_cursor"].is_null(), "{second}");

    let by_updated = read("/v1/inbox/open?sort=updated")
        .reply()
        .await
        .expect_status(200);
    assert_eq!(
        by_updated["items"], first["items"],
        "sort=updated is the default order"
    );
    let whole = read("/v1/inbox/open?limit=500")
        .reply()
        .await
        .expect_status(200);
    assert_eq!(ids(&whole), newest_first);
    assert!(whole["next_cursor"].is_null(), "{whole}");

    for limit in ["0", "501"] {
        read(&format!("/v1/inbox/open?limit={limit}"))
            .reply()
            .await
            .expect_problem(422, "invalid_query");
    }
    read("/v1/inbox/open?cursor=not-a-cursor")
        .reply()
        .await
        .expect_problem(400, "invalid_cursor");
}

/// KPI rows: "`bucket` is the UTC start date of the bucket (`YYYY-MM-DD`; a
/// week's Monday, a month's 1st); one row for every bucket overlapping the
/// inclusive dates `from`..`to`, empty buckets included" (contract v1.1).
/// Tickets opened on both sides of a Sunday-to-Monday and a month's turn,
/// one before `from` and one after `to` inside the overlapping buckets,
/// queried from Wednesday 2031-01-29 to Wednesday 2031-03-05.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpi_weeks_start_on_mondays_and_months_on_the_first() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut closed_later = None;
    for now in [
        "2031-01-26T12:00:00Z", // Sunday: week of 01-20, January
        "2031-01-30T12:00:00Z", // Thursday: week of 01-27, January
        "2031-02-02T23:59:59Z", // Sunday: week of 01-27, February
        "2031-02-03T00:00:00Z", // Monday: week of 02-03, February
    ] {
        server.set_clock(now).await.expect_status(200);
        let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
        closed_later.get_or_insert(id);
    }
    let closed_later = closed_later.expect("a ticket was opened");
    // Monday: week of 02-17, February.
    server
        .set_clock("2031-02-17T09:00:00Z")
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &closed_later,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    for now in [
        "2031-03-05T23:59:59Z", // Wednesday, `to`: week of 03-03, March
        "2031-03-30T12:00:00Z", // Sunday: week of 03-24, March
    ] {
        server.set_clock(now).await.expect_status(200);
        server.open_ok(&tokens.customer, &open_body()).await;
    }
    // Every bucket has ended.
    server
        .set_clock("2031-04-02T00:00:00Z")
        .await
        .expect_status(200);
    let head = server.head().await;
    let rows = |bucket: &str| {
        server
            .get(&format!(
                "/v1/kpis?from=2031-01-29&to=2031-03-05&bucket={bucket}"
            ))
            .bearer_auth(&tokens.analyst)
            .header("x-min-position", head.to_string())
    };
    // (bucket, opened, closed, backlog_end), by bucket.
    let counts = |answer: &Value| -> Vec<Value> {
        let rows = answer["rows"].as_array().expect("rows");
        let mut counts: Vec<Value> = rows
            .iter()
            .map(|row| {
                assert_eq!(row["org"], ORG, "{row}");
                json!([
                    row["bucket"],
                    row["opened"],
                    row["closed"],
                    row["backlog_end"]
                ])
            })
            .collect();
        counts.sort_by_key(|row| row[0].as_str().unwrap_or_default().to_owned());
        counts
    };

    let weeks = rows("week").reply().await.expect_status(200);
    assert_eq!(
        counts(&weeks),
        [
            json!(["2031-01-27", 2, 0, 3]),
            json!(["2031-02-03", 1, 0, 4]),
            json!(["2031-02-10", 0, 0, 4]),
            json!(["2031-02-17", 0, 1, 3]),
            json!(["2031-02-24", 0, 0, 3]),
            json!(["2031-03-03", 1, 0, 4]),
        ],
        "{weeks}"
    );
    let months = rows("month").reply().await.expect_status(200);
    assert_eq!(
        counts(&months),
        [
            json!(["2031-01-01", 2, 0, 2]),
            json!(["2031-02-01", 2, 1, 3]),
            json!(["2031-03-01", 2, 0, 5]),
        ],
        "{months}"
    );
}

/// "`GET /v1/sla?state=at_risk` requires `within` ≥ 0" (docs/api.md): a
/// negative window is 422 `invalid_query`; a window of 0 is a window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_at_risk_window_is_invalid_query() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server.open_ok(&tokens.customer, &open_body()).await;
    let read = |path: &str| server.get(path).bearer_auth(&tokens.agent).reply();
    read("/v1/sla?state=at_risk&within=-1")
        .await
        .expect_problem(422, "invalid_query");
    let none = read("/v1/sla?state=at_risk&within=0")
        .await
        .expect_status(200);
    assert_eq!(none["items"], json!([]), "no clock has 0 s left");
}
