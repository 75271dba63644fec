//! Text modules as served: one record per org and name, written as the
//! org's `text_module_saved` / `text_module_removed` events arrive. Each
//! event carries the name's version, so a record is written without being
//! read first; a removal deletes it.
//!
//! Orgs keep tens to hundreds of modules, so a list reads the org's whole
//! range and filters by sales channel in memory.

use docket_domain::contact::SalesChannel;
use docket_domain::events::{Event, TextModuleSaved};
use docket_domain::types::OrgId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use docket_domain::types::instant;

use crate::error::ProjectionError;
use crate::keys::{self, Key};
use crate::store;

/// One text module, as `GET /v1/orgs/{org}/text-modules` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextModuleView {
    /// The org whose module it is.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// Its saves and removals so far.
    pub version: u64,
    /// Its title.
    pub title: String,
    /// Its body, with placeholders.
    pub body: String,
    /// The channels it is for, sorted; empty for every channel.
    pub sales_channels: Vec<SalesChannel>,
    /// When it was last saved.
    #[serde(with = "instant")]
    pub updated_at: OffsetDateTime,
    /// The log position of its last save.
    pub position: u64,
}

impl TextModuleView {
    fn of(saved: &TextModuleSaved, position: u64, at: OffsetDateTime) -> TextModuleView {
        TextModuleView {
            org: saved.org.clone(),
            name: saved.name.clone(),
            version: saved.version,
            title: saved.title.clone(),
            body: saved.body.clone(),
            sales_channels: saved.sales_channels.clone(),
            updated_at: at,
            position,
        }
    }

    /// Whether a ticket of `channel` may use it (see
    /// `docket_domain::text_module::TextModule::is_for`).
    pub fn is_for(&self, channel: &SalesChannel) -> bool {
        self.sales_channels.is_empty() || self.sales_channels.contains(channel)
    }
}

pub(crate) fn key(org: &OrgId, name: &str) -> Key {
    Key::new(keys::TEXT_MODULE).str(org.as_str()).str(name)
}

/// The writes `event` makes, if it is a text module's.
pub(crate) fn apply(
    batch: &mut store::Writes,
    event: &Event,
    position: u64,
    at: OffsetDateTime,
) -> Result<bool, ProjectionError> {
    match event {
        Event::TextModuleSaved(saved) => {
            let view = TextModuleView::of(saved, position, at);
            batch.insert(
                key(&saved.org, &saved.name),
                store::encode_value("text module", &view)?,
            );
            Ok(true)
        }
        Event::TextModuleRemoved(removed) => {
            batch.remove(key(&removed.org, &removed.name));
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The org's modules sorted by name; with `channel`, those for it.
pub(crate) fn list(
    tree: &sled::Tree,
    org: &OrgId,
    channel: Option<&SalesChannel>,
) -> Result<Vec<TextModuleView>, ProjectionError> {
    let prefix = Key::new(keys::TEXT_MODULE).str(org.as_str());
    let mut modules = Vec::new();
    for entry in tree.scan_prefix(prefix.as_bytes()) {
        let (_, value) = entry?;
        let module: TextModuleView = store::decode("text module", &value)?;
        if channel.is_none_or(|channel| module.is_for(channel)) {
            modules.push(module);
        }
    }
    // Keys order names by length first; the contract lists them by name.
    modules.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(modules)
}

/// One module, if saved.
pub(crate) fn get(
    tree: &sled::Tree,
    org: &OrgId,
    name: &str,
) -> Result<Option<TextModuleView>, ProjectionError> {
    store::get(tree, "text module", &key(org, name))
}
