//! Hostile input: malformed and oversize bodies, invalid UTF-8, absurd
//! values, wrong types, nested garbage and odd headers. Each gets its
//! problem+json answer and appends nothing; after a few hundred of them the
//! server still serves a normal command.

use docket_tests::harness::{
    id_of, open_body, open_body_with_order, Reply, ReplyExt, Server, Tokens, ORG,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Bad requests sent before the server must still serve a normal command.
const HOSTILE_REQUESTS_MIN: usize = 300;

/// One hostile request and the answer it must get.
struct Case {
    name: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<Vec<u8>>,
    status: u16,
    /// `None` where several codes would be honest (a wrong type may be
    /// reported as `invalid_field` or by a more specific code).
    code: Option<&'static str>,
}

impl Case {
    fn json(
        name: &str,
        path: &str,
        body: impl Into<Vec<u8>>,
        status: u16,
        code: Option<&'static str>,
    ) -> Case {
        // Policies are PUT; every other body goes with a POST.
        let method = if path.ends_with("/policy") {
            Method::PUT
        } else {
            Method::POST
        };
        Case {
            name: name.to_owned(),
            method,
            path: path.to_owned(),
            headers: vec![("content-type", b"application/json".to_vec())],
            body: Some(body.into()),
            status,
            code,
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Case {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    fn without_header(mut self, name: &'static str) -> Case {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    async fn send(&self, server: &Server, token: &str) -> Reply {
        let mut request = server.request(self.method.clone(), &self.path);
        if !self
            .headers
            .iter()
            .any(|(name, _)| *name == "authorization")
        {
            request = request.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            let value = reqwest::header::HeaderValue::from_bytes(value).expect("a sendable header");
            request = request.header(*name, value);
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.bytes().await.expect("read the answer's body");
                Reply {
                    status,
                    headers,
                    body: body.to_vec(),
                }
            }
            Err(error) => panic!("{}: no answer: {error:?}", self.name),
        }
    }
}

/// `body` with `field` set to `value` (a JSON pointer-free, one-level edit).
fn with(mut body: Value, field: &str, value: Value) -> Vec<u8> {
    body[field] = value;
    body.to_string().into_bytes()
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn cases(ticket: &str, with_order: &str) -> Vec<Case> {
    let open = "/v1/tickets";
    let comments = format!("/v1/tickets/{ticket}/comments");
    let refunds = format!("/v1/tickets/{with_order}/refunds");
    let escalations = format!("/v1/tickets/{ticket}/escalations");
    let close = format!("/v1/tickets/{ticket}/close");
    let policy = format!("/v1/orgs/{ORG}/policy");
    let valid = open_body();
    let order = |field: &str, value: Value| {
        let mut body = open_body_with_order(1_000, "EUR");
        body["order"][field] = value;
        body.to_string().into_bytes()
    };
    let refund = |amount: Value| {
        json!({"amount_minor": amount, "currency": "EUR", "reason": "r"})
            .to_string()
            .into_bytes()
    };
    let malformed = Some("malformed_json");
    let invalid = Some("invalid_field");
    let unknown = Some("unknown_field");
    let mut cases = vec![
        // Syntax.
        Case::json("truncated", open, "{\"subject\": \"a", 400, malformed),
        Case::json("empty body", open, "", 400, malformed),
        Case::json("trailing garbage", open, format!("{valid} x"), 400, malformed),
        Case::json("single quotes", open, "{'subject': 'a'}", 400, malformed),
        Case::json("a BOM", open, [b"\xef\xbb\xbf".as_slice(), valid.to_string().as_bytes()].concat(), 400, malformed),
        Case::json("invalid UTF-8", open, b"\xff\xfe\xfd".to_vec(), 400, malformed),
        Case::json(
            "invalid UTF-8 in a string",
            open,
            b"{\"subject\": \"caf\xe9\", \"description\": \"d\", \"reason\": {\"category\": \"c\"}}".to_vec(),
            400,
            malformed,
        ),

        Case::json("NaN", &refunds, "{\"amount_minor\": NaN, \"currency\": \"EUR\", \"reason\": \"r\"}", 400, malformed),
        // Shape.
        // Well-formed but absurdly deep: refused by shape, without recursing.
        Case::json("nested garbage", open, nested(10_000), 422, invalid),
        Case::json("nested garbage in a field", open, format!("{{\"subject\": {}}}", nested(5_000)), 422, invalid),
        Case::json("unclosed nested garbage", open, "[".repeat(100_000), 400, malformed),
        Case::json("null", open, "null", 422, invalid),
        Case::json("an array", open, "[]", 422, invalid),
        Case::json("a string", open, "\"open please\"", 422, invalid),
        Case::json("a number", open, "42", 422, invalid),
        Case::json("an unknown field", open, with(valid.clone(), "priority", json!("urgent")), 422, unknown),
        Case::json("an unknown nested field", open, with(valid.clone(), "reason", json!({"category": "c", "x": 1})), 422, unknown),
        Case::json("a 100 000-char field name", open, format!("{{\"{}\": 1}}", "k".repeat(100_000)), 422, unknown),
        Case::json("a duplicate field", open, "{\"subject\": \"a\", \"subject\": \"b\", \"description\": \"d\", \"reason\": {\"category\": \"c\"}}", 422, None),
        Case::json("subject of the wrong type", open, with(valid.clone(), "subject", json!(5)), 422, invalid),
        Case::json("subject an object", open, with(valid.clone(), "subject", json!({"$ne": null})), 422, invalid),
        Case::json("reason a string", open, with(valid.clone(), "reason", json!("delivery")), 422, invalid),
        Case::json("impact unknown", open, with(valid.clone(), "impact", json!("apocalyptic")), 422, invalid),
        Case::json("channel a number", open, with(valid.clone(), "channel", json!(5)), 422, invalid),
        // Values.
        Case::json("empty subject", open, with(valid.clone(), "subject", json!("")), 422, invalid),
        Case::json("blank subject", open, with(valid.clone(), "subject", json!("   ")), 422, invalid),
        Case::json("201-char subject", open, with(valid.clone(), "subject", json!("s".repeat(201))), 422, invalid),
        Case::json("10k-char subject", open, with(valid.clone(), "subject", json!("s".repeat(10_000))), 422, invalid),
        Case::json("20001-char description", open, with(valid.clone(), "description", json!("d".repeat(20_001))), 422, invalid),
        Case::json("impossible date", open, with(valid.clone(), "incident_date", json!("2024-13-45")), 422, invalid),
        Case::json("a date in words", open, with(valid.clone(), "incident_date", json!("yesterday")), 422, invalid),
        Case::json("a time for a date", open, with(valid.clone(), "incident_date", json!("2024-01-01T00:00:00Z")), 422, invalid),
        Case::json("a bad org", open, with(valid.clone(), "org", json!("ACME!")), 422, invalid),
        Case::json("a negative order amount", open, order("amount_minor", json!(-5)), 422, invalid),
        Case::json("a fractional order amount", open, order("amount_minor", json!(12.5)), 422, invalid),
        Case::json("an order amount past u64", open, order("amount_minor", json!(1e30)), 422, invalid),
        Case::json("an order amount as text", open, order("amount_minor", json!("100")), 422, invalid),
        Case::json("a lower-case currency", open, order("currency", json!("eur")), 422, invalid),
        Case::json("a four-letter currency", open, order("currency", json!("EURO")), 422, invalid),
        Case::json("a zero refund", &refunds, refund(json!(0)), 422, invalid),
        Case::json("a negative refund", &refunds, refund(json!(-1)), 422, invalid),
        Case::json("a refund past u64", &refunds, "{\"amount_minor\": 18446744073709551616, \"currency\": \"EUR\", \"reason\": \"r\"}", 422, invalid),
        Case::json("a refund of u64::MAX", &refunds, refund(json!(u64::MAX)), 422, Some("refund_exceeds_order")),
        Case::json("a 501-char refund reason", &refunds, json!({"amount_minor": 1, "currency": "EUR", "reason": "r".repeat(501)}).to_string(), 422, invalid),
        Case::json("a secret comment", &comments, "{\"body\": \"x\", \"visibility\": \"secret\"}", 422, invalid),
        Case::json("a 20001-char comment", &comments, json!({"body": "b".repeat(20_001)}).to_string(), 422, invalid),
        Case::json("a comment body of null", &comments, "{\"body\": null}", 422, Some("body_or_text_module")),
        Case::json("an unknown escalation reason", &escalations, "{\"reason\": \"bored\"}", 422, invalid),
        Case::json("a 2001-char note", &escalations, json!({"reason": "other", "note": "n".repeat(2_001)}).to_string(), 422, invalid),
        Case::json("an unknown resolution", &close, "{\"resolution\": \"fixed\"}", 422, invalid),
        Case::json("a policy window of -1", &policy, "{\"intake_window_days\": -1}", 422, invalid),
        Case::json("a policy in an unknown zone", &policy, "{\"calendar\": {\"timezone\": \"Mars/Olympus\"}}", 422, Some("invalid_policy")),
        Case::json("a policy with 25:00", &policy, "{\"calendar\": {\"hours\": \"09:00-25:00\"}}", 422, Some("invalid_policy")),
        // Size.
        Case::json("2 MiB", &comments, json!({"body": "b".repeat(2 * 1024 * 1024)}).to_string(), 413, Some("payload_too_large")),
        // Headers.
        Case::json("text/plain", open, valid.to_string(), 415, Some("unsupported_media_type"))
            .with_header("content-type", "text/plain"),
        Case::json("no content type", open, valid.to_string(), 415, Some("unsupported_media_type"))
            .without_header("content-type"),
        Case::json("application/jsonx", open, valid.to_string(), 415, Some("unsupported_media_type"))
            .with_header("content-type", "application/jsonx"),
        Case::json("a form", open, "subject=a", 415, Some("unsupported_media_type"))
            .with_header("content-type", "application/x-www-form-urlencoded"),
        Case::json("a non-ASCII idempotency key", open, valid.to_string(), 400, Some("invalid_idempotency_key"))
            .with_header("idempotency-key", b"cl\xc3\xa9".to_vec()),
        Case::json("a tab in an idempotency key", open, valid.to_string(), 400, Some("invalid_idempotency_key"))
            .with_header("idempotency-key", "a\tb"),
        Case::json("a negative If-Match", &comments, "{\"body\": \"x\"}", 400, Some("invalid_if_match"))
            .with_header("if-match", "\"-1\""),
        Case::json("an If-Match past u64", &comments, "{\"body\": \"x\"}", 400, Some("invalid_if_match"))
            .with_header("if-match", "\"18446744073709551616\""),
        Case::json("a 16 KiB token", open, valid.to_string(), 401, Some("unauthorized"))
            .with_header("authorization", format!("Bearer {}", "a".repeat(16 * 1024))),
        Case::json("a Basic login", open, valid.to_string(), 401, Some("unauthorized"))
            .with_header("authorization", "Basic YWRtaW46YWRtaW4="),
        Case::json("a non-ASCII token", open, valid.to_string(), 401, Some("unauthorized"))
            .with_header("authorization", b"Bearer \xc3\xa9".to_vec()),
    ];
    for (name, path, header) in [
        (
            "a negative min position",
            format!("/v1/tickets/{ticket}"),
            "-1",
        ),
        (
            "a min position past u64",
            format!("/v1/tickets/{ticket}"),
            "18446744073709551616",
        ),
    ] {
        let mut case = Case::json(name, &path, "", 400, Some("invalid_min_position"))
            .with_header("x-min-position", header)
            .without_header("content-type");
        case.method = Method::GET;
        case.body = None;
        cases.push(case);
    }
    for (name, path, status, code) in [
        (
            "an unknown query parameter",
            format!("/v1/tickets/{ticket}?debug=1"),
            400,
            Some("invalid_query"),
        ),
        (
            "an undecodable path",
            "/v1/tickets/%FF".to_owned(),
            404,
            Some("not_found"),
        ),
        (
            "an undecodable org",
            "/v1/orgs/%FF%FE/policy".to_owned(),
            404,
            Some("not_found"),
        ),
        (
            "a min position in words",
            format!("/v1/tickets/{ticket}?min_position=soon"),
            400,
            None,
        ),
        (
            "a history as_of in words",
            format!("/v1/tickets/{ticket}/history?as_of=soon"),
            422,
            None,
        ),
        (
            "an event feed after of -1",
            "/v1/events?after=-1".to_owned(),
            400,
            None,
        ),
        (
            "a NUL in the path",
            "/v1/tickets/%00".to_owned(),
            404,
            Some("not_found"),
        ),
        (
            "an encoded slash",
            format!("/v1/tickets/{ticket}%2Fcomments"),
            404,
            Some("not_found"),
        ),
        (
            "a 4 KiB id",
            format!("/v1/tickets/{}", "9".repeat(4096)),
            404,
            Some("not_found"),
        ),
    ] {
        let mut case = Case::json(name, &path, "", status, code).without_header("content-type");
        case.method = Method::GET;
        case.body = None;
        cases.push(case);
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_hostile_requests_change_nothing() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let ticket = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let with_order = id_of(
        &server
            .open_ok(&tokens.customer, &open_body_with_order(1_000, "EUR"))
            .await,
    );
    let head = server.feed().await;
    let cases = cases(&ticket, &with_order);
    let mut sent = 0;
    while sent < HOSTILE_REQUESTS_MIN {
        for case in &cases {
            // The platform admin may PUT policies and read the feed; the
            // org's agent does everything else.
            let token = if case.path.contains("/policy") || case.path.starts_with("/v1/events") {
                &tokens.admin
            } else {
                &tokens.agent
            };
            let reply = case.send(&server, token).await;
            assert_eq!(reply.status, case.status, "{}: {}", case.name, reply.text());
            if let Some(code) = case.code {
                reply.expect_problem(case.status, code);
            } else {
                reply.assert_problem_shape();
            }
            sent += 1;
        }
    }
    assert_eq!(
        server.feed().await,
        head,
        "no hostile request appended anything"
    );

    // And the server still serves.
    server.get("/healthz").reply().await.expect_status(200);
    let answer = server.open_ok(&tokens.customer, &open_body()).await;
    server
        .command(
            &tokens.agent,
            &id_of(&answer),
            "comments",
            &json!({"body": "still here"}),
        )
        .await
        .expect_status(200);
    assert_eq!(server.feed().await.len(), head.len() + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_inclusive_and_counted_in_characters() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut body = open_body();
    body["subject"] = json!("é".repeat(200));
    body["description"] = json!("日".repeat(20_000));
    let id = id_of(&server.open_ok(&tokens.customer, &body).await);
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["subject"], body["subject"], "kept as written");
    server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"body": "ü".repeat(20_000)}),
        )
        .await
        .expect_status(200);

    // Odd but valid content types and schemes are accepted.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        server
            .post("/v1/tickets")
            .bearer_auth(&tokens.customer)
            .header("content-type", content_type)
            .body(open_body().to_string())
            .reply()
            .await
            .expect_status(201);
    }
    server
        .post("/v1/tickets")
        .header("authorization", format!("bearer {}", tokens.customer))
        .json(&open_body())
        .reply()
        .await
        .expect_status(201);

    // A body just under 1 MiB is read (and refused for its content only).
    let near_limit = json!({"body": "b".repeat(1024 * 1024 - 64)}).to_string();
    assert!(near_limit.len() < 1024 * 1024);
    server
        .post(&format!("/v1/tickets/{id}/comments"))
        .bearer_auth(&tokens.agent)
        .header("content-type", "application/json")
        .body(near_limit)
        .reply()
        .await
        .expect_problem(422, "invalid_field");
}

/// A client that sends an oversize body without waiting for
/// `100 Continue` is still writing when the server decides; it must still
/// read the 413, never a reset connection, and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_always_get_their_413() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let ticket = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let head = server.feed().await;
    let comments = format!("/v1/tickets/{ticket}/comments");
    let sizes = [
        1024 * 1024 + 1,
        2 * 1024 * 1024,
        5 * 1024 * 1024 + 7,
        15 * 1024 * 1024,
    ];
    for _ in 0..8 {
        for size in sizes {
            let body = json!({ "body": "o".repeat(size) }).to_string();
            server
                .post(&comments)
                .bearer_auth(&tokens.agent)
                .header("content-type", "application/json")
                .body(body)
                .reply()
                .await
                .expect_problem(413, "payload_too_large");
        }
    }

    // Chunked, so the server cannot tell the size from the headers.
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (mut read_half, mut write_half) = stream.split();
    let header = format!(
        "POST {comments} HTTP/1.1\r\nhost: docket\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        tokens.agent
    );
    let chunk = vec![b'c'; 64 * 1024];
    let write = async {
        use tokio::io::AsyncWriteExt;
        write_half.write_all(header.as_bytes()).await?;
        for _ in 0..48 {
            write_half
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            write_half.write_all(&chunk).await?;
            write_half.write_all(b"\r\n").await?;
        }
        write_half.write_all(b"0\r\n\r\n").await?;
        std::io::Result::Ok(())
    };
    let read = async {
        use tokio::io::AsyncReadExt;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        // The answer is small and carries a Content-Length; read until
        // the headers and that many body bytes are in.
        loop {
            let read = read_half.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&answer);
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                if answer.len() >= end + 4 + length {
                    break;
                }
            }
        }
        std::io::Result::Ok(answer)
    };
    let (written, answer) = tokio::join!(write, read);
    written.expect("the whole chunked body is accepted for reading");
    let answer = String::from_utf8(answer.expect("read the answer")).expect("UTF-8 answer");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"code\":\"payload_too_large\""),
        "{answer}"
    );

    assert_eq!(server.feed().await, head, "nothing oversize was appended");
    server
        .command(&tokens.agent, &ticket, "comments", &json!({"body": "fits"}))
        .await
        .expect_status(200);
}
