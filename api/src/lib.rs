//! docketd: the HTTP edge of the Docket contract.
//!
//! The only crate that knows HTTP. Handlers extract, call one function of
//! the application layer (`docket-app`: the command service and the
//! queries), and map the result; this crate alone maps errors to HTTP
//! status and `code`. It never decides a rule of the contract itself: the
//! domain does, called through the application layer.

#![warn(missing_docs)]

pub mod attachments;
pub mod auth;
pub mod config;
pub mod console;
pub mod dto;
pub mod error;
pub mod json;
pub mod observability;
pub mod openapi;
pub mod parse;
pub mod problem;
pub mod queries;
pub mod routes;
pub mod server;
pub mod text_modules;

/// Handles shared by every handler; one `Arc`, because axum clones the
/// state for every extractor of every request and `Keys` alone holds the
/// secret twice and the validation's hash sets (cloning them field by field
/// showed in docketd's profile under load).
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

/// What `AppState` shares.
pub struct Shared {
    /// Verifies bearer tokens.
    pub keys: auth::Keys,
    /// The console's session settings.
    pub console: console::Settings,
    /// The command service.
    pub commands: docket_app::commands::Commands,
    /// The queries, with their read rules.
    pub reads: docket_app::reads::Reads,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Attachments' bytes, stored by SHA-256 in the data folder.
    pub attachments: docket_app::attachments::AttachmentStore,
    /// The data folder, locked for the server's life.
    pub data_dir: docket_app::datadir::DataDir,
    /// Becomes true when docketd begins to stop: long-lived answers (the
    /// console's event streams) end so that shutdown need not wait.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// With `--nats`: the last log position the JetStream stream holds.
    pub replicated: Option<tokio::sync::watch::Receiver<u64>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Shares `shared` with every handler.
    pub fn new(shared: Shared) -> AppState {
        AppState(std::sync::Arc::new(shared))
    }

    /// The event log.
    pub fn store(&self) -> &docket_eventstore::Store {
        self.commands.store()
    }

    /// Refreshes the gauges that are read rather than counted.
    pub fn export_gauges(&self) {
        let store = self.store();
        let stats = store.stats();
        metrics::gauge!("docket_log_head_position").set(store.head().position as f64);
        metrics::gauge!("docket_append_commits").set(stats.commits as f64);
        metrics::gauge!("docket_append_events").set(stats.events as f64);
        for (phase, nanos) in [
            ("check", stats.stage_nanos),
            ("apply", stats.apply_nanos),
            ("flush", stats.flush_nanos),
            ("fdatasync", stats.sync_nanos),
        ] {
            metrics::gauge!("docket_writer_busy_seconds", "phase" => phase).set(nanos as f64 / 1e9);
        }
        let views = self.reads.views();
        let projection = views.models.status();
        metrics::gauge!("docket_projection_applied_position")
            .set(projection.applied_position as f64);
        metrics::gauge!("docket_projection_lag_positions").set(views.lag() as f64);
        metrics::gauge!("docket_projection_events_skipped").set(projection.events_skipped as f64);
        if let Some(replicated) = &self.replicated {
            let replicated = *replicated.borrow();
            metrics::gauge!("docket_jetstream_published_position").set(replicated as f64);
            metrics::gauge!("docket_jetstream_lag_positions")
                .set(store.head().position.saturating_sub(replicated) as f64);
        }
        if stats.commits > 0 {
            metrics::gauge!("docket_append_batch_size_mean")
                .set(stats.appends as f64 / stats.commits as f64);
        }
    }
}
