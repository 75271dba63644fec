//! Search by ticket number and by order number (`GET /v1/tickets?number=…`
//! or `?order_number=…`), within the caller's scope.

use uuid::Uuid;

use docket_domain::types::{OrgId, TicketNumber};

use crate::error::ProjectionError;
use crate::keys::KeyReader;
use crate::model::{number_key, order_prefix};
use crate::store;
use crate::view::{Scope, TicketSummary};

/// Tickets one order-number search answers at most: the newest.
pub const SEARCH_ITEMS_MAX: usize = 500;

pub(crate) fn by_number(
    tree: &sled::Tree,
    number: TicketNumber,
    scope: &Scope,
) -> Result<Vec<TicketSummary>, ProjectionError> {
    let value = number.value();
    let block: Option<Vec<(u8, Uuid)>> = store::get(tree, "number block", &number_key(value >> 8))?;
    let low = (value & 0xff) as u8;
    let ticket = block.and_then(|block| {
        block
            .binary_search_by_key(&low, |(low, _)| *low)
            .ok()
            .map(|index| block[index].1)
    });
    let Some(ticket) = ticket else {
        return Ok(Vec::new());
    };
    Ok(store::ticket(tree, ticket)?
        .filter(|record| scope.covers(&record.head.org, record.state.escalated))
        .map(|record| vec![record.summary()])
        .unwrap_or_default())
}

pub(crate) fn by_order(
    tree: &sled::Tree,
    order_number: &str,
    scope: &Scope,
) -> Result<Vec<TicketSummary>, ProjectionError> {
    let prefix = order_prefix(order_number);
    let mut items = Vec::new();
    // Newest first: ticket ids are UUID v7 and sort by creation time, so
    // the tickets cut off beyond [`SEARCH_ITEMS_MAX`] are the oldest.
    for entry in tree.scan_prefix(prefix.as_bytes()).rev() {
        let (key, value) = entry?;
        let ticket = KeyReader::new(&key[prefix.as_bytes().len()..])
            .uuid()
            .ok_or_else(|| ProjectionError::corrupt("order key", "no ticket id"))?;
        let org: OrgId = store::decode("order entry", &value)?;
        // The org is in the entry so that other orgs' tickets are not read.
        if !scope.orgs.covers(&org) {
            continue;
        }
        if let Some(record) = store::ticket(tree, ticket)? {
            if scope.covers(&record.head.org, record.state.escalated) {
                items.push(record.summary());
            }
        }
        if items.len() == SEARCH_ITEMS_MAX {
            break;
        }
    }
    items.sort_by(|a, b| {
        b.opened_at
            .cmp(&a.opened_at)
            .then(a.ticket_id.cmp(&b.ticket_id))
    });
    Ok(items)
}
