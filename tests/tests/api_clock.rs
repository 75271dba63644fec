//! The test clock: an admin sets it, it stands still between sets, never
//! goes back, every event records exactly the time set, and the date rules
//! follow it. Without `--test-clock` the endpoint does not exist.

use docket_tests::harness::{id_of, open_body, token, Options, ReplyExt, Server, Tokens, ORG};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_record_exactly_the_time_set() {
    let before_start = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);

    // Before the first set, the clock reads the real time of the start.
    let early = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let early_at = server.history_events(&early).await[0]["at"]
        .as_str()
        .map(|at| OffsetDateTime::parse(at, &Rfc3339).expect("RFC 3339"))
        .expect("at");
    assert!(
        early_at >= before_start && early_at <= OffsetDateTime::now_utc(),
        "{early_at}"
    );

    let answer = server
        .set_clock("2032-02-29T09:15:00Z")
        .await
        .expect_status(200);
    assert_eq!(answer["now"], "2032-02-29T09:15:00Z");
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "same instant"}),
        )
        .await
        .expect_status(200);
    server
        .set_clock("2032-03-01T17:00:00.5Z")
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &id,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);

    let ats: Vec<String> = server
        .history_events(&id)
        .await
        .iter()
        .map(|e| e["at"].as_str().expect("at").to_owned())
        .collect();
    let at = |text: &str| OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339");
    assert_eq!(
        at(&ats[0]),
        at("2032-02-29T09:15:00Z"),
        "the clock stands still"
    );
    assert_eq!(at(&ats[1]), at("2032-02-29T09:15:00Z"));
    assert_eq!(at(&ats[2]), at("2032-03-01T17:00:00.5Z"));
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(
        at(view["opened_at"].as_str().expect("opened_at")),
        at("2032-02-29T09:15:00Z")
    );
    assert_eq!(
        at(view["closed_at"].as_str().expect("closed_at")),
        at("2032-03-01T17:00:00.5Z")
    );
    assert_eq!(view["updated_at"], view["closed_at"]);
    assert_eq!(
        at(view["comments"][0]["at"].as_str().expect("comment at")),
        at("2032-02-29T09:15:00Z")
    );

    // `as_of` includes the events recorded at exactly that instant.
    let as_of = server
        .get(&format!(
            "/v1/tickets/{id}/history?as_of=2032-02-29T09:15:00Z"
        ))
        .bearer_auth(&tokens.auditor)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(as_of["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(as_of["state"]["status"], "waiting");
    assert_eq!(as_of["state"]["version"], 2);
    let before = server
        .get(&format!(
            "/v1/tickets/{id}/history?as_of=2032-02-29T09:14:59Z"
        ))
        .bearer_auth(&tokens.auditor)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(before["events"], json!([]));
    assert_eq!(before["state"], json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_never_goes_back() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_clock("2033-01-01T00:00:00Z")
        .await
        .expect_status(200);
    server
        .set_clock("2033-01-01T00:00:00Z")
        .await
        .expect_status(200);
    let problem = server
        .set_clock("2032-12-31T23:59:59Z")
        .await
        .expect_problem(409, "clock_would_go_back");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("2033-01-01T00:00:00Z"),
        "{problem}"
    );
    // The refused set changed nothing.
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let events = server.history_events(&id).await;
    assert_eq!(events[0]["at"], "2033-01-01T00:00:00Z");

    // Only admins set it, and only to an RFC 3339 time.
    for role in ["agent", "auditor", "support", "customer", "analyst"] {
        server
            .post("/v1/admin/clock")
            .bearer_auth(token(role, "*"))
            .json(&json!({"now": "2040-01-01T00:00:00Z"}))
            .reply()
            .await
            .expect_problem(403, "forbidden");
    }
    server
        .post("/v1/admin/clock")
        .json(&json!({"now": "2040-01-01T00:00:00Z"}))
        .reply()
        .await
        .expect_problem(401, "unauthorized");
    for bad in [
        json!({"now": "next tuesday"}),
        json!({"now": 5}),
        json!({"then": "2040-01-01T00:00:00Z"}),
    ] {
        let reply = server
            .post("/v1/admin/clock")
            .bearer_auth(token("admin", "*"))
            .json(&bad)
            .reply()
            .await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.text());
        reply.assert_problem_shape();
    }
    server
        .set_clock("2040-01-01T00:00:00Z")
        .await
        .expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_date_rules_follow_the_test_clock() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let dated = |date: &str| {
        let mut body = open_body();
        body["incident_date"] = json!(date);
        body
    };
    server
        .set_clock("2031-07-20T23:59:59Z")
        .await
        .expect_status(200);
    server
        .open(&tokens.customer, &dated("2031-07-21"))
        .await
        .expect_problem(422, "incident_date_in_future");
    server
        .set_clock("2031-07-21T00:00:00Z")
        .await
        .expect_status(200);
    server.open_ok(&tokens.customer, &dated("2031-07-21")).await;
    // The default intake window is 14 days: exactly 14 days ago is in.
    server.open_ok(&tokens.customer, &dated("2031-07-07")).await;
    server
        .open(&tokens.customer, &dated("2031-07-06"))
        .await
        .expect_problem(422, "intake_window_expired");
    server
        .set_clock("2031-07-22T08:00:00Z")
        .await
        .expect_status(200);
    server
        .open(&tokens.customer, &dated("2031-07-07"))
        .await
        .expect_problem(422, "intake_window_expired");

    // A policy set later applies from then on.
    server
        .set_policy(ORG, &json!({"intake_window_days": 30}))
        .await;
    server.open_ok(&tokens.customer, &dated("2031-07-07")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_the_clock_endpoint_does_not_exist() {
    let server = Server::start_with(Options::default().real_clock()).await;
    let reply = server.set_clock("2040-01-01T00:00:00Z").await;
    let problem = reply.expect_problem(404, "not_found");
    let unknown = server
        .get(&format!("/v1/tickets/{}", uuid::Uuid::now_v7()))
        .bearer_auth(token("admin", "*"))
        .reply()
        .await;
    assert_eq!(
        problem,
        unknown.expect_problem(404, "not_found"),
        "as any unknown path"
    );
    server
        .post("/v1/admin/clock")
        .json(&json!({"now": "2040-01-01T00:00:00Z"}))
        .reply()
        .await
        .expect_problem(404, "not_found");

    // Events take the real time.
    let tokens = Tokens::for_org(ORG);
    let before = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let at = server.history_events(&id).await[0]["at"]
        .as_str()
        .map(|at| OffsetDateTime::parse(at, &Rfc3339).expect("RFC 3339"))
        .expect("at");
    assert!(at >= before && at <= OffsetDateTime::now_utc(), "{at}");
}
