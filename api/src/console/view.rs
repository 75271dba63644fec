//! The pages' templates (askama: checked when docketd compiles, every
//! value escaped for HTML unless a template says otherwise, which none does)
//! and the plain values they show.

use askama::Template;

/// What every page's frame shows: who is signed in, the navigation, the
/// sign-out form and the stylesheet's hashed URL.
pub struct Chrome {
    /// False on the sign-in page and on refusals before a session exists.
    pub signed_in: bool,
    /// The signed-in role's contract name.
    pub role: String,
    /// The signed-in person (the token's `sub`).
    pub sub: String,
    /// Their org, or `*`.
    pub org: String,
    /// This session's CSRF value, for the sign-out form.
    pub csrf: String,
    /// Whether the navigation offers "New ticket".
    pub may_open: bool,
    /// Whether the role may list inboxes (customers find tickets by number).
    pub inboxes: bool,
    /// Whether the role may read tickets at all.
    pub tickets: bool,
    /// Whether the role may read KPIs.
    pub kpis: bool,
    /// Whether the role may read text modules.
    pub modules: bool,
}

impl Chrome {
    /// Where this person starts: the inbox, or the KPIs for a role that
    /// reads no tickets.
    pub fn home(&self) -> &'static str {
        if self.tickets || !self.kpis {
            "/console/inbox/open"
        } else {
            "/console/kpis"
        }
    }
}

impl Chrome {
    /// The frame of a page shown to nobody in particular.
    pub fn signed_out() -> Chrome {
        Chrome {
            signed_in: false,
            role: String::new(),
            sub: String::new(),
            org: String::new(),
            csrf: String::new(),
            may_open: false,
            inboxes: false,
            tickets: false,
            kpis: false,
            modules: false,
        }
    }

    /// The stylesheet's URL, with its content hash (cached for a year).
    pub fn stylesheet(&self) -> String {
        super::assets::url("console.css")
    }

    /// The script's URL (live updates; every page works without it).
    pub fn script(&self) -> String {
        super::assets::url("console.js")
    }
}

/// The small pages.
pub enum Page {
    /// The sign-in form, with the reason a token was refused.
    SignIn {
        /// Why the last token was refused.
        error: Option<String>,
    },
    /// A page that only says something (not found, refused).
    Message {
        /// The heading.
        title: String,
        /// The sentence.
        text: String,
    },
}

