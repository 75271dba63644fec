//! Every error code of the contract that `docketd` serves: status, `code`,
//! and the problem+json shape (`type`, `title`, `status`, `detail`, `code`).
//! A refused command appends nothing.

use docket_tests::harness::{
    id_of, open_body, open_body_with_order, sign, token, unix_now, ReplyExt, Server, Tokens, ORG,
    OTHER_ORG, TEST_SECRET,
};
use serde_json::{json, Value};

/// The test clock's "now" for the date rules: a Sunday, mid-day.
const NOW: &str = "2030-03-10T10:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_date_rules_have_their_codes() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server.set_clock(NOW).await.expect_status(200);
    server
        .set_policy(
            ORG,
            &json!({
                "intake_window_days": 3,
                "required_fields": ["customer_code", "order", "incident_date"],
            }),
        )
        .await;
    let head = server.feed().await.len();
    let complete = |incident_date: &str| {
        let mut body = open_body_with_order(1_000, "EUR");
        body["customer_code"] = json!("C-1");
        body["incident_date"] = json!(incident_date);
        body
    };

    // Required fields, in the policy's order.
    let mut body = complete("2030-03-09");
    body.as_object_mut()
        .expect("object")
        .remove("customer_code");
    let problem = server
        .open(&tokens.customer, &body)
        .await
        .expect_problem(422, "missing_field");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("customer_code"),
        "{problem}"
    );
    let mut body = complete("2030-03-09");
    body.as_object_mut().expect("object").remove("order");
    server
        .open(&tokens.customer, &body)
        .await
        .expect_problem(422, "missing_field");
    let mut body = complete("2030-03-09");
    body.as_object_mut()
        .expect("object")
        .remove("incident_date");
    server
        .open(&tokens.customer, &body)
        .await
        .expect_problem(422, "missing_field");

    // Incident dates: tomorrow is in the future, four days ago is too old.
    server
        .open(&tokens.customer, &complete("2030-03-11"))
        .await
        .expect_problem(422, "incident_date_in_future");
    server
        .open(&tokens.customer, &complete("2030-03-06"))
        .await
        .expect_problem(422, "intake_window_expired");
    assert_eq!(server.feed().await.len(), head, "refusals append nothing");

    // Exactly the window's age, and today, are accepted.
    server
        .open_ok(&tokens.customer, &complete("2030-03-07"))
        .await;
    server
        .open_ok(&tokens.customer, &complete("2030-03-10"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_json_fields_and_a_platform_open_without_org_are_missing_field() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    for field in ["subject", "description", "reason"] {
        let mut body = open_body();
        body.as_object_mut().expect("object").remove(field);
        server
            .open(&tokens.customer, &body)
            .await
            .expect_problem(422, "missing_field");
    }
    let platform_agent = token("agent", "*");
    server
        .open(&platform_agent, &open_body())
        .await
        .expect_problem(422, "missing_field");
    let mut body = open_body();
    body["org"] = json!(ORG);
    server.open_ok(&platform_agent, &body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_rules_have_their_codes() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let refund = |amount: u64, currency: &str| json!({"amount_minor": amount, "currency": currency, "reason": "goodwill"});

    let no_order = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(&tokens.agent, &no_order, "refunds", &refund(10, "EUR"))
        .await
        .expect_problem(422, "no_order");

    let with_order = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(1_000, "EUR"))
            .await,
    );
    server
        .command(&tokens.agent, &with_order, "refunds", &refund(10, "USD"))
        .await
        .expect_problem(422, "currency_mismatch");
    server
        .command(&tokens.agent, &with_order, "refunds", &refund(1_001, "EUR"))
        .await
        .expect_problem(422, "refund_exceeds_order");
    server
        .command(&tokens.agent, &with_order, "refunds", &refund(600, "EUR"))
        .await
        .expect_status(200);
    let problem = server
        .command(&tokens.agent, &with_order, "refunds", &refund(401, "EUR"))
        .await
        .expect_problem(422, "refund_exceeds_order");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("400"),
        "{problem}"
    );

    server
        .command(
            &tokens.agent,
            &with_order,
            "escalations",
            &json!({"reason": "cannot_help"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &with_order,
            "escalations",
            &json!({"reason": "other"}),
        )
        .await
        .expect_problem(409, "already_escalated");

    server
        .command(&tokens.customer, &with_order, "follow-ups", &json!({}))
        .await
        .expect_problem(409, "parent_not_closed");

    server
        .command(
            &tokens.agent,
            &with_order,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    let head = server.feed().await.len();
    for (suffix, body) in [
        ("comments", json!({"body": "late"})),
        ("escalations", json!({"reason": "other"})),
        ("refunds", refund(1, "EUR")),
        ("close", json!({"resolution": "rejected"})),
    ] {
        server
            .command(&tokens.agent, &with_order, suffix, &body)
            .await
            .expect_problem(409, "ticket_closed");
    }
    // A closed ticket that was never escalated is refused as closed, too.
    server
        .command(
            &tokens.agent,
            &no_order,
            "close",
            &json!({"resolution": "no_response"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &no_order,
            "escalations",
            &json!({"reason": "other"}),
        )
        .await
        .expect_problem(409, "ticket_closed");
    assert_eq!(
        server.feed().await.len(),
        head + 1,
        "refusals append nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_guards_the_version() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let comment = |if_match: &str| {
        server
            .post(&format!("/v1/tickets/{id}/comments"))
            .bearer_auth(&tokens.agent)
            .header("if-match", if_match)
            .json(&json!({"body": "hello"}))
    };
    comment("\"2\"")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    comment("\"0\"")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    let reply = comment("\"1\"").reply().await;
    assert_eq!(reply.expect_status(200)["version"], 2);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    comment("\"1\"")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    // The ETag of a view is what If-Match takes.
    let etag = server
        .ticket(&tokens.agent, &id)
        .await
        .header("etag")
        .expect("a view has an ETag")
        .to_owned();
    comment(&etag).reply().await.expect_status(200);
    comment("not-a-version")
        .reply()
        .await
        .expect_problem(400, "invalid_if_match");

    // An open expects version 0 (the ticket does not exist yet).
    let open = |if_match: &str| {
        server
            .post("/v1/tickets")
            .bearer_auth(&tokens.customer)
            .header("if-match", if_match)
            .json(&open_body())
    };
    open("\"1\"")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    open("\"0\"").reply().await.expect_status(201);
    assert_eq!(server.history_events(&id).await.len(), 3);
}

/// "an ISO 4217 code": three upper-case letters are not enough for an
/// order; a refund must be in its order's currency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_currency_outside_the_iso_4217_list_is_refused() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .open(&tokens.customer, &open_body_with_order(5_000, "ZZZ"))
        .await
        .expect_problem(422, "invalid_field");
    let id = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(5_000, "JPY"))
            .await,
    );
    server
        .command(
            &tokens.agent,
            &id,
            "refunds",
            &json!({"amount_minor": 100, "currency": "ZZZ", "reason": "late"}),
        )
        .await
        .expect_problem(422, "currency_mismatch");
    server
        .command(
            &tokens.agent,
            &id,
            "refunds",
            &json!({"amount_minor": 100, "currency": "JPY", "reason": "late"}),
        )
        .await
        .expect_status(200);
    assert_eq!(server.history_events(&id).await.len(), 2);
}

/// `If-Match` is checked after the role and the ticket, and before the
/// command's rules: a stale version is 412 whatever the ticket has become
/// meanwhile (here: closed, so the rules alone would say 409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_if_match_is_412_before_the_rules_and_after_the_role() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let with_version = |token: &str, suffix: &str, version: &str, body: Value| {
        server
            .post(&format!("/v1/tickets/{id}/{suffix}"))
            .bearer_auth(token)
            .header("if-match", version)
            .json(&body)
    };
    with_version(
        &tokens.agent,
        "close",
        "\"1\"",
        json!({"resolution": "resolved"}),
    )
    .reply()
    .await
    .expect_status(200);
    let stale = [
        ("comments", json!({"body": "too late"})),
        ("escalations", json!({"reason": "other"})),
        (
            "refunds",
            json!({"amount_minor": 1, "currency": "EUR", "reason": "x"}),
        ),
        ("close", json!({"resolution": "resolved"})),
    ];
    for (suffix, body) in &stale {
        with_version(&tokens.agent, suffix, "\"1\"", body.clone())
            .reply()
            .await
            .expect_problem(412, "version_mismatch");
    }
    // With the current version the rules answer.
    with_version(&tokens.agent, "comments", "\"2\"", json!({"body": "x"}))
        .reply()
        .await
        .expect_problem(409, "ticket_closed");
    // A role that may not do the command is told so, stale version or not.
    with_version(
        &tokens.customer,
        "escalations",
        "\"1\"",
        json!({"reason": "other"}),
    )
    .reply()
    .await
    .expect_problem(403, "forbidden");
    server
        .post("/v1/tickets")
        .bearer_auth(&tokens.analyst)
        .header("if-match", "\"7\"")
        .json(&open_body())
        .reply()
        .await
        .expect_problem(403, "forbidden");
    // A follow-up names the parent's version.
    with_version(&tokens.customer, "follow-ups", "\"1\"", json!({}))
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    with_version(&tokens.customer, "follow-ups", "\"2\"", json!({}))
        .reply()
        .await
        .expect_status(201);
    assert_eq!(server.history_events(&id).await.len(), 3);
}

