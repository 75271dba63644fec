//! Text modules (seed 004): an org's reusable replies, kept per sales
//! channel, in a stream of the org's own (`text-modules-{org}`).
//!
//! A module's body may hold placeholders. The contract's grammar for them
//! is a regular language: `{{`, optional spaces, a name of letters, digits,
//! `_` and `.`, optional spaces, `}}`. [`Template::parse`] matches it with
//! one regular expression (the `regex` crate) and calls every other `{{`
//! or `}}` malformed. A general template engine was not used: its syntax
//! (filters, expressions, statements, whitespace control) is wider than the
//! contract's, so it would accept bodies the contract refuses.
//!
//! A name's `version` counts its saves and removals (1 at its first save),
//! and goes on counting after a removal; `If-Match` compares it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use crate::access::Action;
use crate::contact::SalesChannel;
use crate::error::DomainError;
use crate::events::{Event, TextModuleRemoved, TextModuleSaved};
use crate::text::{TextModuleBody, TextModuleTitle};
use crate::ticket::{Context, OpenedTicket};
use crate::types::{Actor, Author, OrgId, OrgScope};

/// The most sales channels one module may name.
pub const SALES_CHANNELS_MAX: usize = 50;

/// A module's name: `^[a-z0-9][a-z0-9_-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextModuleName(String);

