//! The console (contract v1.2, "Console") over HTTP with the real docketd:
//! sign-in and the cookie's flags, CSRF, headers, escaping, 404s across
//! orgs, and rule parity: for every role, page and action the console
//! allows exactly what the JSON API allows. The browser test
//! (`console_browser.rs`) drives the same pages in chromium.

use docket_tests::harness::{
    id_of, open_body_with_order, token, token_for, unix_now, ReplyExt, Server, Tokens, ORG,
    OTHER_ORG,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

/// A person in a browser without JavaScript: a session cookie and the pages.
struct Person {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

impl Person {
    async fn sign_in(server: &Server, token: &str) -> Person {
        let client = no_redirects();
        let response = client
            .post(server.url("/console/sign-in"))
            .form(&[("token", token)])
            .send()
            .await
            .expect("sign-in answers");
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "a valid token signs in"
        );
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        Person {
            client,
            base: server.url(""),
            cookie,
        }
    }

    /// The whole answer to a GET of `path` in this session.
    async fn answer(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("the console answers")
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.answer(path).await;
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// This session's CSRF value, read from a page as a browser would.
    async fn csrf(&self) -> String {
        let (_, page) = self.get("/console/inbox/open").await;
        let start = page
            .find("name=\"csrf\" value=\"")
            .expect("a signed-in page carries the CSRF value")
            + "name=\"csrf\" value=\"".len();
        page[start..start + 64].to_owned()
    }

    async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(fields)
            .send()
            .await
            .expect("the console answers");
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, location, response.text().await.unwrap_or_default())
    }

    /// `post` with this session's CSRF value added.
    async fn send(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }
}

async fn open_with_order(server: &Server, customer: &str, org_body_extra: Option<&str>) -> String {
    let mut body = open_body_with_order(4990, "EUR");
    if let Some(org) = org_body_extra {
        body["org"] = json!(org);
    }
    let reply = server.open(customer, &body).await;
    id_of(&reply.expect_status(201))
}

#[tokio::test]
async fn without_a_session_pages_send_to_sign_in_and_assets_need_none() {
    let server = Server::start().await;
    let client = no_redirects();
    for path in [
        "/console/",
        "/console/inbox/open",
        "/console/tickets/new",
        "/console/nope",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/console/sign-in", "{path}");
    }
    let root = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()[LOCATION], "/console/");

    let page = client
        .get(server.url("/console/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"sign-in\"") && page.contains("name=\"token\""));
    let start = page
        .find("/console/assets/console.")
        .expect("the stylesheet's URL");
    let end = start + page[start..].find('"').unwrap();
    let css = client
        .get(server.url(&page[start..end]))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let stale = client
        .get(server.url("/console/assets/console.000000000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        StatusCode::NOT_FOUND,
        "an old hash is not served"
    );
}

