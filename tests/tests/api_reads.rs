//! Reads: read-your-writes with `X-Min-Position`, 503 `projection_lagging`
//! for a position never reached, the event feed and its page sizes, the ops
//! endpoints that need no token, the paths `/openapi.json` lists; JSON logs
//! with the request id.

use docket_tests::harness::{id_of, open_body, Options, ReplyExt, Server, Tokens, ORG};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_position_reads_your_own_writes() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    for i in 0..5 {
        let answer = server
            .command(
                &tokens.agent,
                &id,
                "comments",
                &json!({"body": format!("answer {i}")}),
            )
            .await
            .expect_status(200);
        let position = answer["position"].as_u64().expect("position");
        let by_header = server
            .get(&format!("/v1/tickets/{id}"))
            .bearer_auth(&tokens.customer)
            .header("x-min-position", position.to_string())
            .reply()
            .await
            .expect_status(200);
        assert_eq!(by_header["version"], answer["version"]);
        assert_eq!(by_header["status"], "waiting");
        assert_eq!(by_header["comments"].as_array().map(Vec::len), Some(i + 1));
        let by_query = server
            .get(&format!("/v1/tickets/{id}?min_position={position}"))
            .bearer_auth(&tokens.customer)
            .reply()
            .await
            .expect_status(200);
        assert_eq!(by_query, by_header);
        let history = server
            .get(&format!("/v1/tickets/{id}/history"))
            .bearer_auth(&tokens.customer)
            .header("x-min-position", position.to_string())
            .reply()
            .await
            .expect_status(200);
        let events = history["events"].as_array().expect("events");
        assert_eq!(events.last().expect("events")["position"], position);
    }
    server
        .get(&format!("/v1/tickets/{id}"))
        .bearer_auth(&tokens.customer)
        .header("x-min-position", "soon")
        .reply()
        .await
        .expect_problem(400, "invalid_min_position");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_never_reached_answers_projection_lagging() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    // The contract waits up to 5 s before giving up; no wall-clock bound is
    // asserted here, only the answer.
    server
        .get(&format!("/v1/tickets/{id}"))
        .bearer_auth(&tokens.customer)
        .header("x-min-position", "1000000")
        .reply()
        .await
        .expect_problem(503, "projection_lagging");
}

/// "Every GET accepts `X-Min-Position`": the policy too (it is read from
/// the log, so it waits for the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_read_takes_min_position_too() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let set = server
        .set_policy(ORG, &json!({"intake_window_days": 30}))
        .await;
    let position = set["position"].as_u64().expect("position");
    let read = |min: &str| {
        server
            .get(&format!("/v1/orgs/{ORG}/policy?min_position={min}"))
            .bearer_auth(&tokens.agent)
    };
    let policy = read(&position.to_string()).reply().await.expect_status(200);
    assert_eq!(policy["intake_window_days"], 30);
    assert_eq!(policy["version"], set["version"]);
    server
        .get(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&tokens.agent)
        .header("x-min-position", "soon")
        .reply()
        .await
        .expect_problem(400, "invalid_min_position");
    read("soon")
        .reply()
        .await
        .expect_problem(400, "invalid_query");
    server
        .get(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&tokens.agent)
        .header("x-min-position", "1000000")
        .reply()
        .await
        .expect_problem(503, "projection_lagging");
    // The role before the org in the path.
    server
        .get("/v1/orgs/NOT%20AN%20ORG/policy")
        .bearer_auth(&tokens.analyst)
        .reply()
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_feed_pages_through_the_whole_log() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_policy(ORG, &json!({"intake_window_days": 30}))
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
        server
            .command(&tokens.agent, &id, "comments", &json!({"body": "hi"}))
            .await
            .expect_status(200);
        ids.push(id);
    }
    let all = server
        .get("/v1/events")
        .bearer_auth(&tokens.platform_auditor)
        .reply()
        .await
        .expect_status(200);
    let events = all["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 7, "the policy event and six ticket events");
    assert_eq!(
        events[0]["type"], "policy_set",
        "policy events are in the feed"
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(
            event["position"],
            index as u64 + 1,
            "gapless, in position order"
        );
        assert!(event["stream"].is_string(), "{event}");
        for member in ["version", "event_id", "type", "at", "actor", "data", "hash"] {
            assert!(!event[member].is_null(), "{member} of {event}");
        }
    }
    // `after` is exclusive; `limit` bounds the page.
    let page = server
        .get("/v1/events?after=2&limit=3")
        .bearer_auth(&tokens.admin)
        .reply()
        .await
        .expect_status(200);
    let page = page["events"].as_array().expect("events");
    let positions: Vec<&Value> = page.iter().map(|e| &e["position"]).collect();
    assert_eq!(positions, [&json!(3), &json!(4), &json!(5)]);
    assert_eq!(
        page[0], events[2],
        "the feed shows the same event the same way"
    );
    // A ticket's history events are the feed's, without `stream`.
    let history = server.history_events(&ids[0]).await;
    let mut in_feed = events[1].clone();
    in_feed.as_object_mut().expect("object").remove("stream");
    assert_eq!(history[0], in_feed);
    server
        .get("/v1/events?limit=1001")
        .bearer_auth(&tokens.admin)
        .reply()
        .await
        .expect_problem(422, "invalid_query");
    let end = server
        .get("/v1/events?after=7")
        .bearer_auth(&tokens.admin)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(end["events"], json!([]));
}