impl TextModuleName {
    /// Accepts a name; anything else names no module (`NotFound`).
    pub fn parse(text: &str) -> Result<TextModuleName, DomainError> {
        let mut chars = text.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if first_ok && rest_ok && text.len() <= 63 {
            Ok(TextModuleName(text.to_owned()))
        } else {
            Err(DomainError::NotFound)
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{{ticket.number}}`
    TicketNumber,
    /// `{{ticket.subject}}`
    TicketSubject,
    /// `{{order.number}}`
    OrderNumber,
    /// `{{contact.name}}`
    ContactName,
    /// `{{customer_code}}`
    CustomerCode,
    /// `{{sales_channel}}`
    SalesChannel,
    /// `{{actor.sub}}`: who posts the comment.
    ActorSub,
}

impl Placeholder {
    /// Every placeholder of the contract.
    pub const ALL: [Placeholder; 7] = [
        Placeholder::TicketNumber,
        Placeholder::TicketSubject,
        Placeholder::OrderNumber,
        Placeholder::ContactName,
        Placeholder::CustomerCode,
        Placeholder::SalesChannel,
        Placeholder::ActorSub,
    ];

    /// The name between the braces.
    pub fn name(&self) -> &'static str {
        match self {
            Placeholder::TicketNumber => "ticket.number",
            Placeholder::TicketSubject => "ticket.subject",
            Placeholder::OrderNumber => "order.number",
            Placeholder::ContactName => "contact.name",
            Placeholder::CustomerCode => "customer_code",
            Placeholder::SalesChannel => "sales_channel",
            Placeholder::ActorSub => "actor.sub",
        }
    }

    fn of_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }

    /// This placeholder's value on `ticket`, for a comment by `actor`.
    fn value(&self, ticket: &OpenedTicket, actor: &Actor) -> Option<String> {
        match self {
            Placeholder::TicketNumber => Some(ticket.number.to_string()),
            Placeholder::TicketSubject => Some(ticket.subject.clone()),
            Placeholder::OrderNumber => ticket.order.as_ref().map(|o| o.number.clone()),
            Placeholder::ContactName => ticket
                .contact
                .as_ref()
                .and_then(|c| c.name.as_ref())
                .map(|name| name.as_str().to_owned()),
            Placeholder::CustomerCode => ticket.customer_code.clone(),
            Placeholder::SalesChannel => ticket.sales_channel.as_ref().map(|c| c.to_string()),
            Placeholder::ActorSub => Some(actor.sub.clone()),
        }
    }
}

/// A body split into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(Placeholder),
}

fn placeholder_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"\{\{ *([\p{L}\p{N}_.]+) *\}\}").expect("the placeholder pattern compiles")
    })
}

impl Template {
    /// Parses a body: `unknown_placeholder` for a well-formed placeholder of
    /// another name, `invalid_template` for any other `{{` or a `}}`
    /// without its `{{`; the first fault from the start is reported.
    pub fn parse(body: &str) -> Result<Template, DomainError> {
        let mut pieces = Vec::new();
        let mut literal_from = 0;
        for found in placeholder_pattern().captures_iter(body) {
            let whole = found.get(0).expect("a match has its whole span");
            check_literal(body, literal_from, whole.start())?;
            if whole.start() > literal_from {
                pieces.push(Piece::Text(body[literal_from..whole.start()].to_owned()));
            }
            let name = &found[1];
            let placeholder =
                Placeholder::of_name(name).ok_or_else(|| DomainError::UnknownPlaceholder {
                    name: name.to_owned(),
                })?;
            pieces.push(Piece::Placeholder(placeholder));
            literal_from = whole.end();
        }
        check_literal(body, literal_from, body.len())?;
        if literal_from < body.len() {
            pieces.push(Piece::Text(body[literal_from..].to_owned()));
        }
        Ok(Template { pieces })
    }

    /// Fills every placeholder with its value on `ticket`; the first one
    /// without a value is `placeholder_without_value`.
    pub fn fill(&self, ticket: &OpenedTicket, actor: &Actor) -> Result<String, DomainError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder(placeholder) => {
                    let value = placeholder.value(ticket, actor).ok_or_else(|| {
                        DomainError::PlaceholderWithoutValue {
                            placeholder: placeholder.name().to_owned(),
                        }
                    })?;
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }
}

/// Literal text may hold single braces but no `{{` and no `}}`.
fn check_literal(body: &str, from: usize, to: usize) -> Result<(), DomainError> {
    let literal = &body[from..to];
    let fault = [literal.find("{{"), literal.find("}}")]
        .into_iter()
        .flatten()
        .min();
    match fault {
        Some(at) => Err(DomainError::InvalidTemplate {
            at_char: body[..from + at].chars().count(),
        }),
        None => Ok(()),
    }
}

/// One module as the org's stream leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextModule {
    /// Its name.
    pub name: String,
    /// Its saves and removals so far.
    pub version: u64,
    /// Its title.
    pub title: String,
    /// Its body, with placeholders.
    pub body: String,
    /// The channels it is for; empty for every channel.
    pub sales_channels: Vec<SalesChannel>,
}

impl TextModule {
    /// Whether a ticket of `sales_channel` may use it: a module for every
    /// channel, or one that names the ticket's (a ticket without a channel
    /// may use only the former).
    pub fn is_for(&self, sales_channel: Option<&SalesChannel>) -> bool {
        self.sales_channels.is_empty()
            || sales_channel.is_some_and(|channel| self.sales_channels.contains(channel))
    }
}

/// A name's history in the org's stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameState {
    /// Saves and removals of the name so far (0: never saved).
    pub version: u64,
    /// The module, unless it was removed (or never saved).
    pub module: Option<TextModule>,
}

/// An org's text modules, folded from its `text-modules-{org}` stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextModules {
    /// Events applied: the stream's version.
    pub stream_version: u64,
    /// Every name ever saved, by name.
    pub names: BTreeMap<String, NameState>,
}

impl TextModules {
    /// The module of `name`, if it is saved now.
    pub fn get(&self, name: &str) -> Option<&TextModule> {
        self.names.get(name).and_then(|state| state.module.as_ref())
    }

    /// The version of `name` (0 if never saved).
    pub fn version_of(&self, name: &str) -> u64 {
        self.names.get(name).map_or(0, |state| state.version)
    }
}

/// Save a module (make it, or replace it whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveTextModule {
    /// The org of the path.
    pub org: OrgId,
    /// The module's name.
    pub name: TextModuleName,
    /// Its title.
    pub title: TextModuleTitle,
    /// Its body; its placeholders are checked by `decide_text_module`.
    pub body: TextModuleBody,
    /// The channels it is for, as given (duplicates are dropped).
    pub sales_channels: Vec<SalesChannel>,
}

/// Remove a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveTextModule {
    /// The org of the path.
    pub org: OrgId,
    /// The module's name.
    pub name: TextModuleName,
}

/// A command on an org's text modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextModuleCommand {
    /// `PUT /v1/orgs/{org}/text-modules/{name}`
    Save(SaveTextModule),
    /// `DELETE /v1/orgs/{org}/text-modules/{name}`
    Remove(RemoveTextModule),
}

impl TextModuleCommand {
    /// The org whose stream the command appends to.
    pub fn org(&self) -> &OrgId {
        match self {
            TextModuleCommand::Save(save) => &save.org,
            TextModuleCommand::Remove(remove) => &remove.org,
        }
    }

    /// The module's name.
    pub fn name(&self) -> &TextModuleName {
        match self {
            TextModuleCommand::Save(save) => &save.name,
            TextModuleCommand::Remove(remove) => &remove.name,
        }
    }
}

/// Who may manage `org`'s modules: the role (agents and admins), then the
/// org (an org-scoped token only its own): `forbidden`, then
/// `forbidden_org`.
pub fn authorize_text_modules(actor: &Actor, org: &OrgId) -> Result<(), DomainError> {
    Action::ManageTextModules.permit(actor.role)?;
    match &actor.org {
        OrgScope::Org(own) if own != org => Err(DomainError::ForbiddenOrg {
            allowed: own.clone(),
            requested: org.clone(),
        }),
        _ => Ok(()),
    }
}

/// Decides a save or a removal on the org's modules `state`.
pub fn decide_text_module(
    state: &TextModules,
    command: &TextModuleCommand,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    authorize_text_modules(&ctx.actor, command.org())?;
    let author = Author {
        sub: ctx.actor.sub.clone(),
        role: ctx.actor.role,
    };
    match command {
        TextModuleCommand::Save(save) => {
            Template::parse(save.body.as_str())?;
            let mut sales_channels = save.sales_channels.clone();
            sales_channels.sort_unstable();
            sales_channels.dedup();
            if sales_channels.len() > SALES_CHANNELS_MAX {
                return Err(DomainError::TooManySalesChannels {
                    count: sales_channels.len(),
                    max: SALES_CHANNELS_MAX,
                });
            }
            Ok(vec![Event::TextModuleSaved(TextModuleSaved {
                org: save.org.clone(),
                name: save.name.as_str().to_owned(),
                version: state.version_of(save.name.as_str()) + 1,
                title: save.title.as_str().to_owned(),
                body: save.body.as_str().to_owned(),
                sales_channels,
                saved_by: author,
            })])
        }
        TextModuleCommand::Remove(remove) => {
            if state.get(remove.name.as_str()).is_none() {
                return Err(DomainError::NotFound);
            }
            Ok(vec![Event::TextModuleRemoved(TextModuleRemoved {
                org: remove.org.clone(),
                name: remove.name.as_str().to_owned(),
                version: state.version_of(remove.name.as_str()) + 1,
                removed_by: author,
            })])
        }
    }
}

/// Folds one event of a `text-modules-{org}` stream; other events are
/// ignored. Total.
pub fn apply_text_module(mut state: TextModules, event: &Event) -> TextModules {
    match event {
        Event::TextModuleSaved(saved) => {
            state.stream_version += 1;
            let name = state.names.entry(saved.name.clone()).or_default();
            name.version = saved.version;
            name.module = Some(TextModule {
                name: saved.name.clone(),
                version: saved.version,
                title: saved.title.clone(),
                body: saved.body.clone(),
                sales_channels: saved.sales_channels.clone(),
            });
        }
        Event::TextModuleRemoved(removed) => {
            state.stream_version += 1;
            let name = state.names.entry(removed.name.clone()).or_default();
            name.version = removed.version;
            name.module = None;
        }
        _ => {}
    }
    state
}

/// The body of a comment made from module `name` on `ticket` by `actor`,
/// with the module's version: the contract's checks in its order
/// (`unknown_text_module`, `text_module_not_for_channel`,
/// `placeholder_without_value`). Customers may not use modules: that is
/// the role check `Action::UseTextModule`, made before.
pub fn fill_comment(
    modules: &TextModules,
    name: &TextModuleName,
    ticket: &OpenedTicket,
    actor: &Actor,
) -> Result<(String, u64), DomainError> {
    let module = modules
        .get(name.as_str())
        .ok_or_else(|| DomainError::UnknownTextModule {
            name: name.as_str().to_owned(),
        })?;
    if !module.is_for(ticket.sales_channel.as_ref()) {
        return Err(DomainError::TextModuleNotForChannel {
            name: name.as_str().to_owned(),
        });
    }
    // Stored bodies were checked when saved; a body that no longer parses
    // (a build with another grammar) is refused rather than half filled.
    let body = Template::parse(&module.body)?.fill(ticket, actor)?;
    Ok((body, module.version))
}

/// Who reads an org's modules: its agents, support, auditors and admins
/// covering it (customers and analysts never): `forbidden`, then
/// `forbidden_org`.
pub fn may_read_text_modules(actor: &Actor, org: &OrgId) -> Result<(), DomainError> {
    crate::access::Read::TextModules.permit(actor)?;
    match &actor.org {
        OrgScope::Org(own) if own != org => Err(DomainError::ForbiddenOrgRead {
            allowed: own.clone(),
            requested: org.clone(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Template, DomainError> {
        Template::parse(body)
    }

    #[test]
    fn the_contracts_placeholders_parse_with_spaces_inside() {
        for body in [
            "Hello {{contact.name}}, ticket {{ ticket.number }}.",
            "{{ticket.subject}}{{order.number}}{{customer_code}}{{sales_channel}}{{  actor.sub  }}",
            "single { braces } and {curly} text",
            "no placeholder at all",
        ] {
            assert!(parse(body).is_ok(), "{body}");
        }
    }

    #[test]
    fn another_name_is_unknown_and_anything_else_is_malformed() {
        assert_eq!(
            parse("Hi {{ ticket.nope }}"),
            Err(DomainError::UnknownPlaceholder {
                name: "ticket.nope".to_owned()
            })
        );
        for (body, at_char) in [
            ("Hi {{ ticket.number", 3),
            ("Hi {{}}", 3),
            ("{{ {{ticket.number}} }}", 0),
            ("done }}", 5),
            ("{{ticket number}}", 0),
            ("{{\tticket.number}}", 0),
            ("{{ ticket.number | upper }}", 0),
            ("é {{", 2),
        ] {
            assert_eq!(
                parse(body),
                Err(DomainError::InvalidTemplate { at_char }),
                "{body:?}"
            );
        }
    }
}
