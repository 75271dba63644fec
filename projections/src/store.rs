//! Reading and writing records of the read-model tree.

use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use docket_domain::policy::OrgPolicy;
use docket_domain::types::OrgId;

use crate::error::ProjectionError;
use crate::keys::{self, Key, KeyReader};
use crate::record::TicketRecord;

pub(crate) fn encode<T: Serialize>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, ProjectionError> {
    postcard::to_stdvec(value).map_err(|error| ProjectionError::corrupt(what, error))
}

pub(crate) fn decode<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, ProjectionError> {
    postcard::from_bytes(bytes).map_err(|error| ProjectionError::corrupt(what, error))
}

pub(crate) fn get<T: DeserializeOwned>(
    tree: &sled::Tree,
    what: &'static str,
    key: &Key,
) -> Result<Option<T>, ProjectionError> {
    match tree.get(key)? {
        Some(bytes) => decode(what, &bytes).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn ticket_key(ticket: Uuid) -> Key {
    Key::new(keys::TICKET).uuid(ticket)
}

pub(crate) fn ticket(
    tree: &sled::Tree,
    ticket: Uuid,
) -> Result<Option<TicketRecord>, ProjectionError> {
    get(tree, "ticket record", &ticket_key(ticket))
}

pub(crate) fn org_key(org: &OrgId) -> Key {
    Key::new(keys::ORG).str(org.as_str())
}

/// Every org with tickets, in key order.
pub(crate) fn orgs(tree: &sled::Tree) -> Result<Vec<OrgId>, ProjectionError> {
    let mut orgs = Vec::new();
    for entry in tree.scan_prefix([keys::ORG]) {
        let (key, _) = entry?;
        let name = KeyReader::new(&key[1..])
            .str()
            .and_then(OrgId::parse)
            .ok_or_else(|| ProjectionError::corrupt("org key", "not an org id"))?;
        orgs.push(name);
    }
    Ok(orgs)
}

pub(crate) fn policy_key(org: &OrgId) -> Key {
    Key::new(keys::POLICY).str(org.as_str())
}

/// The policy in force for `org` (the contract's defaults if it never set one).
pub(crate) fn policy(tree: &sled::Tree, org: &OrgId) -> Result<OrgPolicy, ProjectionError> {
    Ok(get(tree, "org policy", &policy_key(org))?.unwrap_or_default())
}
