//! Contract v1.2's portal features through the real `docketd`: contacts and
//! sales channels on tickets, `notify_email` on policies, text modules
//! (saved, replaced, removed, listed, per role and org) and comments made
//! from them. Every refusal names its code and appends nothing.

use docket_tests::harness::{
    id_of, open_body, open_body_with_order, token, Reply, ReplyExt, Server, Tokens, ORG, OTHER_ORG,
};
use reqwest::Method;
use serde_json::{json, Value};

fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            body.insert(key.clone(), value.clone());
        }
    }
    body
}

fn anna() -> Value {
    json!({"email": "anna.rossi@example.it", "name": "Anna Rossi", "language": "it"})
}

async fn put_module(server: &Server, token: &str, name: &str, body: &Value) -> Reply {
    server
        .put(&format!("/v1/orgs/{ORG}/text-modules/{name}"))
        .bearer_auth(token)
        .json(body)
        .reply()
        .await
}

async fn delete_module(server: &Server, token: &str, name: &str) -> Reply {
    server
        .request(
            Method::DELETE,
            &format!("/v1/orgs/{ORG}/text-modules/{name}"),
        )
        .bearer_auth(token)
        .reply()
        .await
}

async fn get_with_head(server: &Server, token: &str, path: &str) -> Reply {
    let head = server.head().await;
    server
        .get(path)
        .bearer_auth(token)
        .header("x-min-position", head.to_string())
        .reply()
        .await
}

fn module(body: &str, channels: &[&str]) -> Value {
    json!({"title": "Late parcel", "body": body, "sales_channels": channels})
}

// ================================================ contacts and channels

#[tokio::test]
async fn a_ticket_shows_its_contact_and_sales_channel_in_the_view_and_the_inbox() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let body = with(
        open_body(),
        json!({"contact": {"email": "marco@example.com"}, "sales_channel": "kaufland.de"}),
    );
    let id = id_of(&server.open_ok(&tokens.customer, &body).await);
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(
        view["contact"],
        json!({"email": "marco@example.com", "name": null, "language": "en"})
    );
    assert_eq!(view["sales_channel"], "kaufland.de");
    let plain = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let inbox = get_with_head(
        &server,
        &tokens.agent,
        "/v1/inbox/open?sales_channel=kaufland.de",
    )
    .await
    .expect_status(200);
    let items = inbox["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["ticket_id"], id);
    assert_eq!(items[0]["sales_channel"], "kaufland.de");
    assert_eq!(items[0]["contact"]["email"], "marco@example.com");
    let all = get_with_head(&server, &tokens.agent, "/v1/inbox/open")
        .await
        .expect_status(200);
    let plain_item = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["ticket_id"] == plain.as_str())
        .expect("listed")
        .clone();
    assert_eq!(plain_item["contact"], Value::Null);
    assert_eq!(plain_item["sales_channel"], Value::Null);
    get_with_head(
        &server,
        &tokens.agent,
        "/v1/inbox/open?sales_channel=Kaufland.DE",
    )
    .await
    .expect_problem(422, "invalid_sales_channel");
}

#[tokio::test]
async fn a_bad_contact_or_channel_is_refused_by_its_code_and_appends_nothing() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let head = server.head().await;
    let long_email = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
    assert_eq!(long_email.len(), 255);
    for (extra, code) in [
        (
            json!({"contact": {"email": "not-an-address"}}),
            "invalid_email",
        ),
        (
            json!({"contact": {"email": "Anna <anna@example.it>"}}),
            "invalid_email",
        ),
        (json!({"contact": {"email": long_email}}), "invalid_email"),
        (
            json!({"contact": {"email": "a@example.it\r\nBcc: eve@example.com"}}),
            "invalid_email",
        ),
        (
            json!({"contact": {"email": "a@example.it", "name": "Anna\r\nBcc: eve@example.com"}}),
            "invalid_contact_name",
        ),
        (
            json!({"contact": {"email": "a@example.it", "name": "x".repeat(201)}}),
            "invalid_contact_name",
        ),
        (
            json!({"contact": {"email": "a@example.it", "language": "es"}}),
            "unsupported_language",
        ),
        (
            json!({"sales_channel": "Kaufland.de"}),
            "invalid_sales_channel",
        ),
        (
            json!({"sales_channel": "x".repeat(64)}),
            "invalid_sales_channel",
        ),
    ] {
        server
            .open(&tokens.customer, &with(open_body(), extra.clone()))
            .await
            .expect_problem(422, code);
    }
    assert_eq!(server.head().await, head, "nothing appended");
}

