//! Golden fixtures: the stored bytes of every event type, committed under
//! `tests/fixtures/events/<event_type>.v<version>.bin` at the workspace root.
//!
//! Each file must decode to the value built here, and encoding that value at
//! the current version must give the file's bytes back: a change of an event
//! shape that would make stored events unreadable fails here first.
//!
//! `DOCKET_BLESS=1 cargo test -p docket-domain --test fixtures` writes the
//! files that are missing; it never overwrites one. A committed file is a
//! promise about bytes already on disks: to change what it holds, add a new
//! schema version (see `docket_domain::codec`), never rewrite the file.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use docket_domain::attachment::MediaType;
use docket_domain::calendar::{BusinessCalendar, WorkingHours};
use docket_domain::codec::{decode, encode, schema_version};
use docket_domain::contact::{Contact, ContactName, EmailAddress, Language, SalesChannel};
use docket_domain::events::{
    AttachmentAdded, CommentAdded, Escalated, Event, FollowUpOpened, PolicySet, RefundIssued,
    TextModuleRemoved, TextModuleSaved, TextModuleUse, TicketClosed, TicketOpened,
};
use docket_domain::policy::{OrgPolicy, RequiredField};
use docket_domain::types::{
    Author, Channel, Currency, EscalationReason, Impact, Money, Order, OrgId, Reason, Resolution,
    Role, TicketId, TicketNumber, Visibility,
};
use time::macros::date;
use uuid::Uuid;

/// One committed file: which bytes, and the event they must decode to.
struct Fixture {
    event_type: &'static str,
    schema_version: u16,
    expected: Event,
}

fn fixtures() -> Vec<Fixture> {
    let v1 = |event_type, expected| Fixture {
        event_type,
        schema_version: 1,
        expected,
    };
    let v2 = |event_type, expected| Fixture {
        event_type,
        schema_version: 2,
        expected,
    };
    vec![
        // Version 1 files read through their upcasters: the new fields empty.
        v1("ticket_opened", ticket_opened(Contacts::None)),
        v1("comment_added", comment_added(None)),
        v1("policy_set", policy_set(None)),
        v2("ticket_opened", ticket_opened(Contacts::Given)),
        v2(
            "comment_added",
            comment_added(Some(TextModuleUse {
                name: "late-parcel".to_owned(),
                version: 3,
            })),
        ),
        v2(
            "policy_set",
            policy_set(Some(
                EmailAddress::parse("support-team@acme.example").expect("valid"),
            )),
        ),
        v1("escalated", escalated()),
        v1("refund_issued", refund_issued()),
        v1("ticket_closed", ticket_closed()),
        v1("follow_up_opened", follow_up_opened()),
        v1("text_module_saved", text_module_saved()),
        v1("text_module_removed", text_module_removed()),
        v1("attachment_added", attachment_added()),
    ]
}

#[test]
fn every_golden_fixture_decodes_to_its_event_and_encodes_to_its_bytes() {
    let bless = std::env::var("DOCKET_BLESS").as_deref() == Ok("1");
    let dir = fixtures_dir();
    for fixture in fixtures() {
        let name = format!("{}.v{}.bin", fixture.event_type, fixture.schema_version);
        let path = dir.join(&name);
        let is_current = schema_version(&fixture.expected) == fixture.schema_version;
        if bless && is_current {
            write_if_missing(&path, &encode(&fixture.expected).payload);
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => panic!(
                "{}: {error}; run `DOCKET_BLESS=1 cargo test -p docket-domain --test fixtures` to write missing fixtures",
                path.display()
            ),
        };
        assert_eq!(
            decode(fixture.event_type, fixture.schema_version, &bytes),
            Ok(fixture.expected.clone()),
            "{name} no longer decodes to its event"
        );
        if is_current {
            let encoded = encode(&fixture.expected);
            assert_eq!(encoded.event_type, fixture.event_type, "{name}");
            assert_eq!(encoded.payload, bytes, "{name}: the encoding changed");
        }
    }
}

#[test]
fn every_event_type_has_a_current_fixture() {
    // An exhaustive match: a new variant does not compile until it is here.
    fn index(event: &Event) -> usize {
        match event {
            Event::TicketOpened(_) => 0,
            Event::CommentAdded(_) => 1,
            Event::Escalated(_) => 2,
            Event::RefundIssued(_) => 3,
            Event::TicketClosed(_) => 4,
            Event::FollowUpOpened(_) => 5,
            Event::PolicySet(_) => 6,
            Event::TextModuleSaved(_) => 7,
            Event::TextModuleRemoved(_) => 8,
            Event::AttachmentAdded(_) => 9,
        }
    }
    let mut covered = [false; 10];
    for fixture in fixtures() {
        assert_eq!(fixture.expected.event_type(), fixture.event_type);
        if schema_version(&fixture.expected) == fixture.schema_version {
            covered[index(&fixture.expected)] = true;
        }
    }
    assert_eq!(covered, [true; 10]);
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events")
}

fn write_if_missing(path: &std::path::Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create the fixtures folder");
    }
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(bytes).expect("write the fixture");
            file.sync_all().expect("sync the fixture");
            eprintln!("blessed {}", path.display());
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => panic!("{}: {error}", path.display()),
    }
}

// ------------------------------------------------- the expected values

fn org(name: &str) -> OrgId {
    OrgId::parse(name).expect("valid")
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("valid")
}

fn number(sequence: u64) -> TicketNumber {
    TicketNumber::from_sequence(sequence).expect("valid")
}

fn author(sub: &str, role: Role) -> Author {
    Author {
        sub: sub.to_owned(),
        role,
    }
}

