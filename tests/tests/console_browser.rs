//! The web console (`/console/`) in a real browser: headless Chromium
//! driven over WebDriver (`docket_tests::webdriver_support`), against the
//! real `docketd`. A customer and an agent, each in a browser of their own
//! (separate cookie jars), take one ticket through its whole life by the
//! console's forms; every step checks what the page shows, and the end is
//! checked against the JSON API too. The second test reads the session
//! cookie as the browser holds it.
//!
//! Skipped, with a message, only when Chromium or chromedriver is missing
//! and `DOCKET_REQUIRE_BROWSER` is unset; `scripts/test.sh` installs both
//! and sets it, so CI never skips.

use docket_tests::harness::{Server, Tokens, ORG};
use docket_tests::webdriver_support::{skip_without_browser, Browser, WAIT};
use serde_json::{json, Value};
use uuid::Uuid;

const SESSION_COOKIE: &str = "docket_session";
const OPEN_INBOX: &str = "/console/inbox/open";

const PNG: &[u8] = docket_tests::harness::PNG_1X1;

const SUBJECT: &str = "Espresso machine arrived crushed";
const DESCRIPTION: &str = "The box was dented and the water tank is cracked.";
const ORDER_NUMBER: &str = "ORD-7731";
const AGENT_REPLY: &str = "Sorry to hear that! Could you send a photo of the tank?";
const CUSTOMER_REPLY: &str = "Photo attached to my mail, the crack is on the left side.";
const INTERNAL_NOTE: &str = "Courier DPD confirmed rough handling, claim 55-1187.";
const FOLLOW_UP_SUBJECT: &str = "Replacement tank leaks too";
const FOLLOW_UP_DESCRIPTION: &str = "The replacement tank drips from the same seam.";

/// The ticket id in a console ticket page's path, if it is one.
fn ticket_id_in(path: &str) -> Option<Uuid> {
    let rest = path.strip_prefix("/console/tickets/")?;
    Uuid::parse_str(rest).ok()
}

/// Signs in through the sign-in page's form, as a person would.
async fn sign_in_with_form(browser: &Browser, server: &Server, token: &str) {
    browser.goto(&server.url("/console/sign-in")).await;
    browser.screenshot("sign-in").await;
    browser.check_accessibility("sign-in").await;
    browser.fill("form#sign-in input#token", token).await;
    browser.submit("form#sign-in").await;
    browser
        .wait_for_path("the open inbox", |path| path == OPEN_INBOX, WAIT)
        .await;
    assert!(
        browser.exists("form#sign-out button#sign-out-button").await,
        "a signed-in page offers to sign out"
    );
}

