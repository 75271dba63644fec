//! Idempotent retries and concurrent commands: a retry gets the first answer
//! and appends nothing; concurrent commands on one ticket either all apply
//! (no `If-Match`) or all but one conflict cleanly (412), and the history
//! holds exactly the successes with contiguous versions.

use std::collections::BTreeSet;

use docket_tests::harness::{
    id_of, open_body, open_body_with_order, Reply, ReplyExt, Server, Tokens, ORG,
};
use futures::future::join_all;
use serde_json::{json, Value};

/// Concurrent commands in one test.
const CONCURRENT_COMMANDS: usize = 20;

/// A command sent with an `Idempotency-Key`.
async fn keyed(server: &Server, token: &str, path: &str, key: &str, body: &Value) -> Reply {
    server
        .post(path)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .reply()
        .await
}

#[track_caller]
fn assert_same_answer(first: &Reply, again: &Reply) {
    assert_eq!(again.status, first.status, "{}", again.text());
    assert_eq!(again.json(), first.json(), "the same body");
    for header in ["etag", "location", "content-type"] {
        assert_eq!(again.header(header), first.header(header), "{header}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_open_answers_the_first_answer_and_opens_one_ticket() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let before = server.feed().await.len();
    let first = keyed(
        &server,
        &tokens.customer,
        "/v1/tickets",
        "open-1",
        &open_body(),
    )
    .await;
    first.expect_status(201);
    let again = keyed(
        &server,
        &tokens.customer,
        "/v1/tickets",
        "open-1",
        &open_body(),
    )
    .await;
    assert_same_answer(&first, &again);
    let feed = server.feed().await;
    assert_eq!(feed.len(), before + 1, "one set of events");
    assert_eq!(server.history_events(&id_of(&first.json())).await.len(), 1);

    // The same key with another body is refused, and appends nothing.
    let mut other = open_body();
    other["subject"] = json!("Another subject");
    keyed(&server, &tokens.customer, "/v1/tickets", "open-1", &other)
        .await
        .expect_problem(422, "idempotency_key_reused");
    // Keys belong to a `sub`: another user's key of the same text is new.
    let second = keyed(
        &server,
        &tokens.agent,
        "/v1/tickets",
        "open-1",
        &open_body(),
    )
    .await;
    assert_ne!(
        second.expect_status(201)["ticket_id"],
        first.json()["ticket_id"]
    );
    assert_eq!(server.feed().await.len(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_ticket_commands_append_once() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(1_000, "EUR"))
            .await,
    );
    let refunds = format!("/v1/tickets/{id}/refunds");
    let refund = json!({"amount_minor": 300, "currency": "EUR", "reason": "late"});
    let first = keyed(&server, &tokens.agent, &refunds, "refund-1", &refund).await;
    assert_eq!(first.expect_status(200)["refunded_minor"], 300);

    // Another command in between: the retry still gets the first answer.
    server
        .command(&tokens.agent, &id, "comments", &json!({"body": "refunded"}))
        .await
        .expect_status(200);
    let again = keyed(&server, &tokens.agent, &refunds, "refund-1", &refund).await;
    assert_same_answer(&first, &again);
    assert_eq!(again.json()["version"], 2);
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["refunded_minor"], 300, "refunded once");
    assert_eq!(server.history_events(&id).await.len(), 3);

    // The key names the request: another path or body is a reuse.
    let comments = format!("/v1/tickets/{id}/comments");
    keyed(
        &server,
        &tokens.agent,
        &comments,
        "refund-1",
        &json!({"body": "x"}),
    )
    .await
    .expect_problem(422, "idempotency_key_reused");
    let more = json!({"amount_minor": 301, "currency": "EUR", "reason": "late"});
    keyed(&server, &tokens.agent, &refunds, "refund-1", &more)
        .await
        .expect_problem(422, "idempotency_key_reused");

    // A retry whose If-Match no longer holds (the ticket moved on) still
    // gets the first answer, not 412.
    let guarded = |key: &'static str| {
        server
            .post(&comments)
            .bearer_auth(&tokens.agent)
            .header("idempotency-key", key)
            .header("if-match", "\"3\"")
            .json(&json!({"body": "guarded"}))
    };
    let first = guarded("guarded-1").reply().await;
    assert_eq!(first.expect_status(200)["version"], 4);
    server
        .command(&tokens.agent, &id, "comments", &json!({"body": "moves on"}))
        .await
        .expect_status(200);
    let again = guarded("guarded-1").reply().await;
    assert_same_answer(&first, &again);
    guarded("guarded-2")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    assert_eq!(server.history_events(&id).await.len(), 5);

    // Comments and closes replay too.
    let first = keyed(
        &server,
        &tokens.customer,
        &comments,
        "c-1",
        &json!({"body": "thanks"}),
    )
    .await;
    let again = keyed(
        &server,
        &tokens.customer,
        &comments,
        "c-1",
        &json!({"body": "thanks"}),
    )
    .await;
    assert_same_answer(&first, &again);
    let close = format!("/v1/tickets/{id}/close");
    let body = json!({"resolution": "resolved"});
    let first = keyed(&server, &tokens.agent, &close, "close-1", &body).await;
    first.expect_status(200);
    let again = keyed(&server, &tokens.agent, &close, "close-1", &body).await;
    assert_same_answer(&first, &again);
    assert_eq!(server.history_events(&id).await.len(), 7);

    // A refused command records nothing: its retry is decided afresh.
    let late = json!({"body": "too late"});
    for _ in 0..2 {
        keyed(&server, &tokens.customer, &comments, "late-1", &late)
            .await
            .expect_problem(409, "ticket_closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_follow_up_links_once() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let parent = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.agent,
            &parent,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    let path = format!("/v1/tickets/{parent}/follow-ups");
    let body = json!({"subject": "Again"});
    let first = keyed(&server, &tokens.customer, &path, "fu-1", &body).await;
    first.expect_status(201);
    let again = keyed(&server, &tokens.customer, &path, "fu-1", &body).await;
    assert_same_answer(&first, &again);
    let parent_events = server.history_events(&parent).await;
    let links = parent_events
        .iter()
        .filter(|e| e["type"] == "follow_up_opened")
        .count();
    assert_eq!(links, 1);
    let view = server
        .ticket(&tokens.agent, &parent)
        .await
        .expect_status(200);
    assert_eq!(view["follow_ups"], json!([first.json()["ticket_id"]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_append_once() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let path = format!("/v1/tickets/{id}/comments");
    let body = json!({"body": "only once"});
    for round in 0..3 {
        let key = format!("same-{round}");
        let replies = join_all(
            (0..CONCURRENT_COMMANDS).map(|_| keyed(&server, &tokens.agent, &path, &key, &body)),
        )
        .await;
        let successes: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
        assert!(!successes.is_empty(), "at least one request applies");
        for reply in &replies {
            if reply.status == 200 {
                assert_same_answer(successes[0], reply);
            } else {
                // The first request of the key still in flight.
                reply.expect_problem(409, "idempotency_in_progress");
            }
        }
    }
    let events = server.history_events(&id).await;
    assert_eq!(events.len(), 1 + 3, "one comment per key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_without_if_match_all_apply() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let bodies: Vec<Value> = (0..CONCURRENT_COMMANDS)
        .map(|i| json!({"body": format!("comment {i}"), "visibility": "internal"}))
        .collect();
    let replies = join_all(
        bodies
            .iter()
            .map(|body| server.command(&tokens.agent, &id, "comments", body)),
    )
    .await;
    let mut versions = BTreeSet::new();
    let mut positions = BTreeSet::new();
    for reply in &replies {
        let answer = reply.expect_status(200);
        versions.insert(answer["version"].as_u64().expect("version"));
        positions.insert(answer["position"].as_u64().expect("position"));
    }
    let expected: BTreeSet<u64> = (2..=CONCURRENT_COMMANDS as u64 + 1).collect();
    assert_eq!(versions, expected, "every answer has its own version");
    assert_eq!(positions.len(), CONCURRENT_COMMANDS);

    let events = server.history_events(&id).await;
    assert_eq!(events.len(), CONCURRENT_COMMANDS + 1);
    assert_contiguous(&events);
    // Each answer's position is its own event's.
    let recorded: BTreeSet<u64> = events[1..]
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(recorded, positions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_with_if_match_conflict_cleanly() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let path = format!("/v1/tickets/{id}/comments");
    let replies = join_all((0..CONCURRENT_COMMANDS).map(|i| {
        server
            .post(&path)
            .bearer_auth(&tokens.agent)
            .header("if-match", "\"1\"")
            .json(&json!({"body": format!("racer {i}")}))
            .reply()
    }))
    .await;
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one command applies on version 1");
    assert_eq!(winners[0].json()["version"], 2);
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.expect_problem(412, "version_mismatch");
    }
    let events = server.history_events(&id).await;
    assert_eq!(events.len(), 2);
    assert_contiguous(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_order() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(1_000, "EUR"))
            .await,
    );
    let refund = json!({"amount_minor": 100, "currency": "EUR", "reason": "split"});
    let replies = join_all(
        (0..CONCURRENT_COMMANDS).map(|_| server.command(&tokens.agent, &id, "refunds", &refund)),
    )
    .await;
    let mut totals = BTreeSet::new();
    for reply in &replies {
        if reply.status == 200 {
            totals.insert(reply.json()["refunded_minor"].as_u64().expect("total"));
        } else {
            reply.expect_problem(422, "refund_exceeds_order");
        }
    }
    let expected: BTreeSet<u64> = (1..=10).map(|n| n * 100).collect();
    assert_eq!(
        totals, expected,
        "ten refunds, each answering its running total"
    );
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["refunded_minor"], 1_000);
    let events = server.history_events(&id).await;
    assert_eq!(events.len(), 11);
    assert_contiguous(&events);
}

/// Versions 1..=n in order, positions strictly increasing.
#[track_caller]
fn assert_contiguous(events: &[Value]) {
    let mut last_position = 0;
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["version"], index as u64 + 1, "{event}");
        let position = event["position"].as_u64().expect("position");
        assert!(position > last_position, "{event}");
        last_position = position;
    }
}
