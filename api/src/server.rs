//! Start-up and shutdown of `docketd`: open the data folder, the log and the
//! read models, run the projections in-process, serve, and on SIGTERM stop
//! taking requests, finish those in flight, flush and exit.

use std::time::Duration;

use docket_eventstore::jetstream::{JetStreamLog, Replicator};
use docket_eventstore::Store;
use tokio::net::TcpListener;

use std::sync::Arc;

use docket_app::attachments::{AttachmentCopier, AttachmentStore};
use docket_app::clock::ServerClock;
use docket_app::commands::Commands;
use docket_app::datadir::{load_secret, DataDir, SecretSource};
use docket_app::notifier::{MailConfig, Notifier};
use docket_app::reads::Reads;
use docket_app::views::Views;
use docket_app::AppError;
use docket_eventstore::jetstream::BeforePublish;

use crate::auth::Keys;
use crate::config::{CommonArgs, ServerArgs};
use crate::error::ServerError;
use crate::AppState;

/// How long a stopping server waits for the log's tail to reach NATS.
const REPLICA_DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Serves until SIGTERM or Ctrl-C, then drains the requests in flight and
/// flushes the read models and the log.
pub async fn run(common: CommonArgs, server: ServerArgs) -> Result<(), ServerError> {
    let data_dir = DataDir::open(&common.data_dir)?;
    let (secret, source) = load_secret(
        common.jwt_secret.as_deref(),
        common.jwt_secret_file.as_deref(),
        &data_dir.root,
    )?;
    match &source {
        SecretSource::Generated(path) => tracing::warn!(
            path = %path.display(),
            "no JWT secret configured: generated one (mode 0600); `docketd token --data-dir {}` signs with it",
            data_dir.root.display()
        ),
        SecretSource::DataFolder(path) => {
            tracing::info!(path = %path.display(), "using the data folder's JWT secret")
        }
        SecretSource::File(path) => {
            tracing::info!(path = %path.display(), "using the JWT secret file")
        }
        SecretSource::Environment => tracing::info!("using the JWT secret from DOCKET_JWT_SECRET"),
    }
    let store = Store::open(&data_dir.log_dir())?;
    let metrics = crate::observability::metrics_handle();
    store.observe_commits(crate::observability::commit_histograms());
    let clock = if server.test_clock {
        tracing::warn!("running on the TEST CLOCK: POST /v1/admin/clock moves time");
        ServerClock::test_starting_now()
    } else {
        ServerClock::real()
    };
    let nats = match &server.nats {
        Some(url) => {
            tracing::info!(%url, "publishing the log to NATS JetStream; the read models read it from there");
            Some(JetStreamLog::connect(url).await?)
        }
        None => None,
    };
    let attachments = AttachmentStore::open(&data_dir.root, server.attachment_max_bytes)?;
    let mail =
        match (&server.smtp_url, &server.mail_from) {
            (Some(url), Some(from)) => Some(MailConfig::new(url, from, &server.public_url())?),
            (None, None) => None,
            _ => return Err(ServerError::App(AppError::MailConfig(
                "--smtp-url and --mail-from go together: give both to mail, neither for no mail"
                    .to_owned(),
            ))),
        };
    let notifier = match mail {
        Some(config) => {
            tracing::info!("mailing notifications through the SMTP server");
            Some(Notifier::start(store.clone(), &data_dir.root, config)?)
        }
        None => None,
    };
    // Attachments' bytes reach the object store before the entry naming
    // them reaches the stream.
    let copier: Arc<dyn BeforePublish> = Arc::new(AttachmentCopier::new(attachments.clone(), 1));
    let replicator = nats
        .clone()
        .map(|log| Replicator::start_with(store.clone(), log, Some(copier.clone())));
    let replica = replicator.as_ref().map(Replicator::replica);
    let views = Views::start(&data_dir, store.clone(), replica, clock.clone())?;
    let commands = Commands::new(store.clone(), clock);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = AppState::new(crate::Shared {
        stopping,
        keys: Keys::new(&secret),
        console: crate::console::Settings::new(&secret, &server.public_url()),
        reads: Reads::new(views.clone(), commands.clone()),
        attachments,
        commands,
        metrics,
        data_dir,
        replicated: replicator.as_ref().map(Replicator::watch_published),
    });
    let app = crate::routes::router(state.clone(), server.request_timeout());
    let listener =
        TcpListener::bind(server.listen)
            .await
            .map_err(|source| ServerError::Listen {
                address: server.listen,
                source,
            })?;
    let local = listener.local_addr().map_err(ServerError::Serve)?;
    tracing::info!(address = %local, data_dir = %state.data_dir.root.display(), "docketd listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop.send_replace(true);
        })
        .await
        .map_err(ServerError::Serve)?;
    tracing::info!("stopping: requests drained, closing the read models and the log");
    if let Some(replicator) = replicator {
        let head = store.head().position;
        if !replicator.wait_published(head, REPLICA_DRAIN_LIMIT).await {
            tracing::warn!(
                head,
                published = replicator.published(),
                "NATS did not take the log's tail before shutdown; the next start publishes it"
            );
        }
        replicator.stop().await;
    }
    if let Some(notifier) = notifier {
        notifier.stop().await;
    }
    views.stop().await;
    drop(state);
    if let Err(error) = store.close() {
        tracing::error!(%error, "closing the event log failed");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
    }
}
