//! Text module commands: save and remove an org's modules (`PUT`/`DELETE
//! /v1/orgs/{org}/text-modules/{name}`), through the same loop as ticket
//! commands (idempotency, `If-Match` on the name's version, a retry on a
//! lost race), appending to the org's `text-modules-{org}` stream.
//!
//! The org's modules are folded from the log, never from the read models:
//! a decision (a save's version, a comment made from a module) must see
//! every save acknowledged before it. Folds are cached per org and brought
//! up to date with the events after the cached version, as tickets are.

use docket_domain::contact::SalesChannel;
use docket_domain::events::Event;
use docket_domain::policy::OrgPolicy;
use docket_domain::text_module::{
    apply_text_module, authorize_text_modules, decide_text_module, TextModuleCommand, TextModules,
};
use docket_domain::types::OrgId;
use docket_eventstore::{ExpectedVersion, StreamAppend};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::commands::{
    check_if_match, envelopes, Answer, AnswerBody, CommandMeta, Commands, Outcome, Plan,
};
use crate::error::AppError;

/// Folded text-module streams kept at once; cleared when full (orgs are few).
pub const TEXT_MODULE_CACHE_MAX: usize = 1024;

/// The stream of `org`'s text modules.
pub fn stream_of(org: &OrgId) -> String {
    format!("text-modules-{org}")
}

/// The success body of a text module command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextModuleAnswer {
    /// `PUT`: the module as saved.
    Saved(SavedModule),
    /// `DELETE`.
    Removed(RemovedModule),
}

/// A saved module, as `PUT` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedModule {
    /// The org whose module it is.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// The name's saves and removals, this save included.
    pub version: u64,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// Its channels, sorted, without duplicates; empty for all.
    pub sales_channels: Vec<SalesChannel>,
    /// When it was saved.
    #[serde(with = "docket_domain::types::instant")]
    pub updated_at: OffsetDateTime,
    /// The log position of the save.
    pub position: u64,
}

/// A removal, as `DELETE` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedModule {
    /// The org whose module it was.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// The name's saves and removals, this removal included.
    pub version: u64,
    /// Always `true`.
    pub removed: bool,
    /// The log position of the removal.
    pub position: u64,
}

impl TextModuleAnswer {
    /// The name's version after the command.
    pub fn version(&self) -> u64 {
        match self {
            TextModuleAnswer::Saved(saved) => saved.version,
            TextModuleAnswer::Removed(removed) => removed.version,
        }
    }

    /// The log position of the command's event.
    pub fn position(&self) -> u64 {
        match self {
            TextModuleAnswer::Saved(saved) => saved.position,
            TextModuleAnswer::Removed(removed) => removed.position,
        }
    }

    pub(crate) fn set_position(&mut self, position: u64) {
        match self {
            TextModuleAnswer::Saved(saved) => saved.position = position,
            TextModuleAnswer::Removed(removed) => removed.position = position,
        }
    }
}

impl Commands {
    /// Saves or removes one of an org's text modules.
    pub async fn text_module(
        &self,
        meta: CommandMeta,
        command: TextModuleCommand,
    ) -> Result<Answer, AppError> {
        self.run(&meta, || async {
            // The role and the org first, then `If-Match`, then the rules.
            authorize_text_modules(&meta.actor, command.org())?;
            let org = command.org();
            let state = self.text_modules_of(org)?;
            check_if_match(meta.if_match, state.version_of(command.name().as_str()))?;
            let context = self.context(&meta.actor, OrgPolicy::default());
            let events = decide_text_module(&state, &command, &context)?;
            let existed = state.get(command.name().as_str()).is_some();
            let answer = match events.first() {
                Some(Event::TextModuleSaved(saved)) => Answer {
                    outcome: if existed {
                        Outcome::Changed
                    } else {
                        Outcome::Created
                    },
                    location: (!existed)
                        .then(|| format!("/v1/orgs/{org}/text-modules/{}", saved.name)),
                    body: AnswerBody::TextModule(TextModuleAnswer::Saved(SavedModule {
                        org: saved.org.clone(),
                        name: saved.name.clone(),
                        version: saved.version,
                        title: saved.title.clone(),
                        body: saved.body.clone(),
                        sales_channels: saved.sales_channels.clone(),
                        updated_at: context.now,
                        position: 0,
                    })),
                },
                Some(Event::TextModuleRemoved(removed)) => Answer {
                    outcome: Outcome::Changed,
                    location: None,
                    body: AnswerBody::TextModule(TextModuleAnswer::Removed(RemovedModule {
                        org: removed.org.clone(),
                        name: removed.name.clone(),
                        version: removed.version,
                        removed: true,
                        position: 0,
                    })),
                },
                _ => return Err(AppError::Unexpected("a text module decision made no event")),
            };
            Ok(Plan {
                answer,
                request_streams: vec![StreamAppend {
                    stream: stream_of(org),
                    expected: ExpectedVersion::Exact(state.stream_version),
                    events: envelopes(&meta, &events, context.now, None),
                }],
                now: context.now,
            })
        })
        .await
    }

    /// `org`'s text modules: the cached fold, plus the durable events after it.
    pub fn text_modules_of(&self, org: &OrgId) -> Result<TextModules, AppError> {
        let cached = self
            .text_modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(org)
            .cloned();
        let mut state = cached.unwrap_or_default();
        let recorded = self.store().read_stream_range(
            &stream_of(org),
            state.stream_version + 1,
            usize::MAX,
        )?;
        if recorded.is_empty() {
            return Ok(state);
        }
        for entry in &recorded {
            let event = crate::decode(entry, "text module event")?;
            state = apply_text_module(state, &event);
        }
        let mut cache = self.text_modules.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= TEXT_MODULE_CACHE_MAX && !cache.contains_key(org) {
            cache.clear();
        }
        let newer = cache
            .get(org)
            .is_none_or(|cached| cached.stream_version < state.stream_version);
        if newer {
            cache.insert(org.clone(), state.clone());
        }
        Ok(state)
    }
}