#[tokio::test]
async fn a_follow_up_takes_the_parents_contact_and_channel_unless_it_gives_its_own() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let body = with(
        open_body(),
        json!({"contact": anna(), "sales_channel": "ebay.it"}),
    );
    let parent = id_of(&server.open_ok(&tokens.customer, &body).await);
    server
        .command(
            &tokens.agent,
            &parent,
            "close",
            &json!({"resolution": "resolved"}),
        )
        .await
        .expect_status(200);
    for follow_up in [json!({}), json!({"contact": null})] {
        let child = server
            .command(&tokens.customer, &parent, "follow-ups", &follow_up)
            .await
            .expect_status(201);
        let view = server
            .ticket(&tokens.agent, &id_of(&child))
            .await
            .expect_status(200);
        assert_eq!(view["contact"], anna(), "{follow_up}");
        assert_eq!(view["sales_channel"], "ebay.it");
    }
    let own = server
        .command(
            &tokens.customer,
            &parent,
            "follow-ups",
            &json!({"contact": {"email": "marco@example.com", "language": "de"}, "sales_channel": "otto.de"}),
        )
        .await
        .expect_status(201);
    let view = server
        .ticket(&tokens.agent, &id_of(&own))
        .await
        .expect_status(200);
    assert_eq!(view["contact"]["language"], "de");
    assert_eq!(view["sales_channel"], "otto.de");
}

#[tokio::test]
async fn a_policy_carries_the_teams_notify_email() {
    let server = Server::start().await;
    let admin = token("admin", "*");
    let set = server
        .put(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&admin)
        .json(&json!({"notify_email": "support@acme.example"}))
        .reply()
        .await
        .expect_status(200);
    assert_eq!(set["notify_email"], "support@acme.example");
    let read = get_with_head(&server, &admin, &format!("/v1/orgs/{ORG}/policy"))
        .await
        .expect_status(200);
    assert_eq!(read["notify_email"], "support@acme.example");
    server
        .put(&format!("/v1/orgs/{ORG}/policy"))
        .bearer_auth(&admin)
        .json(&json!({"notify_email": "support at acme"}))
        .reply()
        .await
        .expect_problem(422, "invalid_email");
}

// ========================================================= text modules

#[tokio::test]
async fn a_module_is_made_replaced_removed_and_made_again_counting_versions() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let made = put_module(
        &server,
        &tokens.agent,
        "late-parcel",
        &module(
            "Hi {{ contact.name }}",
            &["kaufland.de", "ebay.it", "kaufland.de"],
        ),
    )
    .await;
    assert_eq!(made.header("etag"), Some("\"1\""));
    assert_eq!(
        made.header("location"),
        Some("/v1/orgs/acme/text-modules/late-parcel")
    );
    let made = made.expect_status(201);
    assert_eq!(made["version"], 1);
    assert_eq!(made["org"], ORG);
    assert_eq!(made["sales_channels"], json!(["ebay.it", "kaufland.de"]));
    assert!(made["updated_at"].is_string() && made["position"].is_u64());
    // A stale If-Match is refused; the current one replaces.
    let replace = |version: &'static str| {
        server
            .put(&format!("/v1/orgs/{ORG}/text-modules/late-parcel"))
            .bearer_auth(&tokens.agent)
            .header("if-match", version)
            .json(&module("Hello {{contact.name}}", &[]))
    };
    replace("\"7\"")
        .reply()
        .await
        .expect_problem(412, "version_mismatch");
    let replaced = replace("\"1\"").reply().await.expect_status(200);
    assert_eq!(replaced["version"], 2);
    let one = get_with_head(
        &server,
        &tokens.support,
        &format!("/v1/orgs/{ORG}/text-modules/late-parcel"),
    )
    .await;
    assert_eq!(one.header("etag"), Some("\"2\""));
    assert_eq!(one.expect_status(200)["body"], "Hello {{contact.name}}");
    let removed = delete_module(&server, &tokens.admin, "late-parcel")
        .await
        .expect_status(200);
    assert_eq!(
        removed,
        json!({"org": ORG, "name": "late-parcel", "version": 3, "removed": true, "position": removed["position"]})
    );
    delete_module(&server, &tokens.admin, "late-parcel")
        .await
        .expect_problem(404, "not_found");
    get_with_head(
        &server,
        &tokens.agent,
        &format!("/v1/orgs/{ORG}/text-modules/late-parcel"),
    )
    .await
    .expect_problem(404, "not_found");
    let again = put_module(&server, &tokens.agent, "late-parcel", &module("Back", &[]))
        .await
        .expect_status(201);
    assert_eq!(again["version"], 4);
}