/// "`limit` defaults to 100, at most 1000" (contract v1.1) and "`limit`
/// outside 1..1000 gets 422 `invalid_query`" (docs/api.md): a log of 120
/// events is read 100 at a time unless the reader asks otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_feed_answers_100_events_unless_asked_otherwise() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    for _ in 0..60 {
        let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
        server
            .command(&tokens.agent, &id, "comments", &json!({"body": "hi"}))
            .await
            .expect_status(200);
    }
    let read = |query: &str| {
        server
            .get(&format!("/v1/events{query}"))
            .bearer_auth(&tokens.platform_auditor)
    };
    let positions = |page: &Value| -> Vec<u64> {
        page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event["position"].as_u64().expect("a position"))
            .collect()
    };
    let first = read("").reply().await.expect_status(200);
    assert_eq!(positions(&first), (1..=100).collect::<Vec<u64>>());
    let rest = read("?after=100").reply().await.expect_status(200);
    assert_eq!(positions(&rest), (101..=120).collect::<Vec<u64>>());
    let whole = read("?limit=1000").reply().await.expect_status(200);
    assert_eq!(positions(&whole), (1..=120).collect::<Vec<u64>>());
    assert_eq!(
        whole["events"].as_array().expect("events")[..100],
        first["events"].as_array().expect("events")[..],
        "a default page is the start of the whole feed"
    );
    let one = read("?after=119&limit=1").reply().await.expect_status(200);
    assert_eq!(positions(&one), [120]);
    for limit in ["0", "1001"] {
        read(&format!("?limit={limit}"))
            .reply()
            .await
            .expect_problem(422, "invalid_query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoints_need_no_token() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server.open_ok(&tokens.customer, &open_body()).await;
    server
        .get("/v1/tickets/x")
        .reply()
        .await
        .expect_problem(401, "unauthorized");

    let health = server.get("/healthz").reply().await;
    health.expect_status(200);
    let ready = server.get("/readyz").reply().await;
    ready.expect_status(200);

    let metrics = server.get("/metrics").reply().await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/plain"),
        "{:?}",
        metrics.header("content-type")
    );
    let text = metrics.text();
    let counted = text.lines().any(|line| {
        line.starts_with("docket_http_requests_total{")
            && line.contains("route=\"/v1/tickets\"")
            && line.contains("status=\"201\"")
    });
    assert!(
        counted,
        "no docket_http_requests_total for the open in:\n{text}"
    );
    assert!(
        text.contains("# TYPE docket_http_requests_total counter"),
        "{text}"
    );
    // The open was one group commit of one request.
    for histogram in [
        "docket_append_batch_size",
        "docket_append_flush_duration_seconds",
        "docket_append_commit_duration_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {histogram} histogram")),
            "no {histogram} in:\n{text}"
        );
        let count = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{histogram}_count ")))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert!(
            count.is_some_and(|n| n >= 1),
            "{histogram}_count is {count:?} in:\n{text}"
        );
    }
    let one_request_commits = text
        .lines()
        .find_map(|line| line.strip_prefix("docket_append_batch_size_bucket{le=\"1\"} "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(
        one_request_commits.is_some_and(|n| n >= 1),
        "{one_request_commits:?} in:\n{text}"
    );

    let openapi = server.get("/openapi.json").reply().await.expect_status(200);
    assert!(openapi["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with('3')));
}

/// "`/openapi.json` lists every `/v1` path of this contract" (contract
/// v1.1), each with the methods the contract gives it: the commands, the
/// ticket reads, search, inboxes, SLA lists, KPIs, the feed, policies and
/// the test clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_v1_path_of_the_contract() {
    let server = Server::start().await;
    let openapi = server.get("/openapi.json").reply().await.expect_status(200);
    let paths = openapi["paths"].as_object().expect("paths");
    // The contract writes the inbox as `/v1/inbox/{open|waiting|closed}`;
    // the parameter's name is the project's.
    let inbox = paths
        .iter()
        .find(|(path, _)| path.starts_with("/v1/inbox/{"))
        .map(|(_, item)| item);
    assert!(
        inbox.is_some_and(|item| item.get("get").is_some()),
        "/openapi.json lacks get /v1/inbox/{{status}}: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (path, method) in [
        ("/v1/tickets", "post"),
        ("/v1/tickets", "get"),
        ("/v1/tickets/{id}", "get"),
        ("/v1/tickets/{id}/history", "get"),
        ("/v1/tickets/{id}/comments", "post"),
        ("/v1/tickets/{id}/escalations", "post"),
        ("/v1/tickets/{id}/refunds", "post"),
        ("/v1/tickets/{id}/close", "post"),
        ("/v1/tickets/{id}/follow-ups", "post"),
        ("/v1/sla", "get"),
        ("/v1/kpis", "get"),
        ("/v1/events", "get"),
        ("/v1/orgs/{org}/policy", "put"),
        ("/v1/admin/clock", "post"),
    ] {
        assert!(
            paths.get(path).is_some_and(|p| p.get(method).is_some()),
            "/openapi.json lacks {method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_on_every_request_line() {
    let server = Server::start_with(
        Options::default()
            .env("DOCKET_LOG_FORMAT", "json")
            .env("DOCKET_LOG", "info,sled=warn,tower_http=debug"),
    )
    .await;
    let tokens = Tokens::for_org(ORG);
    let given = "0199aaaa-bbbb-7ccc-8ddd-eeeeffff0001";
    let missing = server
        .get(&format!("/v1/tickets/{}", uuid::Uuid::now_v7()))
        .bearer_auth(&tokens.agent)
        .header("x-request-id", given)
        .reply()
        .await;
    missing.expect_problem(404, "not_found");
    assert_eq!(missing.header("x-request-id"), Some(given), "echoed");
    let opened = server
        .post("/v1/tickets")
        .bearer_auth(&tokens.customer)
        .json(&open_body())
        .reply()
        .await;
    opened.expect_status(201);
    let generated = opened
        .header("x-request-id")
        .expect("a generated request id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let log = server.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let request_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("tower_http::trace"))
        })
        .collect();
    assert!(request_lines.len() >= 4, "{log}");
    for line in &request_lines {
        assert!(
            line["span"]["request_id"].as_str().is_some(),
            "a request line without its request id: {line}"
        );
    }
    let finished = |id: &str| {
        request_lines.iter().any(|line| {
            line["span"]["request_id"] == id && line["message"] == "finished processing request"
        })
    };
    assert!(finished(given), "{log}");
    assert!(finished(&generated), "{log}");
}
