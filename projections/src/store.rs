//! Reading and writing records of the read-model tree.

use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use docket_domain::policy::OrgPolicy;
use docket_domain::types::OrgId;

use crate::error::ProjectionError;
use crate::keys::{self, Key, KeyReader};
use crate::record::TicketRecord;

/// The writes of one commit, in order: a later write of a key wins.
///
/// Applied as one sled batch (atomic, also across a crash) to a copy that
/// is served, or one by one to a copy being built: nobody reads that copy
/// before its last writes are flushed (a crash leaves it unserved and it is
/// dropped at the next open), and plain inserts leave sled's process-wide
/// batch lock alone, so they can run while the next events are folded.
#[derive(Default)]
pub(crate) struct Writes(Vec<(Vec<u8>, Option<sled::IVec>)>);

impl Writes {
    /// Values are sled's own: a value encoded with [`encode_value`] goes
    /// into sled's tree without another copy.
    pub(crate) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<sled::IVec>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub(crate) fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.0.push((key.into(), None));
    }

    /// All of them in one atomic `apply_batch`.
    pub(crate) fn apply_atomically(self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        let mut batch = sled::Batch::default();
        for (key, value) in self.0 {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        tree.apply_batch(batch)?;
        Ok(())
    }

    /// One insert or remove at a time, in key order: a crash may leave
    /// any part of them.
    ///
    /// Key order (a stable sort: a later write of a key still wins) makes
    /// each sled leaf take its writes in one run instead of being fetched,
    /// copied and relinked once per scattered write, and leaves fewer
    /// fragments for sled to keep: less CPU and a much smaller file
    /// (`docs/benchmarks.md`, "Rebuild").
    pub(crate) fn apply_one_by_one(mut self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in self.0 {
            match value {
                Some(value) => tree.insert(key, value)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }
}

thread_local! {
    /// Where values are serialized before being copied out at their exact
    /// size: serializing a ticket record into a fresh vector grows it many
    /// times, a realloc and a copy each (`docs/benchmarks.md`, "Rebuild").
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The scratch buffer is given back to the allocator above this size.
const SCRATCH_KEPT_MAX: usize = 1 << 20;

pub(crate) fn encode<T: Serialize>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, ProjectionError> {
    encode_with(what, value, <[u8]>::to_vec)
}

/// [`encode`], as a value for [`Writes::insert`].
pub(crate) fn encode_value<T: Serialize>(
    what: &'static str,
    value: &T,
) -> Result<sled::IVec, ProjectionError> {
    encode_with(what, value, |bytes| sled::IVec::from(bytes))
}

fn encode_with<T: Serialize, O>(
    what: &'static str,
    value: &T,
    copy_out: impl FnOnce(&[u8]) -> O,
) -> Result<O, ProjectionError> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.clear();
        let buffer = std::mem::take(&mut *scratch);
        match docket_eventstore::record::postcard_append(value, buffer) {
            Ok(buffer) => {
                let encoded = copy_out(buffer.as_slice());
                if buffer.capacity() <= SCRATCH_KEPT_MAX {
                    *scratch = buffer;
                }
                Ok(encoded)
            }
            Err(error) => Err(ProjectionError::corrupt(what, error)),
        }
    })
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