impl Page {
    /// The page in its frame.
    pub fn render(self, chrome: &Chrome) -> Result<String, askama::Error> {
        match self {
            Page::SignIn { error } => SignInTemplate { chrome, error }.render(),
            Page::Message { title, text } => MessageTemplate {
                chrome,
                title,
                text,
            }
            .render(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInTemplate<'a> {
    chrome: &'a Chrome,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessageTemplate<'a> {
    chrome: &'a Chrome,
    title: String,
    text: String,
}

/// One tab of the inboxes.
pub struct Tab {
    /// `open`, `waiting` or `closed`.
    pub status: &'static str,
    /// Its label.
    pub label: &'static str,
    /// How many tickets it holds, as shown (`1000+` past the count's cap).
    pub count: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// One ticket of an inbox.
pub struct Row {
    /// The ticket's id (its page's path).
    pub ticket_id: String,
    /// Its number.
    pub number: String,
    /// Its subject.
    pub subject: String,
    /// Its reason's category.
    pub reason: String,
    /// Its order number, or empty.
    pub order: String,
    /// Its sales channel, or empty.
    pub sales_channel: String,
    /// Its impact.
    pub impact: String,
    /// The SLA badge.
    pub due: Badge,
    /// When it last changed, as a date and time (UTC).
    pub updated: String,
}

/// An SLA badge: text and the class that colours it.
pub struct Badge {
    /// "due in 5 h", "breached 2 h ago", "no clock running".
    pub text: String,
    /// `sla-ok`, `sla-soon`, `sla-breached` or `sla-none`.
    pub class: &'static str,
}

/// An inbox page.
#[derive(Template)]
#[template(path = "console/inbox.html")]
pub struct InboxTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The three tabs (none for a role that may not list inboxes).
    pub tabs: Vec<Tab>,
    /// Whether the role may list inboxes (customers only search).
    pub listing: bool,
    /// The status shown.
    pub status: &'static str,
    /// The tickets of the page, or the search's.
    pub rows: Vec<Row>,
    /// The search text, as typed.
    pub q: String,
    /// The reason filter, as typed.
    pub reason: String,
    /// The sales channel filter, as typed.
    pub sales_channel: String,
    /// The period filter: first date, as typed.
    pub from: String,
    /// The period filter: last date, as typed.
    pub to: String,
    /// `updated` or `due`.
    pub sort: &'static str,
    /// A sentence about the search or a filter that could not be used.
    pub notice: Option<String>,
    /// The next page's query string, if any.
    pub next: Option<String>,
}

/// One message of a ticket's thread.
pub struct Message {
    /// Who wrote it (`sub`) and in which role.
    pub author: String,
    /// `customer`, `agent`, ... (a class: customers on one side).
    pub side: &'static str,
    /// Its text.
    pub body: String,
    /// Internal notes are set apart.
    pub internal: bool,
    /// When (UTC).
    pub at: String,
    /// The text module it was made from, `name v3`, if any.
    pub from_module: Option<String>,
}

/// What the ticket page's forms need: which are offered, and a refused
/// form's error and typed values.
#[derive(Default)]
pub struct Forms {
    /// Public reply.
    pub reply: bool,
    /// Internal note.
    pub note: bool,
    /// Escalate to first-level support.
    pub escalate: bool,
    /// Partial refund.
    pub refund: bool,
    /// Close.
    pub close: bool,
    /// Follow-up on a closed ticket.
    pub follow_up: bool,
    /// Attach a file.
    pub attach: bool,
    /// Which form was refused, and why (a sentence).
    pub error: Option<(&'static str, String)>,
    /// The refused form's typed text, kept.
    pub typed: std::collections::HashMap<&'static str, String>,
}

impl Forms {
    /// The refusal shown in form `form`, if it was that one.
    pub fn error_of(&self, form: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(name, _)| *name == form)
            .map(|(_, text)| text.as_str())
    }

    /// What was typed into `field` of the refused form.
    pub fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map(String::as_str).unwrap_or("")
    }
}

/// One attachment as the ticket page lists it.
pub struct Attached {
    /// Where the console serves its bytes.
    pub url: String,
    /// Its display name.
    pub filename: String,
    /// Its media type.
    pub media_type: &'static str,
    /// Its size, `12.3 KB`.
    pub size: String,
    /// Shown as a picture (a thumbnail of the image itself).
    pub image: bool,
    /// An internal attachment (set apart like internal notes).
    pub internal: bool,
    /// Who added it.
    pub author: String,
    /// When (UTC).
    pub at: String,
}

/// The ticket page.
#[derive(Template)]
#[template(path = "console/ticket.html")]
pub struct TicketTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The ticket's id.
    pub ticket_id: String,
    /// Its number.
    pub number: String,
    /// Its subject.
    pub subject: String,
    /// `open`, `waiting` or `closed`.
    pub status: &'static str,
    /// Its reason (category, and the detail if any).
    pub reason: String,
    /// Its impact.
    pub impact: String,
    /// Its org.
    pub org: String,
    /// When it was opened (UTC).
    pub opened: String,
    /// The incident's date, if given.
    pub incident_date: Option<String>,
    /// The order's number, if any.
    pub order_number: Option<String>,
    /// The order's amount, `49.90 EUR`, if any.
    pub order_amount: Option<String>,
    /// Refunded so far, `5.00 EUR`, if there is an order.
    pub refunded: Option<String>,
    /// The order's currency, for the refund form.
    pub currency: String,
    /// The requester's contact, `Name <address>`, if given.
    pub contact: Option<String>,
    /// The sales channel, if given.
    pub sales_channel: Option<String>,
    /// Whether it was escalated.
    pub escalated: bool,
    /// How it ended, once closed.
    pub resolution: Option<String>,
    /// The ticket it follows up, if any.
    pub follow_up_of: Option<String>,
    /// Its follow-ups.
    pub follow_ups: Vec<String>,
    /// The opening description, then the comments shown to this reader.
    pub opening: Message,
    /// The comments shown to this reader, oldest first.
    pub thread: Vec<Message>,
    /// The forms offered.
    pub forms: Forms,
    /// The text modules a reply may be made from: `(name, title)`.
    pub modules: Vec<(String, String)>,
    /// The attachments shown to this reader, oldest first.
    pub attachments: Vec<Attached>,
    /// A fresh key per form shown: sending a form twice acts once.
    pub idempotency_key: String,
}

/// The open-ticket form.
#[derive(Template)]
#[template(path = "console/new_ticket.html")]
pub struct NewTicketTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The refusal, as a sentence.
    pub error: Option<String>,
    /// What was typed, kept after a refusal.
    pub typed: std::collections::HashMap<&'static str, String>,
    /// The reason categories offered.
    pub reasons: &'static [(&'static str, &'static str)],
    /// A fresh key: sending the form twice opens one ticket.
    pub idempotency_key: String,
}

impl NewTicketTemplate<'_> {
    /// What was typed into `field`.
    pub fn typed(&self, field: &str) -> &str {
        self.typed.get(field).map(String::as_str).unwrap_or("")
    }

