//! E-mail notifications (contract v1.2): a reader of the log, in order,
//! like a projection, with its own checkpoint in the data folder
//! (`notifier/checkpoint`), turning each event of the contract's table
//! (`docket_domain::notify`) into mails for the requester and the team.
//!
//! At least once, never lost: the checkpoint moves only past events whose
//! mails the SMTP server accepted or refused for good (5xx); a connection
//! failure or a 4xx is retried with the same `Message-ID` after a backoff
//! that grows to 60 s, and a crash sends again what the checkpoint had not
//! passed. Commands never wait for mail: this runs on its own task.
//!
//! The first start with mail on begins at the log's head: an existing data
//! folder does not mail its whole past.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use docket_domain::contact::{Contact, EmailAddress, Language};
use docket_domain::events::{Event, TicketOpened};
use docket_domain::notify::{mails_for, MailKind, Side};
use docket_domain::types::{OrgId, TicketId};
use docket_eventstore::{Store, StoredEvent};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::AppError;

mod smtp;
use smtp::{SmtpClient, SmtpServer};

/// Events read per batch of the log.
const READ_BATCH: usize = 256;
/// Tickets whose facts are kept between their mails; the map is cleared
/// when full (a miss reads the ticket's first event again).
const TICKET_FACTS_MAX: usize = 65_536;
/// First wait before a mail is tried again.
const RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest wait between two tries (contract: backoff up to 60 s).
const RETRY_MAX: Duration = Duration::from_secs(60);
/// Longest one SMTP exchange may take (a server that accepts the
/// connection and stalls is a failure, retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// How docketd mails: the server, the sender, the base of links.
#[derive(Debug, Clone)]
pub struct MailConfig {
    server: SmtpServer,
    from: Mailbox,
    from_domain: String,
    public_url: String,
}