/// "Role checks come first" (docs/api.md): before the path's id, the
/// headers and the body's fields are looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_may_not_do_a_command_gets_403_before_any_other_check() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    for path in [
        format!("/v1/tickets/{id}/comments"),
        "/v1/tickets/not-a-uuid/comments".to_owned(),
    ] {
        server
            .post(&path)
            .bearer_auth(&tokens.analyst)
            .header("idempotency-key", "bad key with spaces")
            .json(&json!({"body": ""}))
            .reply()
            .await
            .expect_problem(403, "forbidden");
    }
    server
        .command(
            &tokens.customer,
            &id,
            "escalations",
            &json!({"reason": "no such reason"}),
        )
        .await
        .expect_problem(403, "forbidden");
    // Which comment it is depends on the body: a customer's internal one.
    server
        .post("/v1/tickets/not-a-uuid/comments")
        .bearer_auth(&tokens.customer)
        .header("idempotency-key", "bad key with spaces")
        .json(&json!({"body": "", "visibility": "internal"}))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    server
        .command(&tokens.auditor, &id, "follow-ups", &json!({"subject": ""}))
        .await
        .expect_problem(403, "forbidden");
    server
        .post("/v1/tickets")
        .bearer_auth(&tokens.admin)
        .json(&json!({"subject": ""}))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    server
        .put(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&tokens.agent)
        .json(&json!({"intake_window_days": 0}))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    // The same bodies from a role that may do the command: their own codes.
    server
        .command(&tokens.agent, &id, "comments", &json!({"body": ""}))
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(server.history_events(&id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_orgs_are_refused_with_forbidden_and_forbidden_org() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.customer,
            &id,
            "comments",
            &json!({"body": "psst", "visibility": "internal"}),
        )
        .await
        .expect_problem(403, "forbidden");
    server
        .command(
            &tokens.customer,
            &id,
            "escalations",
            &json!({"reason": "other"}),
        )
        .await
        .expect_problem(403, "forbidden");
    server
        .put(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&tokens.agent)
        .json(&json!({}))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    server
        .post("/v1/admin/clock")
        .bearer_auth(&tokens.agent)
        .json(&json!({"now": "2040-01-01T00:00:00Z"}))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    server
        .get("/v1/events")
        .bearer_auth(&tokens.auditor)
        .reply()
        .await
        .expect_problem(403, "forbidden");

    let mut body = open_body();
    body["org"] = json!(OTHER_ORG);
    server
        .open(&tokens.customer, &body)
        .await
        .expect_problem(403, "forbidden_org");
    server
        .open(&tokens.agent, &body)
        .await
        .expect_problem(403, "forbidden_org");
    server
        .command(
            &tokens.agent,
            &id,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.customer,
            &id,
            "follow-ups",
            &json!({"org": OTHER_ORG}),
        )
        .await
        .expect_problem(403, "forbidden_org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_level_errors_have_their_codes() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let head = server.feed().await.len();
    let comments = format!("/v1/tickets/{id}/comments");

    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("content-type", "application/json")
        .body("{\"body\": ")
        .reply()
        .await
        .expect_problem(400, "malformed_json");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .json(&json!({"body": "x", "sticker": "cat"}))
        .reply()
        .await
        .expect_problem(422, "unknown_field");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("content-type", "text/plain")
        .body("{\"body\": \"x\"}")
        .reply()
        .await
        .expect_problem(415, "unsupported_media_type");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .body("{\"body\": \"x\"}")
        .reply()
        .await
        .expect_problem(415, "unsupported_media_type");
    let oversize = json!({ "body": "x".repeat(1024 * 1024) }).to_string();
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("content-type", "application/json")
        .body(oversize)
        .reply()
        .await
        .expect_problem(413, "payload_too_large");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("idempotency-key", "has space")
        .json(&json!({"body": "x"}))
        .reply()
        .await
        .expect_problem(400, "invalid_idempotency_key");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("idempotency-key", "k".repeat(256))
        .json(&json!({"body": "x"}))
        .reply()
        .await
        .expect_problem(400, "invalid_idempotency_key");
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("idempotency-key", "")
        .json(&json!({"body": "x"}))
        .reply()
        .await
        .expect_problem(400, "invalid_idempotency_key");
    server
        .request(reqwest::Method::DELETE, &format!("/v1/tickets/{id}"))
        .bearer_auth(&tokens.agent)
        .reply()
        .await
        .expect_problem(405, "method_not_allowed");
    assert_eq!(server.feed().await.len(), head, "refusals append nothing");
    // A key of exactly 255 visible characters is fine.
    server
        .post(&comments)
        .bearer_auth(&tokens.agent)
        .header("idempotency-key", "~".repeat(255))
        .json(&json!({"body": "x"}))
        .reply()
        .await
        .expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_ids_are_the_same_not_found() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let unknown = uuid::Uuid::now_v7().to_string();
    let reference = server.ticket(&tokens.agent, &unknown).await;
    let reference_body = reference.expect_problem(404, "not_found");
    for id in [
        unknown.as_str(),
        "not-a-uuid",
        "12345",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        for reply in [
            server.ticket(&tokens.agent, id).await,
            server.history(&tokens.agent, id).await,
            server
                .command(&tokens.agent, id, "comments", &json!({"body": "x"}))
                .await,
            server
                .command(
                    &tokens.agent,
                    id,
                    "close",
                    &json!({"resolution": "resolved"}),
                )
                .await,
            server
                .command(&tokens.customer, id, "follow-ups", &json!({}))
                .await,
        ] {
            assert_eq!(
                reply.expect_problem(404, "not_found"),
                reference_body,
                "id {id}"
            );
        }
    }
    server
        .get("/v1/no/such/path")
        .bearer_auth(&tokens.agent)
        .reply()
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_401() {
    let server = Server::start().await;
    let claims = |exp: Option<u64>| {
        let mut claims = json!({"sub": "u1", "org": ORG, "role": "agent"});
        if let Some(exp) = exp {
            claims["exp"] = json!(exp);
        }
        claims
    };
    let in_an_hour = unix_now() + 3600;
    let header_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let payload = jsonwebtoken_free_base64(&claims(Some(in_an_hour)).to_string());
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(TEST_SECRET, &claims(Some(unix_now() - 60)))
            )),
        ),
        (
            "another key",
            Some(format!(
                "Bearer {}",
                sign("another-secret", &claims(Some(in_an_hour)))
            )),
        ),
        ("alg none", Some(format!("Bearer {header_none}.{payload}."))),
        (
            "no exp",
            Some(format!("Bearer {}", sign(TEST_SECRET, &claims(None)))),
        ),
        ("garbage", Some("Bearer not.a.jwt".to_owned())),
        ("basic", Some("Basic dTE6cGFzcw==".to_owned())),
        ("empty bearer", Some("Bearer ".to_owned())),
        (
            "unknown role",
            Some(format!(
                "Bearer {}",
                sign(
                    TEST_SECRET,
                    &json!({"sub": "u1", "org": ORG, "role": "root", "exp": in_an_hour})
                )
            )),
        ),
    ];
    let valid = token("agent", ORG);
    let id = id_of(&server.open_ok(&valid, &open_body()).await);
    for (case, authorization) in &cases {
        for (method, path, body) in [
            (
                reqwest::Method::POST,
                "/v1/tickets".to_owned(),
                Some(open_body()),
            ),
            (reqwest::Method::GET, format!("/v1/tickets/{id}"), None),
            (
                reqwest::Method::GET,
                format!("/v1/tickets/{id}/history"),
                None,
            ),
            (
                reqwest::Method::POST,
                format!("/v1/tickets/{id}/comments"),
                Some(json!({"body": "x"})),
            ),
            (reqwest::Method::GET, "/v1/events".to_owned(), None),
        ] {
            let mut request = server.request(method.clone(), &path);
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let reply = request.reply().await;
            assert_eq!(
                reply.status,
                401,
                "{case}: {method} {path}: {}",
                reply.text()
            );
            reply.expect_problem(401, "unauthorized");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{case}");
        }
    }
    assert_eq!(server.history_events(&id).await.len(), 1);
}

