//! The api crate's one error enum, for everything that fails outside a
//! request: start-up (data folder and secret, through the application
//! layer; event log, read models, listening) and serving.
//! A request's own errors are `ApiError`s (`problem.rs`), the one place
//! that speaks HTTP.

/// Why `docketd` could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data folder, the secret, the clock or the breach report: the
    /// application layer's situations.
    #[error(transparent)]
    App(#[from] docket_app::AppError),
    /// The event log in the data folder could not be opened.
    #[error("cannot open the event log: {0}")]
    Store(#[from] docket_eventstore::StoreError),
    /// The read models could not be opened or started.
    #[error("cannot open the read models: {0}")]
    Views(#[from] docket_projections::ProjectionError),
    /// The `--listen` address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// Why the system refused it (in use, not this machine's, ...).
        source: std::io::Error,
    },
    /// The listening socket failed: reading its address, or serving.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}