impl MailConfig {
    /// Checks `--smtp-url` (`smtp://`, `smtp+starttls://`, `smtps://`,
    /// optional `user:password@`), `--mail-from` and `--public-url`.
    pub fn new(smtp_url: &str, mail_from: &str, public_url: &str) -> Result<MailConfig, AppError> {
        let invalid = |detail: String| AppError::MailConfig(detail);
        let server =
            SmtpServer::parse(smtp_url).map_err(|error| invalid(format!("--smtp-url {error}")))?;
        let address = EmailAddress::parse(mail_from).map_err(|_| {
            invalid(format!(
                "--mail-from {mail_from:?} is not an e-mail address"
            ))
        })?;
        let from: Mailbox = address
            .as_str()
            .parse()
            .map_err(|error| invalid(format!("--mail-from: {error}")))?;
        Ok(MailConfig {
            server,
            from,
            from_domain: address.domain().to_owned(),
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// The notifier task; stop it with [`Notifier::stop`].
pub struct Notifier {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Notifier {
    /// Starts mailing from the checkpoint in `data_root` (made at the log's
    /// head on the first start).
    pub fn start(store: Store, data_root: &Path, config: MailConfig) -> Result<Notifier, AppError> {
        let folder = data_root.join("notifier");
        let io = |source| AppError::Notifier {
            path: folder.clone(),
            source,
        };
        std::fs::create_dir_all(&folder).map_err(io)?;
        let checkpoint_path = folder.join("checkpoint");
        let from = match read_checkpoint(&checkpoint_path).map_err(io)? {
            Some(position) => position,
            None => {
                let head = store.head().position;
                write_checkpoint(&checkpoint_path, head).map_err(io)?;
                tracing::info!(
                    head,
                    "mail on for the first time: mailing from the log's head"
                );
                head
            }
        };
        let client = SmtpClient::new(config.server.clone(), SMTP_TIMEOUT);
        let (stop, stopped) = watch::channel(false);
        let mailer = Mailer {
            store,
            config,
            client,
            checkpoint_path,
            tickets: HashMap::new(),
            team_addresses: HashMap::new(),
        };
        let task = tokio::spawn(mailer.run(from, stopped));
        Ok(Notifier { task, stop })
    }

    /// Stops after the mail being sent (a SIGTERM stop: what follows is
    /// mailed by the next start).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            tracing::warn!("the notifier did not stop within 5 s");
        }
    }
}

/// What a mail about a ticket needs to know of it.
#[derive(Debug, Clone)]
struct TicketFacts {
    number: String,
    subject: String,
    description: String,
    org: OrgId,
    contact: Option<Contact>,
    /// The position of its `ticket_opened`: its first mails' ids.
    opened_position: u64,
}

struct Mailer {
    store: Store,
    config: MailConfig,
    client: SmtpClient,
    checkpoint_path: PathBuf,
    tickets: HashMap<TicketId, TicketFacts>,
    /// Each org's `notify_email` changes, `(position, address)`, in order.
    team_addresses: HashMap<OrgId, Vec<(u64, Option<EmailAddress>)>>,
}

impl Mailer {
    async fn run(mut self, from: u64, mut stopped: watch::Receiver<bool>) {
        let mut subscription = self.store.subscribe(from + 1);
        let mut done = from;
        loop {
            let batch = tokio::select! {
                batch = subscription.next_stored_batch(READ_BATCH) => batch,
                _ = stopped.changed() => return,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "the notifier cannot read the log; stopping mail");
                    return;
                }
            };
            for entry in &batch {
                if *stopped.borrow() {
                    return;
                }
                self.mail(entry).await;
                done = entry.position();
            }
            if let Err(error) = write_checkpoint(&self.checkpoint_path, done) {
                tracing::error!(%error, "cannot record the notifier's checkpoint; mails may repeat");
            }
            metrics::gauge!("docket_mail_lag_positions")
                .set(self.store.head().position.saturating_sub(done) as f64);
        }
    }

    /// Sends the mails of one entry (none for most events).
    async fn mail(&mut self, entry: &StoredEvent) {
        let Ok(event_ref) = entry.read() else {
            return;
        };
        let Ok(event) = docket_domain::codec::decode(
            event_ref.event_type,
            event_ref.schema_version,
            event_ref.payload,
        ) else {
            return;
        };
        let position = entry.position();
        if let Event::PolicySet(set) = &event {
            self.note_team_address(&set.org, position, set.policy.notify_email.clone());
            return;
        }
        let sides = mails_for(&event);
        if sides.is_empty() {
            return;
        }
        let Some(ticket_id) = event_ref
            .stream
            .strip_prefix("ticket-")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .map(TicketId)
        else {
            return;
        };
        if let Event::TicketOpened(opened) = &event {
            self.remember(ticket_id, facts_of(opened, position));
        }
        let Some(facts) = self.ticket_facts(ticket_id) else {
            return;
        };
        for (side, kind) in sides {
            let recipient = match side {
                Side::Requester => facts.contact.as_ref().map(|c| c.email.clone()),
                Side::Team => self.team_address(&facts.org, position),
            };
            let Some(recipient) = recipient else {
                continue;
            };
            match self.compose(&facts, ticket_id, position, side, kind, &event, &recipient) {
                Ok(message) => self.send(message, position, side).await,
                Err(error) => {
                    metrics::counter!("docket_mail_rejected_total").increment(1);
                    tracing::warn!(position, side = side.as_str(), %error, "a mail could not be made; skipped");
                }
            }
        }
    }

    /// Sends until the server accepts or refuses for good.
    async fn send(&mut self, message: Message, position: u64, side: Side) {
        let mut backoff = RETRY_MIN;
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        loop {
            match self.client.send(&envelope, &bytes).await {
                Ok(()) => {
                    metrics::counter!("docket_mail_sent_total").increment(1);
                    return;
                }
                Err(error) if error.is_final() => {
                    metrics::counter!("docket_mail_rejected_total").increment(1);
                    tracing::warn!(position, side = side.as_str(), %error, "a mail was refused for good; not retried");
                    return;
                }
                Err(error) => {
                    metrics::counter!("docket_mail_retried_total").increment(1);
                    tracing::debug!(position, side = side.as_str(), %error, ?backoff, "mail not sent; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn compose(
        &self,
        facts: &TicketFacts,
        ticket_id: TicketId,
        position: u64,
        side: Side,
        kind: MailKind,
        event: &Event,
        recipient: &EmailAddress,
    ) -> Result<Message, String> {
        let language = match side {
            Side::Requester => facts
                .contact
                .as_ref()
                .map_or(Language::En, |contact| contact.language),
            Side::Team => Language::En,
        };
        let name = match side {
            Side::Requester => facts
                .contact
                .as_ref()
                .and_then(|c| c.name.as_ref())
                .map(|n| n.as_str().to_owned()),
            Side::Team => None,
        };
        let text = render(
            language,
            kind,
            &MailValues {
                side,
                number: &facts.number,
                subject: &facts.subject,
                description: &facts.description,
                org: facts.org.as_str(),
                name: name.as_deref(),
                link: &format!("{}/console/tickets/{ticket_id}", self.config.public_url),
                event,
            },
        )?;
        let to = Mailbox::new(
            name,
            recipient
                .as_str()
                .parse()
                .map_err(|error| format!("the address {recipient}: {error}"))?,
        );
        let id = |position: u64| {
            format!(
                "<{position}.{}.{ticket_id}@{}>",
                side.as_str(),
                self.config.from_domain
            )
        };
        let one_line: String = facts
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut builder = Message::builder()
            .from(self.config.from.clone())
            .to(to)
            .subject(format!("[#{}] {one_line}", facts.number))
            .message_id(Some(id(position)))
            .header(AutoSubmitted)
            .header(ContentLanguage(language.as_str().to_owned()))
            .header(ContentType::TEXT_PLAIN);
        if position != facts.opened_position {
            builder = builder
                .in_reply_to(id(facts.opened_position))
                .references(id(facts.opened_position));
        }
        builder.body(text).map_err(|error| error.to_string())
    }

    fn ticket_facts(&mut self, ticket_id: TicketId) -> Option<TicketFacts> {
        if let Some(facts) = self.tickets.get(&ticket_id) {
            return Some(facts.clone());
        }
        let first = self
            .store
            .read_stream_range(&ticket_id.stream(), 1, 1)
            .ok()?;
        let entry = first.first()?;
        let event =
            docket_domain::codec::decode(&entry.event_type, entry.schema_version, &entry.payload)
                .ok()?;
        let Event::TicketOpened(opened) = event else {
            return None;
        };
        let facts = facts_of(&opened, entry.position);
        self.remember(ticket_id, facts.clone());
        Some(facts)
    }

    fn remember(&mut self, ticket_id: TicketId, facts: TicketFacts) {
        if self.tickets.len() >= TICKET_FACTS_MAX {
            self.tickets.clear();
        }
        self.tickets.insert(ticket_id, facts);
    }

    /// The team's address in the policy in force at `position`.
    fn team_address(&mut self, org: &OrgId, position: u64) -> Option<EmailAddress> {
        if !self.team_addresses.contains_key(org) {
            let changes = self
                .store
                .read_stream(&org.policy_stream())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|entry| {
                    let event = docket_domain::codec::decode(
                        &entry.event_type,
                        entry.schema_version,
                        &entry.payload,
                    )
                    .ok()?;
                    match event {
                        Event::PolicySet(set) => Some((entry.position, set.policy.notify_email)),
                        _ => None,
                    }
                })
                .collect();
            self.team_addresses.insert(org.clone(), changes);
        }
        self.team_addresses
            .get(org)?
            .iter()
            .rev()
            .find(|(at, _)| *at < position)
            .and_then(|(_, address)| address.clone())
    }

    fn note_team_address(&mut self, org: &OrgId, position: u64, address: Option<EmailAddress>) {
        if let Some(changes) = self.team_addresses.get_mut(org) {
            if !changes.iter().any(|(at, _)| *at == position) {
                changes.push((position, address));
                changes.sort_by_key(|(at, _)| *at);
            }
        }
    }
}

fn facts_of(opened: &TicketOpened, position: u64) -> TicketFacts {
    TicketFacts {
        number: opened.number.to_string(),
        subject: opened.subject.clone(),
        description: opened.description.clone(),
        org: opened.org.clone(),
        contact: opened.contact.clone(),
        opened_position: position,
    }
}

/// What a mail's text may say.
pub struct MailValues<'a> {
    /// Who it goes to.
    pub side: Side,
    /// The ticket's number.
    pub number: &'a str,
    /// The ticket's subject.
    pub subject: &'a str,
    /// The ticket's description (the team's open mail).
    pub description: &'a str,
    /// The ticket's org.
    pub org: &'a str,
    /// The requester's name, if known.
    pub name: Option<&'a str>,
    /// The ticket in the console.
    pub link: &'a str,
    /// The event mailed about.
    pub event: &'a Event,
}

/// The text of a mail of `kind` in `language`, from the template files
/// under `api/app/templates/mail/`.
pub fn render(
    language: Language,
    kind: MailKind,
    values: &MailValues<'_>,
) -> Result<String, String> {
    let source = template(language, kind);
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("mail", source)
        .map_err(|error| error.to_string())?;
    let (comment, amount, resolution) = match values.event {
        Event::CommentAdded(comment) => (comment.body.clone(), String::new(), String::new()),
        Event::RefundIssued(refund) => (
            String::new(),
            refund.amount.currency.format(refund.amount.amount_minor),
            String::new(),
        ),
        Event::TicketClosed(closed) => (
            String::new(),
            String::new(),
            serde_json::to_value(closed.resolution)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ),
        _ => (String::new(), String::new(), String::new()),
    };
    let context = minijinja::context! {
        side => values.side.as_str(),
        number => values.number,
        subject => values.subject,
        description => values.description,
        org => values.org,
        name => values.name,
        link => values.link,
        comment => comment,
        amount => amount,
        resolution => resolution,
    };
    env.get_template("mail")
        .and_then(|t| t.render(context))
        .map_err(|error| error.to_string())
}

/// The template files, built into the binary.
fn template(language: Language, kind: MailKind) -> &'static str {
    macro_rules! by_kind {
        ($lang:literal) => {
            match kind {
                MailKind::Opened => {
                    include_str!(concat!("../templates/mail/", $lang, "/opened.txt"))
                }
                MailKind::TeamReply => {
                    include_str!(concat!("../templates/mail/", $lang, "/team_reply.txt"))
                }
                MailKind::CustomerMessage => {
                    include_str!(concat!(
                        "../templates/mail/",
                        $lang,
                        "/customer_message.txt"
                    ))
                }
                MailKind::Escalated => {
                    include_str!(concat!("../templates/mail/", $lang, "/escalated.txt"))
                }
                MailKind::Refunded => {
                    include_str!(concat!("../templates/mail/", $lang, "/refunded.txt"))
                }
                MailKind::Closed => {
                    include_str!(concat!("../templates/mail/", $lang, "/closed.txt"))
                }
            }
        };
    }
    match language {
        Language::En => by_kind!("en"),
        Language::It => by_kind!("it"),
        Language::Fr => by_kind!("fr"),
        Language::De => by_kind!("de"),
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no auto-reply loops.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// `Content-Language` (RFC 3282).
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

fn read_checkpoint(path: &Path) -> std::io::Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Written aside, `fsync`ed and renamed over the old one, then the folder
/// `fsync`ed: a crash leaves the old checkpoint or the new, whole.
fn write_checkpoint(path: &Path, position: u64) -> std::io::Result<()> {
    use std::io::Write;
    let aside = path.with_extension("new");
    let mut file = std::fs::File::create(&aside)?;
    file.write_all(position.to_string().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&aside, path)?;
    if let Some(folder) = path.parent() {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_domain::events::{CommentAdded, RefundIssued, TicketClosed};
    use docket_domain::types::{Author, Currency, Money, Resolution, Role, Visibility};

    fn events() -> Vec<Event> {
        let author = Author {
            sub: "a".to_owned(),
            role: Role::Agent,
        };
        vec![
            Event::CommentAdded(CommentAdded {
                comment_id: uuid::Uuid::nil(),
                author: author.clone(),
                body: "We are on it.".to_owned(),
                visibility: Visibility::Public,
                text_module: None,
            }),
            Event::RefundIssued(RefundIssued {
                refund_id: uuid::Uuid::nil(),
                amount: Money {
                    amount_minor: 1_250,
                    currency: Currency::parse("EUR").expect("valid"),
                },
                reason: "late".to_owned(),
                issued_by: author.clone(),
            }),
            Event::TicketClosed(TicketClosed {
                resolution: Resolution::Resolved,
                note: None,
                closed_by: author,
            }),
        ]
    }

    #[test]
    fn every_mail_renders_in_every_language_without_a_placeholder_left() {
        for language in Language::ALL {
            for kind in MailKind::ALL {
                for side in [Side::Requester, Side::Team] {
                    for name in [Some("Anna Rossi"), None] {
                        for event in events() {
                            let values = MailValues {
                                side,
                                number: "10000000042",
                                subject: "Pacco arrivato rotto",
                                description: "La scatola era schiacciata.",
                                org: "acme",
                                name,
                                link: "https://docket.example/console/tickets/x",
                                event: &event,
                            };
                            let text = render(language, kind, &values)
                                .unwrap_or_else(|e| panic!("{language:?} {kind:?}: {e}"));
                            assert!(text.contains("10000000042"), "{language:?} {kind:?}");
                            assert!(text.contains("https://docket.example/console/tickets/x"));
                            assert!(
                                !text.contains("{{") && !text.contains("{%"),
                                "{language:?} {kind:?}: {text}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_smtp_url_takes_the_contracts_schemes() {
        for good in [
            "smtp://127.0.0.1:2525",
            "smtp+starttls://user:secret@mail.example:587",
            "smtps://mail.example:465",
        ] {
            assert!(
                MailConfig::new(good, "docket@example.com", "http://x").is_ok(),
                "{good}"
            );
        }
        assert!(MailConfig::new("http://mail.example", "docket@example.com", "http://x").is_err());
        assert!(MailConfig::new("smtp://127.0.0.1:2525", "not an address", "http://x").is_err());
    }
}
