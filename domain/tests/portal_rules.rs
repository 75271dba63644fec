//! The portal features' rules (contract v1.2): contacts and sales channels
//! on tickets, text modules saved and removed, and comments made from them.

mod support;

use docket_domain::access::Action;
use docket_domain::contact::{Contact, ContactName, EmailAddress, Language, SalesChannel};
use docket_domain::error::DomainError;
use docket_domain::events::{Event, TextModuleRemoved, TextModuleSaved, TextModuleUse};
use docket_domain::policy::OrgPolicy;
use docket_domain::text::{TextModuleBody, TextModuleTitle};
use docket_domain::text_module::{
    apply_text_module, decide_text_module, RemoveTextModule, SaveTextModule, TextModuleCommand,
    TextModuleName, TextModules,
};
use docket_domain::ticket::{AddComment, Command, CommentText, Context};
use docket_domain::types::{Actor, Role, Visibility};
use support::*;

fn anna() -> Contact {
    Contact {
        email: EmailAddress::parse("anna@example.it").expect("valid"),
        name: Some(ContactName::parse("Anna Rossi").expect("valid")),
        language: Language::It,
    }
}

fn channel(text: &str) -> SalesChannel {
    SalesChannel::parse(text).expect("valid")
}

fn name(text: &str) -> TextModuleName {
    TextModuleName::parse(text).expect("valid")
}

fn save(module: &str, body: &str, channels: &[&str]) -> TextModuleCommand {
    TextModuleCommand::Save(SaveTextModule {
        org: acme(),
        name: name(module),
        title: TextModuleTitle::parse("A title").expect("valid"),
        body: TextModuleBody::parse(body).expect("valid"),
        sales_channels: channels.iter().map(|c| channel(c)).collect(),
    })
}

fn remove(module: &str) -> TextModuleCommand {
    TextModuleCommand::Remove(RemoveTextModule {
        org: acme(),
        name: name(module),
    })
}

fn decide(
    state: &TextModules,
    command: &TextModuleCommand,
    actor: Actor,
) -> Result<Vec<Event>, DomainError> {
    let ctx = Context {
        now: NOW,
        actor,
        policy: OrgPolicy::default(),
        text_modules: TextModules::default(),
    };
    decide_text_module(state, command, &ctx)
}

/// The org's modules after `commands`, each decided by acme's agent.
fn modules_after(commands: &[TextModuleCommand]) -> TextModules {
    commands
        .iter()
        .fold(TextModules::default(), |state, command| {
            let events = decide(&state, command, agent()).expect("decided");
            events.iter().fold(state, apply_text_module)
        })
}

fn from_module(module: &str) -> Step {
    comment_with(CommentText::FromModule(name(module)), Visibility::Public).by(agent())
}

fn comment_with(body: CommentText, visibility: Visibility) -> Step {
    Step {
        command: Cmd::Ticket(Command::Comment(AddComment {
            comment_id: COMMENT,
            body,
            visibility,
        })),
        actor: agent(),
    }
}

// ============================================================ contacts

#[test]
fn a_ticket_keeps_the_contact_and_sales_channel_it_was_opened_with() {
    let mut command = open_command();
    command.contact = Some(anna());
    command.sales_channel = Some(channel("kaufland.de"));
    nothing()
        .when(Step {
            command: Cmd::Ticket(Command::Open(command)),
            actor: customer(),
        })
        .then([opened_with(|e| {
            e.contact = Some(anna());
            e.sales_channel = Some(channel("kaufland.de"));
        })]);
}

fn follow_up_opened(change: impl FnOnce(&mut docket_domain::events::TicketOpened)) -> Event {
    opened_with(|e| {
        e.ticket_id = FOLLOW_UP;
        e.number = follow_up_number();
        e.follow_up_of = Some(TICKET);
        change(e);
    })
}

#[test]
fn a_follow_up_takes_its_parents_contact_and_channel_unless_it_gives_its_own() {
    let parent = [
        opened_with(|e| {
            e.contact = Some(anna());
            e.sales_channel = Some(channel("kaufland.de"));
        }),
        closed(),
    ];
    given(parent.clone()).when(follow_up()).then_follow_up(
        [follow_up_opened(|e| {
            e.contact = Some(anna());
            e.sales_channel = Some(channel("kaufland.de"));
        })],
        [follow_up_linked(&customer())],
    );
    let other = Contact {
        email: EmailAddress::parse("marco@example.it").expect("valid"),
        name: None,
        language: Language::En,
    };
    given(parent)
        .when(follow_up_with(|f| {
            f.contact = Some(other.clone());
            f.sales_channel = Some(channel("ebay.it"));
        }))
        .then_follow_up(
            [follow_up_opened(|e| {
                e.contact = Some(other.clone());
                e.sales_channel = Some(channel("ebay.it"));
            })],
            [follow_up_linked(&customer())],
        );
}

// ======================================================== text modules

#[test]
fn the_first_save_of_a_name_is_version_1_and_every_save_or_removal_counts() {
    let state = modules_after(&[
        save("late-parcel", "Hi {{ contact.name }}", &["kaufland.de"]),
        save("late-parcel", "Hello {{contact.name}}", &[]),
        remove("late-parcel"),
    ]);
    assert_eq!(state.version_of("late-parcel"), 3);
    assert!(state.get("late-parcel").is_none());
    let events = decide(&state, &save("late-parcel", "Back", &[]), agent()).expect("saved");
    assert!(matches!(
        events.as_slice(),
        [Event::TextModuleSaved(TextModuleSaved { version: 4, .. })]
    ));
}