/// Unpadded URL-safe base64, enough to hand-make an `alg: none` token.
fn jsonwebtoken_free_base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_problem_json() {
    // A sweep over answers the other tests check one by one: whatever the
    // status, an error is problem+json with all five members.
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let requests = vec![
        server.get("/v1/tickets/x"),
        server.get(&format!("/v1/tickets/{id}")),
        server
            .post("/v1/tickets")
            .bearer_auth(&tokens.admin)
            .json(&open_body()),
        server
            .post("/v1/tickets")
            .bearer_auth(&tokens.agent)
            .json(&json!([])),
        server
            .post("/v1/tickets")
            .bearer_auth(&tokens.agent)
            .json(&json!(null)),
        server
            .put("/v1/orgs/BAD ORG/policy")
            .bearer_auth(&tokens.admin)
            .json(&json!({})),
        server
            .put(&format!("/v1/orgs/{ORG}/policy"))
            .bearer_auth(&tokens.admin)
            .json(&json!({"intake_window_days": 0})),
        server
            .put(&format!("/v1/orgs/{ORG}/policy"))
            .bearer_auth(&tokens.admin)
            .json(&json!({"required_fields": ["shoe_size"]})),
        server
            .get("/v1/events?limit=0")
            .bearer_auth(&tokens.platform_auditor),
        server
            .get(&format!("/v1/tickets/{id}/history?as_of=yesterday"))
            .bearer_auth(&tokens.auditor),
        server
            .get(&format!("/v1/tickets/{id}"))
            .bearer_auth(&tokens.analyst),
        server.post("/healthz"),
    ];
    for request in requests {
        let reply = request.reply().await;
        assert!(reply.status >= 400, "{}", reply.text());
        let body: Value = reply.assert_problem_shape();
        assert_eq!(
            body["type"],
            format!(
                "https://docket.dev/problems/{}",
                body["code"].as_str().unwrap_or("")
            )
        );
    }
}