#[tokio::test]
async fn sign_in_sets_the_contracts_cookie_and_a_bad_token_shows_the_form_again() {
    let server = Server::start().await;
    let client = no_redirects();
    let customer = token(ORG_ROLE_CUSTOMER, ORG);
    let response = client
        .post(server.url("/console/sign-in"))
        .form(&[("token", customer.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("docket_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag: {cookie}"
    );
    let max_age: u64 = cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .expect("a Max-Age")
        .parse()
        .unwrap();
    assert!(
        max_age > 0 && max_age <= 3600,
        "no later than the token's exp: {max_age}"
    );

    // A link signs in the same way, and the server never logs its token.
    let link = client
        .get(server.url(&format!("/console/sign-in?token={customer}")))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), StatusCode::SEE_OTHER);
    assert!(link.headers().get(SET_COOKIE).is_some());
    assert!(
        !server.log().contains(&customer),
        "the token reached the log"
    );

    let expired = token_for("late", ORG, "agent");
    let expired_claims =
        json!({"sub": "late", "org": ORG, "role": "agent", "exp": unix_now() - 10});
    let expired_token =
        docket_tests::harness::sign(docket_tests::harness::TEST_SECRET, &expired_claims);
    for bad in ["", "not-a-token", &expired_token, &format!("{expired}x")] {
        let response = client
            .post(server.url("/console/sign-in"))
            .form(&[("token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(response.headers().get(SET_COOKIE).is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("id=\"sign-in-error\"") && page.contains("name=\"token\""));
    }

    // Signing out clears the cookie; without the CSRF value it is refused.
    let person = Person::sign_in(&server, &customer).await;
    let (status, _, _) = person.post("/console/sign-out", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = person.csrf().await;
    let response = person
        .client
        .post(server.url("/console/sign-out"))
        .header(COOKIE, &person.cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("docket_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

const ORG_ROLE_CUSTOMER: &str = "customer";

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_public_url_and_the_link_is_printed() {
    let server = Server::start_with(
        docket_tests::harness::Options::default()
            .arg("--public-url")
            .arg("https://docket.example"),
    )
    .await;
    let response = no_redirects()
        .post(server.url("/console/sign-in"))
        .form(&[("token", token("agent", ORG).as_str())])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");

    let output = docket_tests::harness::docketd_command()
        .args([
            "token", "--sub", "anna", "--org", ORG, "--role", "customer", "--link",
        ])
        .args(["--public-url", "https://docket.example/"])
        .env("DOCKET_JWT_SECRET", docket_tests::harness::TEST_SECRET)
        .output()
        .expect("docketd token runs");
    let link = String::from_utf8(output.stdout).unwrap();
    let token = link
        .trim()
        .strip_prefix("https://docket.example/console/sign-in?token=")
        .unwrap_or_else(|| panic!("a sign-in link: {link}"));
    let signed_in = no_redirects()
        .get(server.url(&format!("/console/sign-in?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "the printed link signs in"
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_is_refused_and_appends_nothing() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let ticket = open_with_order(&server, &tokens.customer, None).await;
    let agent = Person::sign_in(&server, &tokens.agent).await;
    let other = Person::sign_in(&server, &token_for("agent-2", ORG, "agent")).await;
    let others_csrf = other.csrf().await;
    let head = server.head().await;
    let path = format!("/console/tickets/{ticket}/comments");
    for fields in [
        vec![("body", "no csrf")],
        vec![("csrf", "0000"), ("body", "a wrong one")],
        vec![
            ("csrf", others_csrf.as_str()),
            ("body", "another session's"),
        ],
    ] {
        let (status, _, page) = agent.post(&path, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(page.contains("security value"), "the refusal says why");
    }
    for action in ["close", "refunds", "escalations", "follow-ups"] {
        let (status, _, _) = agent
            .post(
                &format!("/console/tickets/{ticket}/{action}"),
                &[("resolution", "resolved")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let (status, _, _) = agent.post("/console/tickets", &[("subject", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.head().await, head, "nothing appended");
    let (status, location, _) = agent
        .send(&path, &[("body", "with it"), ("visibility", "public")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/tickets/{ticket}").as_str())
    );
    assert_eq!(server.head().await, head + 1);
}

#[tokio::test]
async fn another_orgs_ticket_and_unknown_paths_are_404_and_headers_are_set() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let theirs = open_with_order(&server, &token("customer", OTHER_ORG), None).await;
    let agent = Person::sign_in(&server, &tokens.agent).await;
    for path in [
        format!("/console/tickets/{theirs}"),
        "/console/tickets/01900000-0000-7000-8000-000000000000".to_owned(),
        "/console/tickets/not-a-ticket".to_owned(),
        "/console/nope".to_owned(),
        "/console/inbox/nope".to_owned(),
        format!("/console/events?ticket={theirs}"),
        format!("/console/tickets/{theirs}/history"),
    ] {
        let (status, page) = agent.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.contains("Not found"),
            "{path}: a page, not an API problem"
        );
    }
    let head = server.head().await;
    let (status, _, _) = agent
        .send(
            &format!("/console/tickets/{theirs}/comments"),
            &[("body", "hello")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no existence leak on a POST either"
    );
    assert_eq!(server.head().await, head);

    let response = agent.answer("/console/inbox/open").await;
    let headers = response.headers();
    let ours = open_with_order(&server, &tokens.customer, None).await;
    let stream = agent
        .answer(&format!("/console/events?ticket={ours}"))
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    drop(stream);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.get("referrer-policy").is_some());
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn stored_script_in_subject_comment_and_order_renders_as_text() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let attack = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let mut body = open_body_with_order(4990, "EUR");
    body["subject"] = json!(format!("Subject {attack}"));
    body["order"]["number"] = json!("ORD-<b>1</b>");
    let ticket = id_of(
        &server
            .open(&tokens.customer, &body)
            .await
            .expect_status(201),
    );
    server
        .command(
            &tokens.customer,
            &ticket,
            "comments",
            &json!({"body": format!("Comment {attack}")}),
        )
        .await
        .expect_status(200);
    let agent = Person::sign_in(&server, &tokens.agent).await;
    for path in [
        format!("/console/tickets/{ticket}"),
        "/console/inbox/open".to_owned(),
    ] {
        let (status, page) = agent.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("<script>alert"), "{path}: raw script");
        assert!(!page.contains("<img src=x"), "{path}: raw tag");
        assert!(!page.contains("<b>1</b>"), "{path}: raw order markup");
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}: shown as text"
        );
    }
}

/// What the JSON API answers for one action, and what the console does.
fn api_outcome(status: u16) -> Result<(), u16> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(status)
    }
}

fn console_outcome(status: StatusCode) -> Result<(), u16> {
    if status == StatusCode::SEE_OTHER {
        Ok(())
    } else {
        Err(status.as_u16())
    }
}

#[tokio::test]
async fn every_role_may_do_in_the_console_exactly_what_the_api_lets_it() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let mut compared = 0;
    for (role, role_token) in tokens.all() {
        let person = Person::sign_in(&server, role_token).await;

        // Pages against their queries.
        let sample = open_with_order(&server, &tokens.customer, None).await;
        let pages = [
            (
                "/console/inbox/open".to_owned(),
                "/v1/inbox/open".to_owned(),
            ),
            (
                "/console/inbox/closed".to_owned(),
                "/v1/inbox/closed".to_owned(),
            ),
            (
                format!("/console/tickets/{sample}"),
                format!("/v1/tickets/{sample}"),
            ),
        ];
        for (console_path, api_path) in pages {
            let api = server
                .get(&api_path)
                .bearer_auth(role_token)
                .reply()
                .await
                .status;
            let (status, _) = person.get(&console_path).await;
            let console = if status == StatusCode::OK {
                Ok(())
            } else {
                Err(status.as_u16())
            };
            // A customer's inbox page is the search page (customers may
            // search, not list); what it lists is covered by the search.
            if role == "customer" && console_path.starts_with("/console/inbox") {
                assert_eq!(api, 403, "customers may not list inboxes");
                assert_eq!(console, Ok(()));
                let (_, page) = person.get(&console_path).await;
                assert!(
                    !page.contains("class=\"ticket\""),
                    "and the console lists nothing"
                );
                continue;
            }
            assert_eq!(
                console,
                api_outcome(api),
                "{role} GET {console_path} vs {api_path}"
            );
            compared += 1;
        }

        // Actions, each on a fresh ticket for the console and one for the API.
        type Action<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, serde_json::Value);
        let actions: Vec<Action> = vec![
            (
                "reply",
                "comments",
                vec![("body", "Hello"), ("visibility", "public")],
                json!({"body": "Hello"}),
            ),
            (
                "note",
                "comments",
                vec![("body", "Psst"), ("visibility", "internal")],
                json!({"body": "Psst", "visibility": "internal"}),
            ),
            (
                "escalate",
                "escalations",
                vec![("reason", "cannot_help")],
                json!({"reason": "cannot_help"}),
            ),
            (
                "refund",
                "refunds",
                vec![
                    ("amount", "5.00"),
                    ("currency", "EUR"),
                    ("reason", "goodwill"),
                ],
                json!({"amount_minor": 500, "currency": "EUR", "reason": "goodwill"}),
            ),
            (
                "close",
                "close",
                vec![("resolution", "resolved")],
                json!({"resolution": "resolved"}),
            ),
        ];
        for (name, suffix, fields, body) in actions {
            let for_console = open_with_order(&server, &tokens.customer, None).await;
            let for_api = open_with_order(&server, &tokens.customer, None).await;
            let api = server
                .command(role_token, &for_api, suffix, &body)
                .await
                .status;
            let (status, _, _) = person
                .send(&format!("/console/tickets/{for_console}/{suffix}"), &fields)
                .await;
            assert_eq!(console_outcome(status), api_outcome(api), "{role} {name}");
            compared += 1;
        }

        // Follow-up of a closed ticket, and opening one.
        let closed_console = open_with_order(&server, &tokens.customer, None).await;
        let closed_api = open_with_order(&server, &tokens.customer, None).await;
        for ticket in [&closed_console, &closed_api] {
            server
                .command(
                    &tokens.agent,
                    ticket,
                    "close",
                    &json!({"resolution": "resolved"}),
                )
                .await
                .expect_status(200);
        }
        let api = server
            .post(&format!("/v1/tickets/{closed_api}/follow-ups"))
            .bearer_auth(role_token)
            .json(&json!({"description": "Again"}))
            .reply()
            .await
            .status;
        let (status, _, _) = person
            .send(
                &format!("/console/tickets/{closed_console}/follow-ups"),
                &[("description", "Again")],
            )
            .await;
        assert_eq!(
            console_outcome(status),
            api_outcome(api),
            "{role} follow-up"
        );
        compared += 1;

        let mut open = open_body_with_order(4990, "EUR");
        open["reason"] = json!({"category": "delivery"});
        let api = server.open(role_token, &open).await.status;
        let (status, _, _) = person
            .send(
                "/console/tickets",
                &[
                    ("subject", "Parcel never arrived"),
                    ("description", "Nothing came."),
                    ("reason", "delivery"),
                    ("order_number", "ORD-1001"),
                    ("order_amount", "49.90"),
                    ("currency", "EUR"),
                ],
            )
            .await;
        // Platform staff (`org: "*"`) must name an org the console's form
        // does not offer; both refuse them alike.
        assert_eq!(console_outcome(status), api_outcome(api), "{role} open");
        compared += 1;
    }
    assert_eq!(
        compared,
        6 * 3 + 6 * 7 - 2,
        "every role x page x action was compared"
    );
}

#[tokio::test]
async fn an_auditor_sees_the_ticket_as_it_stood_before_the_refund() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_clock("2030-01-07T09:00:00Z")
        .await
        .expect_status(200);
    let ticket = open_with_order(&server, &tokens.customer, None).await;
    server
        .set_clock("2030-01-07T10:00:00Z")
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &ticket,
            "comments",
            &json!({"body": "Checking the courier", "visibility": "internal"}),
        )
        .await
        .expect_status(200);
    server
        .command(
            &tokens.agent,
            &ticket,
            "refunds",
            &json!({"amount_minor": 500, "currency": "EUR", "reason": "goodwill"}),
        )
        .await
        .expect_status(200);

    let auditor = Person::sign_in(&server, &tokens.auditor).await;
    let history = format!("/console/tickets/{ticket}/history");
    let (status, before) = auditor
        .get(&format!("{history}?as_of=2030-01-07T09:30"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        before.contains("id=\"refunded-at\">0.00 EUR<"),
        "before the refund: nothing refunded"
    );
    assert!(before.contains("data-status=\"open\""));
    assert_eq!(
        before.matches("class=\"event\"").count(),
        1,
        "only the open by then"
    );

    let (_, after) = auditor
        .get(&format!("{history}?as_of=2030-01-07T10:00:00"))
        .await;
    assert!(
        after.contains("id=\"refunded-at\">5.00 EUR<"),
        "after it: the refund"
    );
    assert!(after.contains("refund_issued") && after.contains("Checking the courier"));

    let (_, everything) = auditor.get(&history).await;
    assert_eq!(everything.matches("class=\"event\"").count(), 3);
    assert!(
        !everything.contains("id=\"state-at\""),
        "no instant, no state"
    );

    let (_, too_early) = auditor
        .get(&format!("{history}?as_of=2030-01-07T08:00"))
        .await;
    assert!(too_early.contains("id=\"before-open\""));
    let (_, unreadable) = auditor.get(&format!("{history}?as_of=yesterday")).await;
    assert!(unreadable.contains("id=\"as-of-error\""));

    // Customers read the history without internal notes, as in the API.
    let customer = Person::sign_in(&server, &tokens.customer).await;
    let (status, theirs) = customer.get(&history).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!theirs.contains("Checking the courier"));
    assert_eq!(theirs.matches("class=\"event\"").count(), 2);
    let other_org = Person::sign_in(&server, &token("auditor", OTHER_ORG)).await;
    assert_eq!(other_org.get(&history).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_agent_replies_with_a_text_module_of_the_tickets_org() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .put(&format!("/v1/orgs/{ORG}/text-modules/on-it"))
        .bearer_auth(&tokens.agent)
        .json(&json!({"title": "We are on it", "body": "Thanks for ticket {{ticket.number}}, we are on it."}))
        .reply()
        .await
        .expect_status(201);
    let ticket = open_with_order(&server, &tokens.customer, None).await;
    let agent = Person::sign_in(&server, &tokens.agent).await;
    let page = format!("/console/tickets/{ticket}");
    let (_, shown) = agent.get(&page).await;
    assert!(shown.contains("id=\"reply-module\"") && shown.contains("value=\"on-it\""));
    let (status, location, _) = agent
        .send(
            &format!("{page}/comments"),
            &[("text_module", "on-it"), ("visibility", "public")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(page.as_str()));
    let (_, after) = agent.get(&page).await;
    assert!(after.contains("we are on it."), "the module's text, filled");
    assert!(!after.contains("{{ticket.number}}"), "no placeholder left");
    assert!(after.contains("text module on-it v1"));
    assert!(after.contains("data-status=\"waiting\""), "a public reply");

    let (status, _, refused) = agent
        .send(
            &format!("{page}/comments"),
            &[("text_module", "nope"), ("visibility", "public")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("There is no such text module."));

    let customer = Person::sign_in(&server, &tokens.customer).await;
    let (_, theirs) = customer.get(&page).await;
    assert!(
        !theirs.contains("id=\"reply-module\""),
        "customers write their own"
    );
}

#[tokio::test]
async fn kpis_are_charted_listed_and_downloadable_as_the_api_counts_them() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    server
        .set_clock("2030-01-07T09:00:00Z")
        .await
        .expect_status(200);
    let first = open_with_order(&server, &tokens.customer, None).await;
    open_with_order(&server, &tokens.customer, None).await;
    server
        .command(
            &tokens.agent,
            &first,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);

    let analyst = Person::sign_in(&server, &tokens.analyst).await;
    let (status, landing) = analyst.get("/console/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{landing}");
    let query = "from=2030-01-07&to=2030-01-07&bucket=day";
    let (status, page) = analyst.get(&format!("/console/kpis?{query}")).await;
    assert_eq!(status, StatusCode::OK);
    let head = server.head().await;
    let api = server
        .get(&format!("/v1/kpis?{query}&min_position={head}"))
        .bearer_auth(&tokens.analyst)
        .reply()
        .await
        .expect_status(200);
    let row = &api["rows"][0];
    assert_eq!(
        (row["opened"].as_u64(), row["closed"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(page.contains("<td class=\"bucket\">2030-01-07</td>"));
    assert!(
        page.contains("<td class=\"opened\">2</td>")
            && page.contains("<td class=\"closed\">1</td>")
    );
    for chart in ["volume", "first-response", "sla", "backlog"] {
        assert!(
            page.contains(&format!("id=\"chart-{chart}\"")),
            "{chart} on the page"
        );
        let response = analyst
            .answer(&format!("/console/kpis/charts/{chart}.svg?org=&{query}"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{chart}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml"));
        let svg = response.text().await.unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("2030-01-07"),
            "{chart}: an SVG over the buckets"
        );
    }
    let csv = analyst.answer(&format!("/console/kpis.csv?{query}")).await;
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("bucket,org,opened,closed"));
    assert!(lines
        .next()
        .unwrap()
        .starts_with(&format!("2030-01-07,{ORG},2,1,")));

    let (_, bad) = analyst.get("/console/kpis?from=soon").await;
    assert!(
        bad.contains("must be a date YYYY-MM-DD"),
        "the rule in words"
    );
    let customer = Person::sign_in(&server, &tokens.customer).await;
    assert_eq!(customer.get("/console/kpis").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        customer.get(&format!("/console/kpis.csv?{query}")).await.0,
        StatusCode::FORBIDDEN
    );
}

const BOUNDARY: &str = "docket-console-boundary-51c2";

const PNG: &[u8] = docket_tests::harness::PNG_1X1;

/// A `multipart/form-data` body of text parts, then (or first) a file part.
fn multipart(texts: &[(&str, &str)], file: (&str, &[u8]), file_first: bool) -> Vec<u8> {
    let text_parts: Vec<u8> = texts
        .iter()
        .flat_map(|(name, value)| {
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .into_bytes()
        })
        .collect();
    let mut file_part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        file.0
    )
    .into_bytes();
    file_part.extend_from_slice(file.1);
    file_part.extend_from_slice(b"\r\n");
    let mut body = if file_first {
        [file_part, text_parts].concat()
    } else {
        [text_parts, file_part].concat()
    };
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl Person {
    async fn upload(&self, ticket: &str, body: Vec<u8>) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!(
                "{}/console/tickets/{ticket}/attachments",
                self.base
            ))
            .header(COOKIE, &self.cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("the console answers");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }
}

fn attachment_urls(page: &str, ticket: &str) -> Vec<String> {
    let prefix = format!("/console/tickets/{ticket}/attachments/");
    let mut urls: Vec<String> = page
        .match_indices(&prefix)
        .map(|(at, _)| {
            let rest = &page[at..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        })
        .collect();
    urls.dedup();
    urls
}

#[tokio::test]
async fn attachments_are_added_shown_and_served_by_the_apis_rules() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let ticket = open_with_order(&server, &tokens.customer, None).await;
    let agent = Person::sign_in(&server, &tokens.agent).await;
    let csrf = agent.csrf().await;
    let head = server.head().await;

    // Without the CSRF value, or with it after the file: 403, nothing kept.
    let (status, _) = agent
        .upload(
            &ticket,
            multipart(&[("csrf", "00")], ("photo.png", PNG), false),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = agent
        .upload(
            &ticket,
            multipart(&[("csrf", &csrf)], ("photo.png", PNG), true),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the CSRF value must come before the file"
    );
    assert_eq!(server.head().await, head);

    // A page of HTML is no picture: the API's refusal, next to the form.
    let (status, page) = agent
        .upload(
            &ticket,
            multipart(
                &[("csrf", &csrf)],
                ("x.png", b"<html><script>1</script></html>"),
                false,
            ),
        )
        .await;
    let api = server
        .post(&format!("/v1/tickets/{ticket}/attachments"))
        .bearer_auth(&tokens.agent)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(
            &[],
            ("x.png", b"<html><script>1</script></html>"),
            false,
        ))
        .reply()
        .await;
    assert_eq!(status.as_u16(), api.status, "the API's status");
    assert!(
        page.contains("id=\"attach\"") && page.contains("class=\"error\""),
        "shown in the form"
    );
    assert_eq!(server.head().await, head);

    let (status, _) = agent
        .upload(
            &ticket,
            multipart(
                &[("csrf", &csrf), ("idempotency_key", "k-1")],
                ("photo.png", PNG),
                false,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = agent
        .upload(
            &ticket,
            multipart(
                &[("csrf", &csrf), ("visibility", "internal")],
                ("courier-claim.txt", b"claim 55-1187"),
                false,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(server.head().await, head + 2);

    let (_, page) = agent.get(&format!("/console/tickets/{ticket}")).await;
    let urls = attachment_urls(&page, &ticket);
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(
        page.contains(&format!("<img class=\"thumbnail\" src=\"{}\"", urls[0])),
        "a thumbnail"
    );
    assert!(page.contains("courier-claim.txt") && page.contains("attachment internal"));
    let png = agent.answer(&urls[0]).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.bytes().await.unwrap().as_ref(), PNG);

    // The customer sees the picture, not the team's file.
    let customer = Person::sign_in(&server, &tokens.customer).await;
    let (_, theirs) = customer.get(&format!("/console/tickets/{ticket}")).await;
    assert_eq!(attachment_urls(&theirs, &ticket), vec![urls[0].clone()]);
    assert_eq!(
        customer.answer(&urls[1]).await.status(),
        StatusCode::NOT_FOUND
    );
    let stranger = Person::sign_in(&server, &token("agent", OTHER_ORG)).await;
    assert_eq!(
        stranger.answer(&urls[0]).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn agents_manage_text_modules_by_the_apis_rules_and_others_read_or_are_refused() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let agent = Person::sign_in(&server, &tokens.agent).await;
    let (status, page) = agent.get("/console/text-modules").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"save-module\"") && page.contains("id=\"no-modules\""));

    let (status, location, _) = agent
        .send(
            "/console/text-modules",
            &[
                ("org", ORG),
                ("name", "late-parcel"),
                ("title", "Late parcel"),
                (
                    "body",
                    "Ticket {{ticket.number}}: your parcel is on its way.",
                ),
                ("sales_channels", "amazon-it, ebay-de"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/text-modules?org={ORG}").as_str())
    );
    let head = server.head().await;
    let api = server
        .get(&format!("/v1/orgs/{ORG}/text-modules?min_position={head}"))
        .bearer_auth(&tokens.agent)
        .reply()
        .await
        .expect_status(200);
    assert_eq!(api["items"][0]["name"], "late-parcel");
    assert_eq!(
        api["items"][0]["sales_channels"],
        json!(["amazon-it", "ebay-de"])
    );
    let (_, listed) = agent.get("/console/text-modules").await;
    assert!(listed.contains("data-name=\"late-parcel\"") && listed.contains("amazon-it, ebay-de"));

    // A placeholder outside the contract's list: the API's refusal, in words,
    // with what was typed kept.
    let (status, _, refused) = agent
        .send(
            "/console/text-modules",
            &[
                ("org", ORG),
                ("name", "bad"),
                ("title", "Bad"),
                ("body", "Hi {{ ticket.nope }}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("id=\"save-module-error\"") && refused.contains("ticket.nope"));
    assert_eq!(server.head().await, head, "nothing appended");

    let (status, _, _) = agent
        .send("/console/text-modules/late-parcel/remove", &[("org", ORG)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, after) = agent.get("/console/text-modules").await;
    assert!(!after.contains("data-name=\"late-parcel\""));

    // Support reads, does not manage; customers and analysts are refused,
    // as by the API; another org's agent may not write here.
    let support = Person::sign_in(&server, &tokens.support).await;
    let (status, theirs) = support
        .get(&format!("/console/text-modules?org={ORG}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!theirs.contains("id=\"save-module\""));
    for role_token in [&tokens.customer, &tokens.analyst] {
        let person = Person::sign_in(&server, role_token).await;
        assert_eq!(
            person.get("/console/text-modules").await.0,
            StatusCode::FORBIDDEN
        );
    }
    let stranger = Person::sign_in(&server, &token("agent", OTHER_ORG)).await;
    let (status, _, _) = stranger
        .send(
            "/console/text-modules",
            &[("org", ORG), ("name", "x"), ("title", "X"), ("body", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
