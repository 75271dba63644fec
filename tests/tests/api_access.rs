//! Who may do what: the role × endpoint matrix, org isolation (another org's
//! ticket answers exactly as an unknown one), support's view of escalated
//! tickets only, and customers' view without internal comments.

use docket_tests::harness::{
    id_of, open_body, open_body_with_order, token, Reply, ReplyExt, Server, Tokens, ORG, OTHER_ORG,
};
use serde_json::{json, Value};

const ROLES: [&str; 6] = [
    "customer", "agent", "support", "auditor", "analyst", "admin",
];

/// An open ticket with an order, escalated, so that support sees it.
async fn escalated_ticket(server: &Server, tokens: &Tokens) -> String {
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(10_000, "EUR"))
            .await,
    );
    server
        .command(
            &tokens.agent,
            &id,
            "escalations",
            &json!({"reason": "cannot_help"}),
        )
        .await
        .expect_status(200);
    id
}

async fn closed_ticket(server: &Server, tokens: &Tokens) -> String {
    let id = escalated_ticket(server, tokens).await;
    server
        .command(
            &tokens.agent,
            &id,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    id
}

fn token_of<'a>(tokens: &'a Tokens, role: &str) -> &'a str {
    tokens
        .all()
        .into_iter()
        .find(|(r, _)| *r == role)
        .map(|(_, t)| t)
        .expect("a role of the contract")
}