#[tokio::test]
async fn modules_are_listed_by_name_and_filtered_by_channel() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    for (name, channels) in [
        ("zz-everywhere", vec![]),
        ("a-kaufland", vec!["kaufland.de"]),
        ("m-ebay", vec!["ebay.it"]),
    ] {
        put_module(&server, &tokens.agent, name, &module("Hi", &channels))
            .await
            .expect_status(201);
    }
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| m["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let all = get_with_head(
        &server,
        &tokens.auditor,
        &format!("/v1/orgs/{ORG}/text-modules"),
    )
    .await
    .expect_status(200);
    assert_eq!(names(&all), ["a-kaufland", "m-ebay", "zz-everywhere"]);
    let kaufland = get_with_head(
        &server,
        &tokens.agent,
        &format!("/v1/orgs/{ORG}/text-modules?sales_channel=kaufland.de"),
    )
    .await
    .expect_status(200);
    assert_eq!(names(&kaufland), ["a-kaufland", "zz-everywhere"]);
}

#[tokio::test]
async fn who_may_manage_and_read_modules_and_in_which_org() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let path = format!("/v1/orgs/{ORG}/text-modules");
    for (role, token) in [
        ("customer", &tokens.customer),
        ("support", &tokens.support),
        ("auditor", &tokens.auditor),
        ("analyst", &tokens.analyst),
    ] {
        put_module(&server, token, "m", &module("x", &[]))
            .await
            .expect_problem(403, "forbidden");
        let _ = role;
    }
    for token in [&tokens.customer, &tokens.analyst] {
        get_with_head(&server, token, &path)
            .await
            .expect_problem(403, "forbidden");
    }
    for token in [
        &tokens.agent,
        &tokens.support,
        &tokens.auditor,
        &tokens.admin,
    ] {
        get_with_head(&server, token, &path)
            .await
            .expect_status(200);
    }
    let other_agent = token("agent", OTHER_ORG);
    put_module(&server, &other_agent, "m", &module("x", &[]))
        .await
        .expect_problem(403, "forbidden_org");
    get_with_head(&server, &other_agent, &path)
        .await
        .expect_problem(403, "forbidden_org");
    // The org is checked before the org scope, the role before the org.
    server
        .put("/v1/orgs/Not_An_Org/text-modules/m")
        .bearer_auth(&tokens.agent)
        .json(&module("x", &[]))
        .reply()
        .await
        .expect_problem(404, "not_found");
    server
        .put("/v1/orgs/Not_An_Org/text-modules/m")
        .bearer_auth(&tokens.customer)
        .json(&module("x", &[]))
        .reply()
        .await
        .expect_problem(403, "forbidden");
    put_module(&server, &tokens.agent, "Bad-Name", &module("x", &[]))
        .await
        .expect_problem(404, "not_found");
    put_module(&server, &tokens.admin, "m", &module("x", &[]))
        .await
        .expect_status(201);
}

#[tokio::test]
async fn a_bad_module_is_refused_by_its_code_and_appends_nothing() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let head = server.head().await;
    let many: Vec<String> = (0..51).map(|i| format!("shop{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (body, code) in [
        (module("Hi {{ ticket.number", &[]), "invalid_template"),
        (module("Hi {{}}", &[]), "invalid_template"),
        (module("done }}", &[]), "invalid_template"),
        (module("Hi {{ ticket.nope }}", &[]), "unknown_placeholder"),
        (module(&"x".repeat(20_001), &[]), "invalid_field"),
        (
            json!({"title": "x".repeat(101), "body": "x"}),
            "invalid_field",
        ),
        (module("x", &many), "invalid_field"),
        (module("x", &["Not.A.Channel"]), "invalid_sales_channel"),
        (
            json!({"title": "t", "body": "b", "extra": 1}),
            "unknown_field",
        ),
    ] {
        put_module(&server, &tokens.agent, "m", &body)
            .await
            .expect_problem(422, code);
    }
    assert_eq!(server.head().await, head, "nothing appended");
    put_module(&server, &tokens.agent, "m", &module("x", &many[..50]))
        .await
        .expect_status(201);
}

#[tokio::test]
async fn a_retried_save_answers_as_the_first_and_another_body_is_refused() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let send = |body: Value| {
        server
            .put(&format!("/v1/orgs/{ORG}/text-modules/m"))
            .bearer_auth(&tokens.agent)
            .header("idempotency-key", "save-m-1")
            .json(&body)
    };
    let first = send(module("x", &[])).reply().await;
    let head = server.head().await;
    let again = send(module("x", &[])).reply().await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);
    assert_eq!(server.head().await, head, "the retry appended nothing");
    send(module("y", &[]))
        .reply()
        .await
        .expect_problem(422, "idempotency_key_reused");
}