const TICKET: TicketId = TicketId(Uuid::from_u128(0x0193_5a3e_1c00_7abc_8def_0123_4567_89ab));
const PARENT: TicketId = TicketId(Uuid::from_u128(0x0193_5a3e_1c00_7abc_8def_0000_0000_0001));

/// Whether a `ticket_opened` fixture has the version-2 fields.
#[derive(Clone, Copy)]
enum Contacts {
    None,
    Given,
}

fn ticket_opened(contacts: Contacts) -> Event {
    Event::TicketOpened(TicketOpened {
        ticket_id: TICKET,
        number: number(4_242),
        org: org("acme-shop_1"),
        subject: "Parcel never arrived — Paket nie angekommen".to_owned(),
        description: "Ordered on the 2nd.\nTracking stopped on the 5th. 🚚".to_owned(),
        reason: Reason {
            category: "delivery".to_owned(),
            detail: Some("Carrier says delivered".to_owned()),
        },
        order: Some(Order {
            number: "A-1001/7".to_owned(),
            amount: Money {
                amount_minor: 12_999,
                currency: eur(),
            },
        }),
        customer_code: Some("C-000077".to_owned()),
        incident_date: Some(date!(2026 - 11 - 20)),
        impact: Impact::High,
        channel: Channel::Email,
        opened_by: author("cust-1", Role::Customer),
        follow_up_of: Some(PARENT),
        contact: match contacts {
            Contacts::None => None,
            Contacts::Given => Some(Contact {
                email: EmailAddress::parse("anna.rossi@example.it").expect("valid"),
                name: Some(ContactName::parse("Anna Rossì").expect("valid")),
                language: Language::It,
            }),
        },
        sales_channel: match contacts {
            Contacts::None => None,
            Contacts::Given => Some(SalesChannel::parse("kaufland.de").expect("valid")),
        },
    })
}

fn comment_added(text_module: Option<TextModuleUse>) -> Event {
    Event::CommentAdded(CommentAdded {
        comment_id: Uuid::from_u128(0x0193_5a3e_1c01_7000_8000_0000_0000_00c1),
        author: author("agent-1", Role::Agent),
        body: "Checked with the carrier: refund on its way.".to_owned(),
        visibility: Visibility::Internal,
        text_module,
    })
}

fn escalated() -> Event {
    Event::Escalated(Escalated {
        reason: EscalationReason::PaymentProvider,
        note: Some("Payment stuck at the provider".to_owned()),
        escalated_by: author("agent-1", Role::Agent),
    })
}

fn refund_issued() -> Event {
    Event::RefundIssued(RefundIssued {
        refund_id: Uuid::from_u128(0x0193_5a3e_1c02_7000_8000_0000_0000_00f1),
        amount: Money {
            amount_minor: 2_500,
            currency: eur(),
        },
        reason: "Late delivery".to_owned(),
        issued_by: author("support-9", Role::Support),
    })
}

fn ticket_closed() -> Event {
    Event::TicketClosed(TicketClosed {
        resolution: Resolution::NoResponse,
        note: None,
        closed_by: author("agent-1", Role::Agent),
    })
}

fn follow_up_opened() -> Event {
    Event::FollowUpOpened(FollowUpOpened {
        follow_up_id: TICKET,
        follow_up_number: number(4_243),
        opened_by: author("cust-1", Role::Customer),
    })
}

fn policy_set(notify_email: Option<EmailAddress>) -> Event {
    Event::PolicySet(PolicySet {
        org: org("acme-shop_1"),
        policy: OrgPolicy {
            intake_window_days: 30,
            required_fields: vec![RequiredField::CustomerCode, RequiredField::Order],
            first_response_hours: 8,
            next_response_hours: 24,
            resolution_hours: Some(120),
            calendar: BusinessCalendar {
                timezone: "Europe/Rome".to_owned(),
                working_days: 0b0001_1111,
                hours: vec![
                    WorkingHours {
                        start_minute: 9 * 60,
                        end_minute: 13 * 60,
                    },
                    WorkingHours {
                        start_minute: 14 * 60,
                        end_minute: 18 * 60,
                    },
                ],
                holidays: vec![date!(2026 - 12 - 25), date!(2026 - 12 - 26)],
            },
            notify_email,
        },
        set_by: author("admin-1", Role::Admin),
    })
}

fn text_module_saved() -> Event {
    Event::TextModuleSaved(TextModuleSaved {
        org: org("acme-shop_1"),
        name: "late-parcel".to_owned(),
        version: 3,
        title: "Parcel late — Paket verspätet".to_owned(),
        body: "Hello {{contact.name}}, ticket {{ ticket.number }}: we are on it.".to_owned(),
        sales_channels: vec![
            SalesChannel::parse("ebay.it").expect("valid"),
            SalesChannel::parse("kaufland.de").expect("valid"),
        ],
        saved_by: author("agent-1", Role::Agent),
    })
}

fn attachment_added() -> Event {
    Event::AttachmentAdded(AttachmentAdded {
        attachment_id: Uuid::from_u128(0x0193_5a3e_1c03_7000_8000_0000_0000_00a1),
        filename: "Foto del pacco — 1.jpg".to_owned(),
        media_type: MediaType::Jpeg,
        size: 2_345_678,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        visibility: Visibility::Public,
        author: author("cust-1", Role::Customer),
    })
}

fn text_module_removed() -> Event {
    Event::TextModuleRemoved(TextModuleRemoved {
        org: org("acme-shop_1"),
        name: "late-parcel".to_owned(),
        version: 4,
        removed_by: author("admin-1", Role::Admin),
    })
}