/// Asserts a success status, or a 403 `forbidden` where the role may not.
#[track_caller]
fn assert_allowed(reply: &Reply, allowed: bool, success: u16, what: &str, role: &str) {
    if allowed {
        assert_eq!(reply.status, success, "{role} {what}: {}", reply.text());
    } else {
        assert_eq!(
            (reply.status, reply.problem_code().as_deref()),
            (403, Some("forbidden")),
            "{role} {what}: {}",
            reply.text()
        );
        reply.assert_problem_shape();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_matrix_of_commands() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    for role in ROLES {
        let token = token_of(&tokens, role);
        let may = |roles: &[&str]| roles.contains(&role);

        let reply = server.open(token, &open_body()).await;
        assert_allowed(&reply, may(&["customer", "agent"]), 201, "open", role);

        let id = escalated_ticket(&server, &tokens).await;
        let reply = server
            .command(token, &id, "comments", &json!({"body": "public"}))
            .await;
        assert_allowed(
            &reply,
            may(&["customer", "agent", "support"]),
            200,
            "comment",
            role,
        );
        let reply = server
            .command(
                token,
                &id,
                "comments",
                &json!({"body": "internal", "visibility": "internal"}),
            )
            .await;
        assert_allowed(
            &reply,
            may(&["agent", "support"]),
            200,
            "internal comment",
            role,
        );
        let refund = json!({"amount_minor": 100, "currency": "EUR", "reason": "r"});
        let reply = server.command(token, &id, "refunds", &refund).await;
        assert_allowed(&reply, may(&["agent", "support"]), 200, "refund", role);
        let reply = server
            .command(token, &id, "close", &json!({"resolution": "resolved"}))
            .await;
        assert_allowed(&reply, may(&["agent", "support"]), 200, "close", role);

        let fresh = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
        let reply = server
            .command(
                token,
                &fresh,
                "escalations",
                &json!({"reason": "account_access"}),
            )
            .await;
        assert_allowed(&reply, may(&["agent"]), 200, "escalate", role);

        let parent = closed_ticket(&server, &tokens).await;
        let reply = server
            .command(token, &parent, "follow-ups", &json!({}))
            .await;
        assert_allowed(&reply, may(&["customer", "agent"]), 201, "follow-up", role);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_matrix_of_reads() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = escalated_ticket(&server, &tokens).await;
    for role in ROLES {
        let token = token_of(&tokens, role);
        let may = role != "analyst";
        let reply = server.ticket(token, &id).await;
        assert_allowed(&reply, may, 200, "GET ticket", role);
        let reply = server.history(token, &id).await;
        assert_allowed(&reply, may, 200, "GET history", role);
        if may {
            assert_eq!(
                reply.json()["events"].as_array().map(Vec::len),
                Some(2),
                "{role}"
            );
        }
    }
    // Only platform-wide auditors and admins read the event feed.
    for (token, status) in [
        (token("auditor", "*"), 200),
        (token("admin", "*"), 200),
        (token("auditor", ORG), 403),
        (token("agent", ORG), 403),
        (token("customer", ORG), 403),
        (token("support", "*"), 403),
        (token("analyst", "*"), 403),
    ] {
        let reply = server
            .get("/v1/events")
            .bearer_auth(&token)
            .reply()
            .await
            .status;
        assert_eq!(reply, status, "event feed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_ticket_answers_exactly_as_an_unknown_one() {
    let server = Server::start().await;
    let ours = Tokens::for_org(ORG);
    let theirs = Tokens::for_org(OTHER_ORG);
    let id = escalated_ticket(&server, &ours).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for token in [&theirs.customer, &theirs.agent, &theirs.auditor] {
        for target in [&id, &unknown] {
            server
                .ticket(token, target)
                .await
                .expect_problem(404, "not_found");
            server
                .history(token, target)
                .await
                .expect_problem(404, "not_found");
        }
    }
    for token in [&theirs.customer, &theirs.agent] {
        for target in [&id, &unknown] {
            server
                .command(token, target, "comments", &json!({"body": "hi"}))
                .await
                .expect_problem(404, "not_found");
        }
    }
    for token in [&theirs.customer, &theirs.agent, &theirs.auditor] {
        let foreign = server.ticket(token, &id).await;
        let missing = server.ticket(token, &unknown).await;
        assert_eq!(foreign.body, missing.body, "no existence leak in the body");
        assert_eq!(
            foreign.header("content-type"),
            missing.header("content-type"),
            "nor in the headers"
        );
        let foreign = server.history(token, &id).await;
        let missing = server.history(token, &unknown).await;
        assert_eq!(foreign.body, missing.body);
    }
    // Commands that only some roles may make refuse by role first (403),
    // then hide the ticket (404) exactly as for an unknown one.
    for (suffix, body) in [
        ("escalations", json!({"reason": "other"})),
        (
            "refunds",
            json!({"amount_minor": 1, "currency": "EUR", "reason": "r"}),
        ),
        ("close", json!({"resolution": "resolved"})),
    ] {
        let foreign = server.command(&theirs.agent, &id, suffix, &body).await;
        let missing = server.command(&theirs.agent, &unknown, suffix, &body).await;
        foreign.expect_problem(404, "not_found");
        assert_eq!(foreign.body, missing.body, "{suffix}");
    }
    // Nothing was appended by the other org's attempts.
    assert_eq!(server.history_events(&id).await.len(), 2);
    // Platform staff see every org's tickets.
    server.ticket(&theirs.admin, &id).await.expect_status(200);
    server
        .ticket(&theirs.platform_auditor, &id)
        .await
        .expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_a_ticket_only_once_escalated() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = server.ticket(&tokens.support, &unknown).await;

    let hidden = server.ticket(&tokens.support, &id).await;
    hidden.expect_problem(404, "not_found");
    assert_eq!(hidden.body, missing.body);
    server
        .history(&tokens.support, &id)
        .await
        .expect_problem(404, "not_found");
    for (suffix, body) in [
        ("comments", json!({"body": "hello"})),
        ("close", json!({"resolution": "resolved"})),
    ] {
        server
            .command(&tokens.support, &id, suffix, &body)
            .await
            .expect_problem(404, "not_found");
    }

    server
        .command(
            &tokens.agent,
            &id,
            "escalations",
            &json!({"reason": "not_addressed_to_seller"}),
        )
        .await
        .expect_status(200);
    let view = server.ticket(&tokens.support, &id).await.expect_status(200);
    assert_eq!(view["escalated"], true);
    server
        .history(&tokens.support, &id)
        .await
        .expect_status(200);
    server
        .command(
            &tokens.support,
            &id,
            "comments",
            &json!({"body": "support here"}),
        )
        .await
        .expect_status(200);

    // A support token scoped to another org still sees nothing of ours.
    let foreign_support = token("support", OTHER_ORG);
    server
        .ticket(&foreign_support, &id)
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_see_internal_comments() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_clock("2031-05-01T08:00:00Z")
        .await
        .expect_status(200);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "We refund.", "visibility": "public"}),
        )
        .await
        .expect_status(200);
    server
        .set_clock("2031-05-01T09:00:00Z")
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "Customer is a known fraudster", "visibility": "internal"}),
        )
        .await
        .expect_status(200);

    let customer_view = server.ticket(&tokens.customer, &id).await;
    assert!(
        !customer_view.text().contains("fraudster"),
        "{}",
        customer_view.text()
    );
    let customer_view = customer_view.expect_status(200);
    assert_eq!(customer_view["comments"].as_array().map(Vec::len), Some(1));
    assert_eq!(customer_view["comments"][0]["body"], "We refund.");

    let customer_history = server.history(&tokens.customer, &id).await;
    assert!(!customer_history.text().contains("fraudster"));
    let events = customer_history.expect_status(200)["events"].clone();
    let types: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types, ["ticket_opened", "comment_added"]);

    let as_of = server
        .get(&format!(
            "/v1/tickets/{id}/history?as_of=2031-05-01T09:00:00Z"
        ))
        .bearer_auth(&tokens.customer);
    let as_of = as_of.reply().await;
    assert!(!as_of.text().contains("fraudster"), "{}", as_of.text());
    let as_of = as_of.expect_status(200);
    assert_eq!(as_of["state"]["comments"].as_array().map(Vec::len), Some(1));
    assert_eq!(as_of["events"].as_array().map(Vec::len), Some(2));

    // Everyone else who reads tickets sees both comments.
    for token in [&tokens.agent, &tokens.auditor, &tokens.admin] {
        let view: Value = server.ticket(token, &id).await.expect_status(200);
        assert_eq!(view["comments"].as_array().map(Vec::len), Some(2));
        let history = server.history(token, &id).await.expect_status(200);
        assert_eq!(history["events"].as_array().map(Vec::len), Some(3));
    }
}