// ==================================== comments made from text modules

#[tokio::test]
async fn a_comment_from_a_module_is_filled_and_records_the_modules_version() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    put_module(
        &server,
        &tokens.agent,
        "late-parcel",
        &module(
            "Ciao {{ contact.name }}, ticket {{ticket.number}} ({{order.number}}) via {{sales_channel}}.",
            &["kaufland.de"],
        ),
    )
    .await
    .expect_status(201);
    let body = with(
        open_body_with_order(5_000, "EUR"),
        json!({"contact": anna(), "sales_channel": "kaufland.de"}),
    );
    let opened = server.open_ok(&tokens.customer, &body).await;
    let id = id_of(&opened);
    server
        .command(
            &tokens.agent,
            &id,
            "comments",
            &json!({"text_module": "late-parcel"}),
        )
        .await
        .expect_status(200);
    let view = server
        .ticket(&tokens.customer, &id)
        .await
        .expect_status(200);
    let comment = &view["comments"][0];
    let number = opened["number"].as_str().expect("number");
    assert_eq!(
        comment["body"],
        format!("Ciao Anna Rossi, ticket {number} (ORD-1001) via kaufland.de.")
    );
    assert_eq!(
        comment["text_module"],
        json!({"name": "late-parcel", "version": 1})
    );
    assert_eq!(view["status"], "waiting");
    let history = server.history_events(&id).await;
    let added = history
        .iter()
        .find(|event| event["type"] == "comment_added")
        .expect("the comment's event");
    assert_eq!(
        added["data"]["text_module"],
        json!({"name": "late-parcel", "version": 1})
    );
}

#[tokio::test]
async fn a_comment_from_a_module_is_refused_in_the_contracts_order() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    put_module(
        &server,
        &tokens.agent,
        "for-kaufland",
        &module("Hi", &["kaufland.de"]),
    )
    .await
    .expect_status(201);
    put_module(
        &server,
        &tokens.agent,
        "needs-order",
        &module("{{order.number}}", &[]),
    )
    .await
    .expect_status(201);
    let id = id_of(&server.open_ok(&tokens.customer, &open_body()).await);
    let head = server.head().await;
    let comment = |token: &str, body: Value| {
        let id = id.clone();
        let token = token.to_owned();
        let server = &server;
        async move { server.command(&token, &id, "comments", &body).await }
    };
    comment(&tokens.customer, json!({"text_module": "for-kaufland"}))
        .await
        .expect_problem(403, "forbidden");
    comment(&tokens.agent, json!({"text_module": "missing"}))
        .await
        .expect_problem(422, "unknown_text_module");
    comment(&tokens.agent, json!({"text_module": "for-kaufland"}))
        .await
        .expect_problem(422, "text_module_not_for_channel");
    comment(&tokens.agent, json!({"text_module": "needs-order"}))
        .await
        .expect_problem(422, "placeholder_without_value");
    comment(
        &tokens.agent,
        json!({"text_module": "needs-order", "body": "x"}),
    )
    .await
    .expect_problem(422, "body_or_text_module");
    comment(&tokens.agent, json!({}))
        .await
        .expect_problem(422, "body_or_text_module");
    // Another org's module of the same name is not this ticket's.
    let other = id_of(
        &server
            .open_ok(&token("customer", OTHER_ORG), &open_body())
            .await,
    );
    server
        .command(
            &token("agent", OTHER_ORG),
            &other,
            "comments",
            &json!({"text_module": "needs-order"}),
        )
        .await
        .expect_problem(422, "unknown_text_module");
    assert_eq!(server.head().await, head + 1, "only the other org's open");
}

#[tokio::test]
async fn module_events_are_in_the_feed_in_the_orgs_stream() {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    put_module(&server, &tokens.agent, "m", &module("x", &[]))
        .await
        .expect_status(201);
    delete_module(&server, &tokens.agent, "m")
        .await
        .expect_status(200);
    let feed = server.feed().await;
    let kinds: Vec<(&str, &str)> = feed
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or(""),
                e["stream"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("text_module_saved", "text-modules-acme"),
            ("text_module_removed", "text-modules-acme")
        ]
    );
    assert_eq!(feed[0]["data"]["version"], 1);
    assert_eq!(feed[1]["data"]["version"], 2);
}
