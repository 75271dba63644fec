//! The api crate's one error enum, for everything that fails outside a
//! request: start-up (data folder and secret, through the application
//! layer; event log, read models, listening) and serving.
//! A request's own errors are `ApiError`s (`problem.rs`), the one place
//! that speaks HTTP.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data folder, the secret, the clock or the breach report: the
    /// application layer's situations.
    #[error(transparent)]
    App(#[from] docket_app::AppError),
    #[error("cannot open the event log: {0}")]
    Store(#[from] docket_eventstore::StoreError),
    #[error("cannot open the read models: {0}")]
    Views(#[from] docket_projections::ProjectionError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}