#[test]
fn a_save_keeps_its_channels_as_a_sorted_set() {
    let events = decide(
        &TextModules::default(),
        &save("m", "x", &["kaufland.de", "ebay.it", "kaufland.de"]),
        agent(),
    )
    .expect("saved");
    let [Event::TextModuleSaved(saved)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        saved.sales_channels,
        vec![channel("ebay.it"), channel("kaufland.de")]
    );
}

#[test]
fn at_most_fifty_channels() {
    let channels: Vec<String> = (0..51).map(|i| format!("shop{i}")).collect();
    let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
    assert_eq!(
        decide(&TextModules::default(), &save("m", "x", &refs), agent()),
        Err(DomainError::TooManySalesChannels { count: 51, max: 50 })
    );
    assert!(decide(
        &TextModules::default(),
        &save("m", "x", &refs[..50]),
        agent()
    )
    .is_ok());
}

#[test]
fn placeholders_are_checked_when_saved() {
    assert_eq!(
        decide(
            &TextModules::default(),
            &save("m", "Hi {{ ticket.nope }}", &[]),
            agent()
        ),
        Err(DomainError::UnknownPlaceholder {
            name: "ticket.nope".to_owned()
        })
    );
    assert_eq!(
        decide(
            &TextModules::default(),
            &save("m", "Hi {{ ticket.number", &[]),
            agent()
        ),
        Err(DomainError::InvalidTemplate { at_char: 3 })
    );
}

#[test]
fn only_agents_of_the_org_and_admins_manage_modules() {
    let empty = TextModules::default();
    for role in [Role::Customer, Role::Support, Role::Auditor, Role::Analyst] {
        let actor = actor("x", role, docket_domain::types::OrgScope::Org(acme()));
        assert_eq!(
            decide(&empty, &save("m", "x", &[]), actor),
            Err(DomainError::Forbidden {
                role,
                action: Action::ManageTextModules
            })
        );
    }
    assert_eq!(
        decide(&empty, &save("m", "x", &[]), of_org(agent(), "globex")),
        Err(DomainError::ForbiddenOrg {
            allowed: org("globex"),
            requested: acme()
        })
    );
    assert!(decide(&empty, &save("m", "x", &[]), platform(admin())).is_ok());
    assert!(decide(&empty, &save("m", "x", &[]), of_org(admin(), "acme")).is_ok());
}

#[test]
fn removing_a_name_without_a_module_is_not_found() {
    assert_eq!(
        decide(&TextModules::default(), &remove("nothing"), agent()),
        Err(DomainError::NotFound)
    );
    let state = modules_after(&[save("m", "x", &[])]);
    assert!(matches!(
        decide(&state, &remove("m"), admin()).as_deref(),
        Ok([Event::TextModuleRemoved(TextModuleRemoved {
            version: 2,
            ..
        })])
    ));
}

// ============================================ comments from text modules

#[test]
fn a_comment_from_a_module_is_filled_with_the_tickets_values() {
    let modules = modules_after(&[save(
        "late-parcel",
        "Ciao {{ contact.name }}, ticket {{ticket.number}} ({{order.number}}) via {{sales_channel}} — {{actor.sub}}",
        &["kaufland.de"],
    )]);
    let ticket = opened_with(|e| {
        e.contact = Some(anna());
        e.sales_channel = Some(channel("kaufland.de"));
        e.order = Some(an_order(1_000, "EUR"));
    });
    let expected = format!(
        "Ciao Anna Rossi, ticket {} (A-1001) via kaufland.de — {}",
        number(),
        agent().sub
    );
    given([ticket])
        .with_text_modules(modules)
        .when(from_module("late-parcel"))
        .then([Event::CommentAdded(docket_domain::events::CommentAdded {
            comment_id: COMMENT,
            author: author(&agent()),
            body: expected,
            visibility: Visibility::Public,
            text_module: Some(TextModuleUse {
                name: "late-parcel".to_owned(),
                version: 1,
            }),
        })]);
}

#[test]
fn the_module_checks_come_in_the_contracts_order() {
    let modules = modules_after(&[
        save("for-kaufland", "Hi", &["kaufland.de"]),
        save("needs-order", "Order {{order.number}}", &[]),
    ]);
    given([opened()])
        .with_text_modules(modules.clone())
        .when(from_module("missing"))
        .then_err(DomainError::UnknownTextModule {
            name: "missing".to_owned(),
        });
    // A ticket without a channel may use modules for every channel only.
    given([opened()])
        .with_text_modules(modules.clone())
        .when(from_module("for-kaufland"))
        .then_err(DomainError::TextModuleNotForChannel {
            name: "for-kaufland".to_owned(),
        });
    given([opened()])
        .with_text_modules(modules)
        .when(from_module("needs-order"))
        .then_err(DomainError::PlaceholderWithoutValue {
            placeholder: "order.number".to_owned(),
        });
}

#[test]
fn customers_may_not_use_modules_and_a_closed_ticket_is_refused_first() {
    let modules = modules_after(&[save("hello", "Hi", &[])]);
    given([opened()])
        .with_text_modules(modules.clone())
        .when(from_module("hello").by(customer()))
        .then_err(DomainError::Forbidden {
            role: Role::Customer,
            action: Action::UseTextModule,
        });
    given([opened(), closed()])
        .with_text_modules(modules)
        .when(from_module("missing"))
        .then_err(DomainError::TicketClosed);
}
