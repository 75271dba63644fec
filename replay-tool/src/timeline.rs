//! The readable timeline of `history`: a header with the ticket's state
//! (now, or as of an instant), then one row per event (position, version,
//! time, actor and role, event, status after) followed by the fields the
//! event set or changed. Follow-ups and parents are named by number.
//!
//! Text written by users (subjects, comments, notes) is printed with its
//! control characters escaped, so a stored escape sequence cannot drive the
//! auditor's terminal.

use std::collections::HashMap;
use std::io::{self, Write};

use docket_app::clock::{from_unix_nanos, unix_nanos};
use docket_app::wire::rfc3339;
use docket_domain::events::{CommentAdded, TicketOpened};
use docket_domain::ticket::{self, OpenedTicket, Ticket};
use docket_domain::types::{Currency, Resolution, TicketId, TicketNumber, Visibility};
use docket_domain::Event;
use docket_eventstore::{RecordedEvent, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ReplayError;
use crate::history::decode;

/// The numbers of the tickets this one links to (its parent, its
/// follow-ups), found before writing.
pub struct Links {
    numbers: HashMap<TicketId, TicketNumber>,
}

impl Links {
    /// The parent's number comes from its own stream's `ticket_opened`; the
    /// follow-ups' from this stream's `follow_up_opened` events.
    pub fn resolve(
        store: &Store,
        entries: &[(RecordedEvent, Event)],
    ) -> Result<Links, ReplayError> {
        let mut numbers = HashMap::new();
        for (_, event) in entries {
            match event {
                Event::FollowUpOpened(link) => {
                    numbers.insert(link.follow_up_id, link.follow_up_number);
                }
                Event::TicketOpened(TicketOpened {
                    follow_up_of: Some(parent),
                    ..
                }) => {
                    let first = store.read_stream_range(&parent.stream(), 1, 1)?;
                    if let Some(entry) = first.first() {
                        if let Event::TicketOpened(opened) = decode(entry)? {
                            numbers.insert(*parent, opened.number);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Links { numbers })
    }

    /// `10000000042 (id …)`, or the id alone if the log has no such ticket.
    fn name(&self, ticket_id: &TicketId) -> String {
        match self.numbers.get(ticket_id) {
            Some(number) => format!("{number} (id {ticket_id})"),
            None => format!("id {ticket_id} (not in the log)"),
        }
    }
}

/// Writes the timeline of `entries` (the whole stream, in version order),
/// cut at `as_of` when given.
pub fn write(
    out: &mut impl Write,
    ticket_id: TicketId,
    entries: &[(RecordedEvent, Event)],
    links: &Links,
    as_of: Option<OffsetDateTime>,
) -> io::Result<()> {
    let until = as_of.map(unix_nanos);
    let shown: Vec<&(RecordedEvent, Event)> = entries
        .iter()
        .filter(|(entry, _)| until.is_none_or(|t| entry.recorded_at_unix_nanos <= t))
        .collect();
    let opened = entries.iter().find_map(|(entry, event)| match event {
        Event::TicketOpened(opened) => Some((entry, opened)),
        _ => None,
    });
    if let (Some(as_of), true) = (as_of, shown.is_empty()) {
        let (number, at) = match opened {
            Some((entry, opened)) => (opened.number.to_string(), at(entry)),
            None => ("?".to_owned(), "?".to_owned()),
        };
        return writeln!(
            out,
            "ticket {number} (id {ticket_id}) did not exist yet at {}: it was opened at {at}",
            rfc3339(as_of)
        );
    }

    let rows = rows(&shown, links);
    let state = shown.iter().fold(ticket::initial(), |state, (_, event)| {
        ticket::apply(state, event)
    });
    write_header(out, ticket_id, &state, &shown, links, as_of)?;
    write_rows(out, &rows)
}

/// One event as printed: the columns, then its field lines.
struct Row {
    position: String,
    version: String,
    at: String,
    actor: String,
    event: &'static str,
    status: String,
    fields: Vec<(&'static str, String)>,
}

fn rows(shown: &[&(RecordedEvent, Event)], links: &Links) -> Vec<Row> {
    let mut state = ticket::initial();
    let mut rows = Vec::with_capacity(shown.len());
    for (entry, event) in shown {
        let before = state.opened.clone();
        state = ticket::apply(state, event);
        let after = state.opened.as_ref();
        let status = match (before.as_ref(), after) {
            (Some(b), Some(a)) if b.status != a.status => {
                format!("{} -> {}", b.status.as_str(), a.status.as_str())
            }
            (_, Some(a)) => a.status.as_str().to_owned(),
            (_, None) => "-".to_owned(),
        };
        let mut fields = event_fields(event, &entry.actor.sub, links);
        if let (Some(b), Some(a)) = (before.as_ref(), after) {
            changed_fields(b, a, &mut fields);
        }
        rows.push(Row {
            position: entry.position.to_string(),
            version: entry.version.to_string(),
            at: at(entry),
            actor: format!("{} ({})", clean(&entry.actor.sub), clean(&entry.actor.role)),
            event: event.event_type(),
            status,
            fields,
        });
    }
    rows
}

/// What the event records, in the contract's words.
fn event_fields(event: &Event, envelope_sub: &str, links: &Links) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    match event {
        Event::TicketOpened(opened) => {
            fields.push(("number", opened.number.to_string()));
            fields.push(("org", opened.org.to_string()));
            fields.push(("subject", clean(&opened.subject)));
            fields.push(("description", clean(&opened.description)));
            let reason = match &opened.reason.detail {
                Some(detail) => format!("{}: {}", clean(&opened.reason.category), clean(detail)),
                None => clean(&opened.reason.category),
            };
            fields.push(("reason", reason));
            if let Some(order) = &opened.order {
                let amount = money(order.amount.amount_minor, order.amount.currency);
                fields.push(("order", format!("{}, {amount}", clean(&order.number))));
            }
            if let Some(code) = &opened.customer_code {
                fields.push(("customer code", clean(code)));
            }
            if let Some(date) = opened.incident_date {
                fields.push(("incident date", docket_domain::types::date::format(date)));
            }
            fields.push(("impact", name(&opened.impact)));
            fields.push(("channel", name(&opened.channel)));
            if opened.opened_by.sub != envelope_sub {
                fields.push(("opened by", author(&opened.opened_by)));
            }
            if let Some(parent) = &opened.follow_up_of {
                fields.push(("follow-up of", links.name(parent)));
            }
            if let Some(contact) = &opened.contact {
                let who = match &contact.name {
                    Some(name) => format!(
                        "{} <{}>",
                        clean(name.as_str()),
                        clean(contact.email.as_str())
                    ),
                    None => clean(contact.email.as_str()),
                };
                fields.push(("contact", format!("{who}, {}", contact.language.as_str())));
            }
            if let Some(channel) = &opened.sales_channel {
                fields.push(("sales channel", channel.to_string()));
            }
        }
        Event::CommentAdded(CommentAdded {
            body,
            visibility,
            text_module,
            ..
        }) => {
            let label = match visibility {
                Visibility::Public => "public comment",
                Visibility::Internal => "INTERNAL comment",
            };
            fields.push((label, clean(body)));
            if let Some(module) = text_module {
                fields.push((
                    "from text module",
                    format!("{} v{}", clean(&module.name), module.version),
                ));
            }
        }
        Event::Escalated(escalated) => {
            fields.push(("escalation reason", name(&escalated.reason)));
            if let Some(note) = &escalated.note {
                fields.push(("note", clean(note)));
            }
        }
        Event::RefundIssued(refund) => {
            fields.push((
                "refund",
                money(refund.amount.amount_minor, refund.amount.currency),
            ));
            fields.push(("refund reason", clean(&refund.reason)));
        }
        Event::TicketClosed(closed) => {
            fields.push(("resolution", name(&closed.resolution)));
            if let Some(note) = &closed.note {
                fields.push(("note", clean(note)));
            }
        }
        Event::FollowUpOpened(link) => {
            fields.push(("follow-up opened", links.name(&link.follow_up_id)));
        }
        Event::PolicySet(policy) => {
            fields.push(("org policy set for", policy.org.to_string()));
        }
        Event::TextModuleSaved(saved) => {
            fields.push((
                "text module saved",
                format!("{} v{}", clean(&saved.name), saved.version),
            ));
        }
        Event::AttachmentAdded(added) => {
            let label = match added.visibility {
                Visibility::Public => "attachment",
                Visibility::Internal => "INTERNAL attachment",
            };
            fields.push((
                label,
                format!(
                    "{} ({}, {} bytes, sha256 {})",
                    clean(&added.filename),
                    added.media_type,
                    added.size,
                    added.sha256
                ),
            ));
        }
        Event::TextModuleRemoved(removed) => {
            fields.push((
                "text module removed",
                format!("{} v{}", clean(&removed.name), removed.version),
            ));
        }
    }
    fields
}

/// What the event changed on the ticket besides its status (a column).
fn changed_fields(
    before: &OpenedTicket,
    after: &OpenedTicket,
    fields: &mut Vec<(&'static str, String)>,
) {
    if before.escalated != after.escalated {
        fields.push((
            "escalated",
            format!(
                "{} -> {}",
                yes_no(before.escalated),
                yes_no(after.escalated)
            ),
        ));
    }
    if before.refunded_minor != after.refunded_minor {
        fields.push((
            "refunded in total",
            format!("{} -> {}", before.refunded_minor, after.refunded_minor),
        ));
    }
}

fn write_header(
    out: &mut impl Write,
    ticket_id: TicketId,
    state: &Ticket,
    shown: &[&(RecordedEvent, Event)],
    links: &Links,
    as_of: Option<OffsetDateTime>,
) -> io::Result<()> {
    let Some(ticket) = &state.opened else {
        // A stream whose first event is not `ticket_opened`: show the rows.
        writeln!(
            out,
            "stream of ticket id {ticket_id} (no ticket_opened event)"
        )?;
        return writeln!(out);
    };
    writeln!(
        out,
        "ticket {} (id {ticket_id}, org {})",
        ticket.number, ticket.org
    )?;
    if let Some(as_of) = as_of {
        writeln!(out, "as of {}", rfc3339(as_of))?;
    }
    let mut status = vec![match closed(shown) {
        Some((entry, resolution)) => format!("closed at {} ({})", at(entry), name(&resolution)),
        None => ticket.status.as_str().to_owned(),
    }];
    if ticket.escalated {
        status.push("escalated".to_owned());
    }
    if ticket.refunded_minor > 0 {
        let of_order = ticket
            .order
            .as_ref()
            .map(|order| {
                format!(
                    " of {}",
                    money(order.amount.amount_minor, order.amount.currency)
                )
            })
            .unwrap_or_default();
        status.push(format!("refunded {}{of_order}", ticket.refunded_minor));
    }
    status.push(format!("version {}", state.version));
    writeln!(out, "status: {}", status.join(", "))?;
    if let Some(parent) = &ticket.follow_up_of {
        writeln!(out, "follow-up of: {}", links.name(parent))?;
    }
    if !ticket.follow_ups.is_empty() {
        let names: Vec<String> = ticket.follow_ups.iter().map(|id| links.name(id)).collect();
        writeln!(out, "follow-ups: {}", names.join(", "))?;
    }
    writeln!(out)
}

fn write_rows(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let width = |title: &str, cell: fn(&Row) -> usize| {
        rows.iter()
            .map(cell)
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let w_pos = width("POS", |r| r.position.len());
    let w_ver = width("VER", |r| r.version.len());
    let w_at = width("TIME", |r| r.at.len());
    let w_actor = width("ACTOR (ROLE)", |r| r.actor.chars().count());
    let w_event = width("EVENT", |r| r.event.len());
    writeln!(
        out,
        "{:>w_pos$}  {:>w_ver$}  {:<w_at$}  {:<w_actor$}  {:<w_event$}  STATUS AFTER",
        "POS", "VER", "TIME", "ACTOR (ROLE)", "EVENT"
    )?;
    let indent = " ".repeat(w_pos + 2 + w_ver + 2);
    for row in rows {
        writeln!(
            out,
            "{:>w_pos$}  {:>w_ver$}  {:<w_at$}  {:<w_actor$}  {:<w_event$}  {}",
            row.position, row.version, row.at, row.actor, row.event, row.status
        )?;
        for (label, value) in &row.fields {
            // Continuation lines of a multi-line value line up under its start.
            let continuation = format!("\n{indent}{}", " ".repeat(label.len() + 2));
            writeln!(
                out,
                "{indent}{label}: {}",
                value.replace('\n', &continuation)
            )?;
        }
    }
    Ok(())
}

/// The last `ticket_closed` among the shown events, with its resolution.
fn closed<'a>(shown: &[&'a (RecordedEvent, Event)]) -> Option<(&'a RecordedEvent, Resolution)> {
    shown.iter().rev().find_map(|(entry, event)| match event {
        Event::TicketClosed(closed) => Some((entry, closed.resolution)),
        _ => None,
    })
}

fn at(entry: &RecordedEvent) -> String {
    rfc3339(from_unix_nanos(entry.recorded_at_unix_nanos))
}

fn money(amount_minor: u64, currency: Currency) -> String {
    format!("{amount_minor} {currency} (minor units)")
}

fn author(author: &docket_domain::types::Author) -> String {
    format!("{} ({})", clean(&author.sub), author.role.as_str())
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// The contract's snake_case name of an enum value (its JSON string).
fn name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// User text with every control character but newline escaped.
fn clean(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            cleaned.extend(c.escape_default());
        } else {
            cleaned.push(c);
        }
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_but_newlines_kept() {
        assert_eq!(clean("a\u{1b}[31mred\nb\r"), "a\\u{1b}[31mred\nb\\r");
    }
}