/// The `data-status` of the ticket page's `#status`, once it is `expected`.
async fn expect_status(browser: &Browser, expected: &str) {
    browser
        .wait_for_attr("#status", "data-status", expected, WAIT)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_and_an_agent_take_a_ticket_through_its_life_in_the_console() {
    if skip_without_browser("a_customer_and_an_agent_take_a_ticket_through_its_life_in_the_console")
    {
        return;
    }
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let customer = Browser::start().await;
    let agent = Browser::start().await;

    // ------------------------------------------------ the customer opens it
    sign_in_with_form(&customer, &server, &tokens.customer).await;
    customer.click_and_wait("nav a#nav-new").await;
    customer
        .wait_for_path(
            "the new-ticket form",
            |path| path == "/console/tickets/new",
            WAIT,
        )
        .await;
    assert_eq!(
        customer
            .value("form#open-ticket input[name=currency]")
            .await,
        "EUR",
        "the currency defaults to EUR"
    );
    customer
        .fill("form#open-ticket input[name=subject]", SUBJECT)
        .await;
    customer
        .fill("form#open-ticket textarea[name=description]", DESCRIPTION)
        .await;
    customer
        .select("form#open-ticket select[name=reason]", "delivery")
        .await;
    customer
        .fill("form#open-ticket input[name=order_number]", ORDER_NUMBER)
        .await;
    customer
        .fill("form#open-ticket input[name=order_amount]", "49.90")
        .await;
    customer
        .select("form#open-ticket select[name=impact]", "high")
        .await;
    customer.screenshot("new-ticket").await;
    customer.check_accessibility("new-ticket").await;
    customer.submit_ok("form#open-ticket").await;
    let ticket_path = customer
        .wait_for_path("a ticket's page", |path| ticket_id_in(path).is_some(), WAIT)
        .await;
    let id = ticket_id_in(&ticket_path)
        .expect("a ticket's path")
        .to_string();
    let ticket_url = server.url(&ticket_path);

    assert_eq!(customer.text("h1#subject").await, SUBJECT);
    expect_status(&customer, "open").await;
    let number = customer.text("#number").await;
    assert!(!number.is_empty(), "the page shows the ticket's number");
    customer
        .wait_for_text("ol#thread li.message.opening p.body", DESCRIPTION, WAIT)
        .await;
    assert!(
        customer.text("#order-amount").await.contains("49.90 EUR"),
        "the order's amount in major units"
    );
    assert!(customer.exists("form#reply").await, "customers may reply");

    // The customer attaches a photo of the damage through the file field.
    let photo_dir = tempfile::tempdir().expect("a temp folder");
    let photo = photo_dir.path().join("crushed-box.png");
    std::fs::write(&photo, PNG).expect("write the photo");
    let file_field = customer.find("form#attach input[type=file]").await;
    file_field
        .send_keys(photo.to_str().expect("a UTF-8 path"))
        .await
        .expect("choose the file");
    customer.submit_ok("form#attach").await;
    customer
        .wait_for_text("ul#attachments a.download", "crushed-box.png", WAIT)
        .await;
    for form in [
        "form#note",
        "form#escalate",
        "form#refund",
        "form#close",
        "form#follow-up",
    ] {
        assert!(
            !customer.exists(form).await,
            "a customer is offered {form} on an open ticket"
        );
    }

    // ------------------------------ the agent finds it and answers publicly
    agent
        .goto(&server.url(&format!("/console/sign-in?token={}", tokens.agent)))
        .await;
    agent
        .wait_for_path("the open inbox", |path| path == OPEN_INBOX, WAIT)
        .await;
    assert!(
        !agent.exists("nav a#nav-new").await,
        "only customers are offered a new ticket"
    );
    let row = format!("table#tickets tr.ticket[data-ticket-id=\"{id}\"]");
    agent.wait_for_element_reloading(&row, WAIT).await;
    assert_eq!(agent.text(&format!("{row} td.subject")).await, SUBJECT);
    assert!(
        agent
            .text(&format!("{row} td.order"))
            .await
            .contains(ORDER_NUMBER),
        "the inbox shows the order number"
    );
    let inbox_number = agent.text(&format!("{row} td.number")).await;
    assert_eq!(agent.text("a#tab-open span.count").await, "1");
    assert_eq!(agent.text("a#tab-waiting span.count").await, "0");
    assert!(
        !agent.exists("p#empty").await,
        "the open inbox is not empty"
    );

    agent.screenshot("inbox").await;

    agent.check_accessibility("inbox").await;
    agent.click_and_wait(&format!("{row} td.subject > a")).await;
    assert_eq!(agent.path().await, ticket_path);
    assert_eq!(agent.text("h1#subject").await, SUBJECT);
    for form in [
        "form#reply",
        "form#note",
        "form#escalate",
        "form#refund",
        "form#close",
    ] {
        assert!(agent.exists(form).await, "an agent is offered {form}");
    }
    agent
        .fill("form#reply textarea[name=body]", AGENT_REPLY)
        .await;
    agent.submit_ok("form#reply").await;
    assert_eq!(agent.path().await, ticket_path, "back on the ticket");
    expect_status(&agent, "waiting").await;
    agent
        .wait_for_text(
            "ol#thread li.message:not(.internal) p.body",
            AGENT_REPLY,
            WAIT,
        )
        .await;

    let thumbnail_width = agent
        .client()
        .execute(
            "return document.querySelector('ul#attachments img.thumbnail').naturalWidth",
            vec![],
        )
        .await
        .expect("read the thumbnail's width");
    assert_eq!(
        thumbnail_width.as_f64(),
        Some(1.0),
        "the customer's photo, as a picture"
    );
    agent.screenshot("ticket-agent").await;
    agent.check_accessibility("ticket-agent").await;
    // The waiting inbox has it now, the open one no more.
    agent.click_and_wait("nav a#nav-waiting").await;
    agent.wait_for_element_reloading(&row, WAIT).await;
    assert_eq!(agent.text("a#tab-waiting span.count").await, "1");
    assert_eq!(agent.text("a#tab-open span.count").await, "0");

    // ------------------------------------------------ the customer answers
    customer.goto(&ticket_url).await;
    customer
        .wait_for_text_reloading("ol#thread li.message p.body", AGENT_REPLY, WAIT)
        .await;
    expect_status(&customer, "waiting").await;
    customer
        .fill("form#reply textarea[name=body]", CUSTOMER_REPLY)
        .await;
    customer.submit_ok("form#reply").await;
    expect_status(&customer, "open").await;
    customer
        .wait_for_text("ol#thread li.message p.body", CUSTOMER_REPLY, WAIT)
        .await;

    // ------------- the agent notes internally, refunds part, and closes it
    agent.goto(&ticket_url).await;
    agent
        .wait_for_text_reloading("ol#thread li.message p.body", CUSTOMER_REPLY, WAIT)
        .await;
    expect_status(&agent, "open").await;

    agent
        .fill("form#note textarea[name=body]", INTERNAL_NOTE)
        .await;
    agent.submit_ok("form#note").await;
    agent
        .wait_for_text("ol#thread li.message.internal p.body", INTERNAL_NOTE, WAIT)
        .await;
    agent.screenshot("ticket-internal-note").await;
    agent.check_accessibility("ticket-internal-note").await;
    expect_status(&agent, "open").await;
    assert_eq!(
        agent.find_all("ol#thread li.message").await.len(),
        4,
        "the opening, two replies and the note"
    );

    // The refund an hour later on the test clock, so that an auditor can
    // pick an instant between the note and the refund (to the second).
    let before_refund = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    let refund_at = before_refund + time::Duration::minutes(30);
    server
        .set_clock(&rfc3339(refund_at))
        .await
        .expect_status(200);
    agent.fill("form#refund input[name=amount]", "5.00").await;
    agent
        .fill("form#refund input[name=reason]", "Goodwill for the damage")
        .await;
    agent.submit_ok("form#refund").await;
    agent.wait_for_text("#refunded", "5.00 EUR", WAIT).await;
    assert!(
        agent.text("#order-amount").await.contains("49.90 EUR"),
        "a refund leaves the order's amount as it was"
    );

    agent
        .select("form#close select[name=resolution]", "resolved")
        .await;
    agent
        .fill(
            "form#close textarea[name=note]",
            "Refunded 5.00 for the damage.",
        )
        .await;
    agent.submit_ok("form#close").await;
    expect_status(&agent, "closed").await;

    // ----------- the customer sees the outcome, never the note, follows up
    customer.goto(&ticket_url).await;
    // The refund came after the note: a page that shows it could show the note.
    customer
        .wait_for_text_reloading("#refunded", "5.00 EUR", WAIT)
        .await;
    expect_status(&customer, "closed").await;
    customer.screenshot("ticket-closed-customer").await;
    customer.check_accessibility("ticket-closed-customer").await;
    assert!(
        !customer.source().await.contains(INTERNAL_NOTE),
        "the customer's page shows the internal note"
    );
    assert!(!customer.exists("ol#thread li.message.internal").await);
    assert_eq!(
        customer.find_all("ol#thread li.message").await.len(),
        3,
        "the opening and the two public replies"
    );

    customer
        .fill("form#follow-up input[name=subject]", FOLLOW_UP_SUBJECT)
        .await;
    customer
        .fill(
            "form#follow-up textarea[name=description]",
            FOLLOW_UP_DESCRIPTION,
        )
        .await;
    customer.submit_ok("form#follow-up").await;
    let follow_up_path = customer
        .wait_for_path(
            "the follow-up's page",
            |path| ticket_id_in(path).is_some() && path != ticket_path,
            WAIT,
        )
        .await;
    let follow_up_id = ticket_id_in(&follow_up_path)
        .expect("a ticket's path")
        .to_string();
    assert_eq!(customer.text("h1#subject").await, FOLLOW_UP_SUBJECT);
    expect_status(&customer, "open").await;
    customer
        .wait_for_text(
            "ol#thread li.message.opening p.body",
            FOLLOW_UP_DESCRIPTION,
            WAIT,
        )
        .await;

    // ------------------------------- the JSON API agrees with the pages
    let view = server.ticket(&tokens.agent, &id).await.expect_status(200);
    assert_eq!(view["status"], "closed");
    assert_eq!(view["resolution"], "resolved");
    assert_eq!(view["refunded_minor"], 500);
    assert_eq!(
        view["order"],
        json!({"number": ORDER_NUMBER, "amount_minor": 4990, "currency": "EUR"})
    );
    assert_eq!(view["subject"], SUBJECT);
    assert_eq!(view["description"], DESCRIPTION);
    assert_eq!(view["reason"]["category"], "delivery");
    assert_eq!(view["impact"], "high");
    assert_eq!(view["follow_ups"], json!([follow_up_id.as_str()]));
    let view_number = view["number"].as_str().expect("a ticket number");
    for shown in [&number, &inbox_number] {
        assert!(
            shown.contains(view_number),
            "the console shows number {shown:?} for ticket {view_number:?}"
        );
    }
    let comments: Vec<(&Value, &Value)> = view["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|comment| (&comment["body"], &comment["visibility"]))
        .collect();
    assert_eq!(
        comments,
        [
            (&json!(AGENT_REPLY), &json!("public")),
            (&json!(CUSTOMER_REPLY), &json!("public")),
            (&json!(INTERNAL_NOTE), &json!("internal")),
        ]
    );
    let follow_up = server
        .ticket(&tokens.customer, &follow_up_id)
        .await
        .expect_status(200);
    assert_eq!(follow_up["follow_up_of"], id.as_str());
    assert_eq!(follow_up["subject"], FOLLOW_UP_SUBJECT);
    assert_eq!(follow_up["status"], "open");

    // ----------------- an analyst sees the day's counts in the charts
    let analyst = Browser::start().await;
    analyst
        .goto(&server.url(&format!("/console/sign-in?token={}", tokens.analyst)))
        .await;
    analyst
        .wait_for_path("the KPIs", |path| path == "/console/kpis", WAIT)
        .await;
    let opened: u64 = analyst
        .texts("table#kpi-rows td.opened")
        .await
        .iter()
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum();
    let closed: u64 = analyst
        .texts("table#kpi-rows td.closed")
        .await
        .iter()
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum();
    assert_eq!(
        (opened, closed),
        (2, 1),
        "the ticket and its follow-up; one closed"
    );
    let drawn = analyst
        .client()
        .execute(
            "return document.getElementById('chart-volume').naturalWidth",
            vec![],
        )
        .await
        .expect("read the chart's width");
    assert!(
        drawn.as_f64().unwrap_or(0.0) > 0.0,
        "the volume chart loaded as an image"
    );
    analyst.screenshot("kpis").await;
    analyst.check_accessibility("kpis").await;

    // ------------- an auditor sees the ticket as it stood before the refund
    let auditor = Browser::start().await;
    auditor
        .goto(&server.url(&format!("/console/sign-in?token={}", tokens.auditor)))
        .await;
    auditor
        .wait_for_path("the open inbox", |path| path == OPEN_INBOX, WAIT)
        .await;
    auditor.goto(&ticket_url).await;
    auditor.click_and_wait("a#history-link").await;
    let as_of = before_refund.to_offset(time::UtcOffset::UTC);
    let typed = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        as_of.year(),
        u8::from(as_of.month()),
        as_of.day(),
        as_of.hour(),
        as_of.minute(),
        as_of.second()
    );
    // A datetime-local field takes its value through script most reliably.
    auditor
        .client()
        .execute(
            "document.getElementById('as-of-input').value = arguments[0]",
            vec![json!(typed)],
        )
        .await
        .expect("set the instant");
    auditor
        .click_and_wait("form#as-of button[type=submit]")
        .await;
    auditor
        .wait_for_text("#refunded-at", "0.00 EUR", WAIT)
        .await;
    assert!(
        auditor.exists("ol#thread-at li.message.internal").await,
        "the note came before the refund"
    );
    let kinds = auditor.texts("table#timeline td.kind").await;
    assert!(!kinds.iter().any(|k| k == "refund_issued"), "{kinds:?}");
    auditor.screenshot("history-as-of").await;
    auditor.check_accessibility("history-as-of").await;

    customer.quit().await;
    agent.quit().await;
    analyst.quit().await;
    auditor.quit().await;
}

/// RFC 3339 in UTC, as the test clock takes it.
fn rfc3339(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time formats")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_strict_to_the_console_and_signing_out_ends_it() {
    if skip_without_browser(
        "the_session_cookie_is_http_only_strict_to_the_console_and_signing_out_ends_it",
    ) {
        return;
    }
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let browser = Browser::start().await;

    // A bad token: the form again, with the error, and no session.
    browser.goto(&server.url("/console/sign-in")).await;
    browser
        .fill("form#sign-in input#token", "not-a-token")
        .await;
    browser.submit("form#sign-in").await;
    assert!(
        !browser.text("p.error#sign-in-error").await.is_empty(),
        "a refused sign-in says why"
    );
    assert!(browser.exists("form#sign-in input#token").await);
    assert_eq!(browser.cookie(SESSION_COOKIE).await, None);

    sign_in_with_form(&browser, &server, &tokens.agent).await;
    let cookie = browser
        .cookie(SESSION_COOKIE)
        .await
        .expect("signing in sets the session cookie");
    assert!(!cookie.value.is_empty());
    assert_eq!(cookie.http_only, Some(true), "{cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Strict"), "{cookie:?}");
    assert_eq!(cookie.path.as_deref(), Some("/console"), "{cookie:?}");
    // HttpOnly as the page's own scripts meet it: invisible.
    let script_cookies = browser
        .client()
        .execute("return document.cookie;", Vec::new())
        .await
        .expect("run a script in the page");
    assert!(
        !script_cookies
            .as_str()
            .unwrap_or_default()
            .contains(SESSION_COOKIE),
        "scripts can read the session cookie: {script_cookies}"
    );

    browser
        .click_and_wait("form#sign-out #sign-out-button")
        .await;
    // Read the jar from a console page, where a remaining cookie would show.
    browser.goto(&server.url("/console/sign-in")).await;
    assert_eq!(
        browser.cookie(SESSION_COOKIE).await,
        None,
        "signing out clears the cookie"
    );
    browser.goto(&server.url(OPEN_INBOX)).await;
    assert!(
        !browser.exists("table#tickets").await && !browser.exists("form#sign-out").await,
        "an inbox without a session:\n{}",
        browser.source().await
    );

    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_reaches_a_ticket_with_the_keyboard_alone() {
    if skip_without_browser("a_person_signs_in_and_reaches_a_ticket_with_the_keyboard_alone") {
        return;
    }
    let (server, tokens, ticket) = server_with_a_ticket().await;
    let browser = Browser::start().await;
    browser.goto(&server.url("/console/sign-in")).await;

    // Tab from the top of the page to the token field, type, press Enter.
    tab_to(&browser, "token", 10).await;
    let active = browser
        .client()
        .active_element()
        .await
        .expect("a focused element");
    active
        .send_keys(&format!("{}\u{E007}", tokens.agent))
        .await
        .expect("type the token and press Enter");
    browser
        .wait_for_path("the open inbox", |path| path == OPEN_INBOX, WAIT)
        .await;

    // Tab to the ticket's link in the inbox and follow it with Enter.
    let link_id = format!("/console/tickets/{ticket}");
    let mut reached = false;
    for _ in 0..40 {
        let active = browser
            .client()
            .active_element()
            .await
            .expect("a focused element");
        if active.attr("href").await.ok().flatten().as_deref() == Some(link_id.as_str()) {
            press(browser.client(), ENTER).await;
            reached = true;
            break;
        }
        press(browser.client(), TAB).await;
    }
    assert!(reached, "the ticket's link is reachable with Tab");
    browser
        .wait_for_path("the ticket", |path| path == link_id, WAIT)
        .await;
    // The reply box is reachable too, and the focus is visible there.
    tab_to(&browser, "reply-body", 60).await;
    let outline = browser
        .client()
        .execute(
            "return getComputedStyle(document.activeElement).outlineStyle",
            vec![],
        )
        .await
        .expect("read the focused element's outline");
    assert_ne!(outline.as_str(), Some("none"), "the focus is visible");
    browser.quit().await;
}

/// Presses Tab until the element with id `id` has the focus.
async fn tab_to(browser: &Browser, id: &str, presses: usize) {
    for _ in 0..presses {
        let active = browser
            .client()
            .active_element()
            .await
            .expect("a focused element");
        if active.attr("id").await.ok().flatten().as_deref() == Some(id) {
            return;
        }
        press(browser.client(), TAB).await;
    }
    panic!("#{id} was not reached with {presses} presses of Tab");
}

/// WebDriver's Tab and Enter keys.
const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';

/// Presses `key` on the keyboard, wherever the focus is (sending keys to
/// an element would type into a file field as a path).
async fn press(client: &fantoccini::Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let actions = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(actions).await.expect("press a key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_page_shows_a_change_made_elsewhere_by_itself() {
    if skip_without_browser("a_ticket_page_shows_a_change_made_elsewhere_by_itself") {
        return;
    }
    let (server, tokens, ticket) = server_with_a_ticket().await;
    let agent = Browser::start().await;
    agent
        .goto(&server.url(&format!("/console/sign-in?token={}", tokens.agent)))
        .await;
    agent
        .wait_for_path("the open inbox", |path| path == OPEN_INBOX, WAIT)
        .await;
    agent
        .goto(&server.url(&format!("/console/tickets/{ticket}")))
        .await;
    assert!(
        agent.exists("a#reload").await,
        "a reload link, for pages without script"
    );

    // The customer writes through the API; the agent's page is not touched
    // by the test, yet shows it: the page's script reloads on the event.
    let update = "Any news? The parcel is still missing.";
    server
        .command(
            &tokens.customer,
            &ticket,
            "comments",
            &json!({"body": update}),
        )
        .await
        .expect_status(200);
    agent
        .wait_for_text("ol#thread li.message:not(.opening) p.body", update, WAIT)
        .await;

    // Once the person has typed into a form, the page does not reload under
    // them: it says that the ticket has changed.
    agent
        .fill(
            "form#reply textarea[name=body]",
            "Let me check with the courier",
        )
        .await;
    server
        .command(
            &tokens.customer,
            &ticket,
            "comments",
            &json!({"body": "Hello?"}),
        )
        .await
        .expect_status(200);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let hidden = agent
            .client()
            .execute("return document.getElementById('live-note').hidden", vec![])
            .await
            .expect("read the note's state");
        if hidden == json!(false) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page never said the ticket had changed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        agent.value("form#reply textarea[name=body]").await,
        "Let me check with the courier",
        "what was typed is still there"
    );

    // The text modules page, for agents, is accessible too.
    agent.goto(&server.url("/console/text-modules")).await;
    assert!(agent.exists("form#save-module").await);
    agent.check_accessibility("text-modules").await;
    agent.quit().await;
}

/// A server with one ticket opened by the org's customer.
async fn server_with_a_ticket() -> (Server, Tokens, String) {
    let server = Server::start().await;
    let tokens = Tokens::for_org(ORG);
    let reply = server
        .open(&tokens.customer, &docket_tests::harness::open_body())
        .await;
    let ticket = docket_tests::harness::id_of(&reply.expect_status(201));
    (server, tokens, ticket)
}