    /// What was typed into `field`, or `default` on a fresh form.
    pub fn typed_or<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.typed.get(field).map(String::as_str).unwrap_or(default)
    }
}

/// Reason categories the open-ticket form offers (the API takes any
/// 1-64 characters; the console offers the seeds' reasons).
pub const REASONS: &[(&str, &str)] = &[
    ("order", "A problem with an order"),
    ("delivery", "Delivery: late, missing or damaged"),
    ("return", "A return or withdrawal"),
    ("refund", "A refund"),
    ("invoice", "An invoice or payment"),
    ("account", "My account"),
    ("technical", "Something does not work"),
    ("other", "Something else"),
];

/// One event of a ticket's timeline.
pub struct TimelineEntry {
    /// Its log position.
    pub position: u64,
    /// When it was recorded (UTC, to the second).
    pub at: String,
    /// Its type (`comment_added`).
    pub kind: String,
    /// Who acted, `sub (role)`.
    pub who: String,
    /// What it says, briefly.
    pub detail: String,
}

/// The ticket as it stood at the instant asked.
pub struct StateAt {
    /// Its status then.
    pub status: &'static str,
    /// Whether it had been escalated.
    pub escalated: bool,
    /// Refunded by then, if it has an order.
    pub refunded: Option<String>,
    /// How it had ended, if closed.
    pub resolution: Option<String>,
    /// The opening message.
    pub opening: Message,
    /// The comments by then.
    pub thread: Vec<Message>,
}

/// A ticket's history with the as-of picker.
#[derive(Template)]
#[template(path = "console/history.html")]
pub struct HistoryTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The ticket's id.
    pub ticket_id: String,
    /// Its number.
    pub number: String,
    /// Its subject now.
    pub subject: String,
    /// The instant as typed.
    pub as_of: String,
    /// The instant could not be read.
    pub as_of_refused: bool,
    /// The instant as read, for the heading.
    pub as_of_shown: Option<String>,
    /// The ticket then, if it existed.
    pub state: Option<StateAt>,
    /// The instant is before the ticket was opened.
    pub before_open: bool,
    /// The events up to the instant (all without one).
    pub events: Vec<TimelineEntry>,
}

/// The KPI page.
#[derive(Template)]
#[template(path = "console/kpis.html")]
pub struct KpiTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The org filter, as typed (platform-wide people only).
    pub org: String,
    /// The first day, as used.
    pub from: String,
    /// The last day, as used.
    pub to: String,
    /// `day`, `week` or `month`.
    pub bucket: &'static str,
    /// Whether the form offers an org filter.
    pub may_pick_org: bool,
    /// A sentence about the question or the charts.
    pub notice: Option<String>,
    /// The question as a query string, for the charts' and CSV's URLs.
    pub query: String,
    /// The charts: `(name, title)`.
    pub charts: Vec<(&'static str, &'static str)>,
    /// The rows.
    pub rows: Vec<super::kpis::TableRow>,
}

/// One text module as the management page lists it.
pub struct ModuleRow {
    /// Its name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// Its text, placeholders as written.
    pub body: String,
    /// Its sales channels, comma-separated (empty: every channel).
    pub channels: String,
    /// Its version.
    pub version: u64,
}

/// The text modules page.
#[derive(Template)]
#[template(path = "console/text_modules.html")]
pub struct ModulesTemplate<'a> {
    /// The frame.
    pub chrome: &'a Chrome,
    /// The org shown (empty: a platform-wide person has not picked one).
    pub org: String,
    /// Whether the role may save and remove modules.
    pub may_manage: bool,
    /// The form's name field.
    pub name: String,
    /// The form's title field.
    pub title: String,
    /// The form's text.
    pub body: String,
    /// The form's sales channels, comma-separated.
    pub channels: String,
    /// A refusal, as a sentence.
    pub error: Option<String>,
    /// A fresh key per form shown.
    pub idempotency_key: String,
    /// The org's modules.
    pub rows: Vec<ModuleRow>,
}
