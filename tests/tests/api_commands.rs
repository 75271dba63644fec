//! Every command of the contract against the real `docketd`: success status,
//! headers and body, the status rules, and what the ticket view and the
//! history record afterwards.

use docket_tests::harness::{id_of, open_body, open_body_with_order, Server, Tokens, ORG};
use serde_json::{json, Value};

/// The members every command answer carries, checked against its headers.
#[track_caller]
fn assert_answer(reply: &docket_tests::harness::Reply, status: u16, ticket_status: &str) -> Value {
    let body = reply.expect_status(status);
    let version = body["version"].as_u64().expect("version");
    assert_eq!(
        reply.header("etag"),
        Some(format!("\"{version}\"").as_str())
    );
    assert!(body["ticket_id"]
        .as_str()
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
    let number = body["number"].as_str().expect("number");
    assert!(
        number.len() == 11 && number.bytes().all(|b| b.is_ascii_digit()),
        "number {number:?}"
    );
    assert_eq!(body["status"], ticket_status);
    assert!(body["position"].as_u64().is_some_and(|p| p > 0), "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_answers_201_with_location_etag_and_position() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let reply = server.open(&tokens.customer, &open_body()).await;
    let body = assert_answer(&reply, 201, "open");
    let id = id_of(&body);
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/tickets/{id}").as_str())
    );
    assert_eq!(body["version"], 1);
    assert!(
        body.get("follow_up_of").is_none_or(Value::is_null),
        "{body}"
    );
    let version = uuid::Uuid::parse_str(&id).expect("uuid").get_version_num();
    assert_eq!(version, 7, "ticket ids are UUID v7");

    let view = server.ticket(&tokens.agent, &id).await;
    assert_eq!(view.header("etag"), Some("\"1\""));
    let view = view.expect_status(200);
    assert_eq!(view["ticket_id"], body["ticket_id"]);
    assert_eq!(view["number"], body["number"]);
    assert_eq!(view["org"], ORG);
    assert_eq!(view["status"], "open");
    assert_eq!(view["subject"], "Parcel never arrived");
    assert_eq!(view["reason"]["category"], "delivery");
    assert_eq!(view["impact"], "medium", "the contract's default impact");
    assert_eq!(view["channel"], "portal", "the contract's default channel");
    assert_eq!(view["escalated"], false);
    assert_eq!(view["refunded_minor"], 0);
    assert_eq!(view["follow_up_of"], Value::Null);
    assert_eq!(view["follow_ups"], json!([]));
    assert_eq!(view["closed_at"], Value::Null);
    assert_eq!(view["resolution"], Value::Null);
    assert_eq!(view["comments"], json!([]));
    assert_eq!(view["version"], 1);
    assert!(view["opened_at"].is_string() && view["updated_at"] == view["opened_at"]);

    let events = server.history_events(&id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ticket_opened");
    assert_eq!(events[0]["version"], 1);
    assert_eq!(events[0]["position"], body["position"]);
    assert_eq!(
        events[0]["actor"],
        json!({"sub": "customer@acme", "role": "customer"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_unique_and_every_optional_field_is_kept() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut body = open_body_with_order(5_000, "EUR");
    body["customer_code"] = json!("C-42");
    body["impact"] = json!("critical");
    body["channel"] = json!("email");
    body["org"] = json!(ORG);
    body["reason"]["detail"] = json!("courier lost it");
    let first = server.open_ok(&tokens.agent, &body).await;
    let second = server.open_ok(&tokens.agent, &open_body()).await;
    assert_ne!(first["number"], second["number"]);
    assert_ne!(first["ticket_id"], second["ticket_id"]);
    assert!(second["position"].as_u64() > first["position"].as_u64());

    let view = server
        .ticket(&tokens.customer, &id_of(&first))
        .await
        .expect_status(200);
    assert_eq!(view["customer_code"], "C-42");
    assert_eq!(view["impact"], "critical");
    assert_eq!(view["channel"], "email");
    assert_eq!(
        view["order"],
        json!({"number": "ORD-1001", "amount_minor": 5000, "currency": "EUR"})
    );
    assert_eq!(
        view["reason"],
        json!({"category": "delivery", "detail": "courier lost it"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_move_the_status_as_the_contract_says() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);

    // An agent's public answer: waiting for the customer.
    let reply = server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "We are on it."}),
        )
        .await;
    let answer = assert_answer(&reply, 200, "waiting");
    assert_eq!(answer["version"], 2);
    assert!(reply.header("location").is_none());
    assert!(answer.get("refunded_minor").is_none_or(Value::is_null));

    // Internal comments change nothing.
    let reply = server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "Courier contacted.", "visibility": "internal"}),
        )
        .await;
    assert_eq!(assert_answer(&reply, 200, "waiting")["version"], 3);

    // The customer answers: open again.
    let reply = server
        .command(
            &tokens.customer,
            &id,
            "comments",
            &json!({"body": "Any news?", "visibility": "public"}),
        )
        .await;
    let answer = assert_answer(&reply, 200, "open");
    assert_eq!(answer["version"], 4);

    let view = server.ticket(&tokens.auditor, &id).await.expect_status(200);
    let comments = view["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[0]["author"], "agent@acme");
    assert_eq!(comments[0]["role"], "agent");
    assert_eq!(comments[0]["body"], "We are on it.");
    assert_eq!(comments[0]["visibility"], "public");
    assert_eq!(comments[1]["visibility"], "internal");
    assert_eq!(comments[2]["author"], "customer@acme");
    for comment in comments {
        assert!(comment["comment_id"].is_string() && comment["at"].is_string());
    }
    let types: Vec<Value> = server
        .history_events(&id)
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            "ticket_opened",
            "comment_added",
            "comment_added",
            "comment_added"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_waits_for_support_and_stays_recorded() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let reply = server
        .command(
            &tokens.agent,
            &id,
            "escalations",
            &json!({"reason": "payment_provider", "note": "PSP holds the money"}),
        )
        .await;
    let answer = assert_answer(&reply, 200, "waiting");
    assert_eq!(answer["version"], 2);

    // The customer comments on the escalated ticket: open, still escalated.
    let reply = server
        .command(
            &tokens.customer,
            &id,
            "comments",
            &json!({"body": "Hello?"}),
        )
        .await;
    assert_answer(&reply, 200, "open");
    // Support answers publicly: waiting.
    let reply = server
        .command(
            &tokens.support,
            &id,
            "comments",
            &json!({"body": "Support here."}),
        )
        .await;
    assert_answer(&reply, 200, "waiting");

    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["escalated"], true);
    assert_eq!(view["status"], "waiting");
    let events = server.history_events(&id).await;
    assert_eq!(events[1]["type"], "escalated");
    assert_eq!(events[1]["data"]["reason"], "payment_provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_answer_the_running_total() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(5_000, "EUR"))
            .await,
    );
    let refund =
        |amount: u64| json!({"amount_minor": amount, "currency": "EUR", "reason": "damaged"});
    let reply = server
        .command(&tokens.agent, &id, "refunds", &refund(1_250))
        .await;
    let first = assert_answer(&reply, 200, "open");
    assert_eq!(first["refunded_minor"], 1_250);
    assert_eq!(first["version"], 2);

    // Support may refund an escalated ticket; the total keeps running.
    server
        .command(
            &tokens.agent,
            &id,
            "escalations",
            &json!({"reason": "invoice_question"}),
        )
        .await
        .expect_status(200);
    let reply = server
        .command(&tokens.support, &id, "refunds", &refund(3_750))
        .await;
    let second = assert_answer(&reply, 200, "waiting");
    assert_eq!(
        second["refunded_minor"], 5_000,
        "the whole order is refunded"
    );
    assert_eq!(second["version"], 4);

    let view = server
        .ticket(&tokens.customer, &id)
        .await
        .expect_status(200);
    assert_eq!(view["refunded_minor"], 5_000);
    let events = server.history_events(&id).await;
    assert_eq!(events[1]["type"], "refund_issued");
    assert_eq!(events[3]["type"], "refund_issued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_final_and_recorded_in_the_view() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let reply = server
        .command(
            &tokens.agent,
            &id,
            "close",
            &json!({"resolution": "duplicate", "note": "see the other one"}),
        )
        .await;
    let answer = assert_answer(&reply, 200, "closed");
    assert_eq!(answer["version"], 2);
    let view = server
        .ticket(&tokens.customer, &id)
        .await
        .expect_status(200);
    assert_eq!(view["status"], "closed");
    assert_eq!(view["resolution"], "duplicate");
    assert!(view["closed_at"].is_string());
    assert_eq!(view["closed_at"], view["updated_at"]);
    let events = server.history_events(&id).await;
    assert_eq!(events.last().expect("events")["type"], "ticket_closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_links_both_tickets_in_one_append() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut parent_body = open_body_with_order(900, "USD");
    parent_body["customer_code"] = json!("C-7");
    parent_body["impact"] = json!("high");
    let parent = server.open_ok(&tokens.customer, &parent_body).await;
    let parent_id = id_of(&parent);
    server
        .command(
            &tokens.agent,
            &parent_id,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);

    let reply = server
        .command(
            &tokens.customer,
            &parent_id,
            "follow-ups",
            &json!({"subject": "Still broken", "channel": "chat"}),
        )
        .await;
    let answer = assert_answer(&reply, 201, "open");
    let child_id = id_of(&answer);
    assert_ne!(child_id, parent_id);
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/tickets/{child_id}").as_str())
    );
    assert_eq!(answer["follow_up_of"], parent_id.as_str());
    assert_eq!(answer["version"], 1);
    assert_ne!(answer["number"], parent["number"]);

    // The parent records the link, as the later of the two events.
    let parent_events = server.history_events(&parent_id).await;
    let link = parent_events.last().expect("parent events");
    assert_eq!(link["type"], "follow_up_opened");
    assert_eq!(link["version"], 3);
    assert_eq!(link["data"]["follow_up_id"], child_id.as_str());
    assert_eq!(
        link["position"], answer["position"],
        "the answer's position is the later event's"
    );
    let child_events = server.history_events(&child_id).await;
    assert_eq!(child_events.len(), 1);
    assert_eq!(child_events[0]["type"], "ticket_opened");
    let position = answer["position"].as_u64().expect("position");
    assert_eq!(
        child_events[0]["position"],
        position - 1,
        "one append: adjacent positions"
    );

    // Fields default to the parent's; given ones win.
    let child = server
        .ticket(&tokens.agent, &child_id)
        .await
        .expect_status(200);
    assert_eq!(child["follow_up_of"], parent_id.as_str());
    assert_eq!(child["subject"], "Still broken");
    assert_eq!(child["channel"], "chat");
    assert_eq!(child["description"], parent_body["description"]);
    assert_eq!(child["impact"], "high");
    assert_eq!(child["customer_code"], "C-7");
    assert_eq!(child["order"]["amount_minor"], 900);
    assert_eq!(child["org"], ORG);
    let parent_view = server
        .ticket(&tokens.agent, &parent_id)
        .await
        .expect_status(200);
    assert_eq!(parent_view["follow_ups"], json!([child_id]));
    assert_eq!(parent_view["status"], "closed");
    assert_eq!(parent_view["version"], 3);

    // An agent may follow up too, with an empty body.
    let second = server
        .command(&tokens.agent, &parent_id, "follow-ups", &json!({}))
        .await;
    let second = assert_answer(&second, 201, "open");
    assert_eq!(second["follow_up_of"], parent_id.as_str());
    let parent_view = server
        .ticket(&tokens.agent, &parent_id)
        .await
        .expect_status(200);
    assert_eq!(parent_view["follow_ups"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_carry_every_member_in_version_order() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(100, "EUR"))
            .await,
    );
    for (suffix, body) in [
        ("comments", json!({"body": "one"})),
        ("escalations", json!({"reason": "other"})),
        (
            "refunds",
            json!({"amount_minor": 100, "currency": "EUR", "reason": "r"}),
        ),
        ("close", json!({"resolution": "resolved"})),
    ] {
        server
            .command(&tokens.agent, &id, suffix, &body)
            .await
            .expect_status(200);
    }
    let history = server
        .history(&tokens.auditor, &id)
        .await
        .expect_status(200);
    assert_eq!(history["ticket_id"], id.as_str());
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "ticket_opened",
            "comment_added",
            "escalated",
            "refund_issued",
            "ticket_closed"
        ]
    );
    let mut last_position = 0;
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["version"], index as u64 + 1);
        let position = event["position"].as_u64().expect("position");
        assert!(position > last_position);
        last_position = position;
        assert!(event["event_id"].is_string() && event["at"].is_string());
        assert!(event["actor"]["sub"].is_string() && event["actor"]["role"].is_string());
        assert!(event["data"].is_object(), "{event}");
        let hash = event["hash"].as_str().expect("hash");
        assert!(!hash.is_empty() && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
