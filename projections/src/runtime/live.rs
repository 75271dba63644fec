//! The live projection: a task that follows the feed from the served copy's
//! checkpoint on, forever, and the [`Runner`] handle that stops it or has it
//! adopt a rebuilt copy.
//!
//! The served copy has a single writer, this task: a rebuilt copy is handed
//! to it rather than swapped in from outside, so that it can bring the new
//! copy to exactly the position the served one is at before serving it.
//! After an error the task restarts from the stored checkpoint with backoff;
//! nothing applied is lost, nothing is applied twice.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::commit::{apply_blocking, InboxHistory, Instance};
use super::config::RunConfig;
use super::pipeline::Pipeline;
use super::{lock, Inner, Views};
use crate::error::ProjectionError;
use crate::feed::FeedSource;

/// The live projection, started by [`Views::start`].
pub struct Runner<S: FeedSource> {
    views: Views,
    source: Arc<S>,
    config: RunConfig,
    control: mpsc::Sender<Control>,
    task: JoinHandle<()>,
}

impl Views {
    /// Starts the live projection on the current tokio runtime: it follows
    /// `source` from the checkpoint on, forever, retrying after errors.
    pub fn start<S: FeedSource>(
        &self,
        source: S,
        config: RunConfig,
    ) -> Result<Runner<S>, ProjectionError> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::RunnerActive);
        }
        let source = Arc::new(source);
        let (control, control_rx) = mpsc::channel(1);
        let task = tokio::spawn(run_live(
            self.inner.clone(),
            source.clone(),
            control_rx,
            config,
        ));
        Ok(Runner {
            views: self.clone(),
            source,
            config,
            control,
            task,
        })
    }
}

impl<S: FeedSource> Runner<S> {
    /// Rebuilds the read models from position 1 into a fresh copy while the
    /// current one is served and kept current, then serves the new one.
    /// Resolves with the position at which it took over.
    pub async fn rebuild(&self) -> Result<u64, ProjectionError> {
        let applied = self.views.inner.applied.subscribe();
        let (instance, pipeline) = self
            .views
            .build_copy(&*self.source, self.config, |position| {
                position >= *applied.borrow()
            })
            .await?;
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Adopt(
                Box::new(Candidate { instance, pipeline }),
                reply,
            ))
            .await
            .map_err(|_| ProjectionError::Stopped)?;
        answer.await.map_err(|_| ProjectionError::Stopped)?
    }

    /// Stops after the commit in progress; everything applied is committed.
    pub async fn stop(self) -> Result<(), ProjectionError> {
        let (done, stopped) = oneshot::channel();
        if self.control.send(Control::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
        let _ = self.task.await;
        self.views.inner.running.store(false, Ordering::Release);
        self.views.inner.drop_all_retired();
        self.views.flush()
    }
}

enum Control {
    Stop(oneshot::Sender<()>),
    Adopt(
        Box<Candidate>,
        oneshot::Sender<Result<u64, ProjectionError>>,
    ),
}

/// A rebuilt copy and its feed, handed to the live runner to take over.
struct Candidate {
    instance: Instance,
    pipeline: Pipeline,
}

/// A live run that lasted this long (or applied anything) counts as the
/// projection working again: its failure is a new one.
const RAN_AGAIN_AFTER: Duration = Duration::from_secs(30);

async fn run_live<S: FeedSource>(
    inner: Arc<Inner>,
    source: Arc<S>,
    mut control: mpsc::Receiver<Control>,
    config: RunConfig,
) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(50);
    let mut backoff = FIRST_BACKOFF;
    // A failure that repeats (the replica's stream unreachable while NATS is
    // down, every few seconds) is logged once, then at debug until the
    // projection has run again: a later outage is logged anew.
    let mut last_logged: Option<String> = None;
    loop {
        let started = Instant::now();
        let applied_before = *inner.applied.borrow();
        let result = async {
            let served = inner.served();
            let instance = Instance::open(served.generation, served.tree)?;
            let pipeline = Pipeline::start(source.open(instance.position() + 1).await?, config);
            drive(&inner, instance, pipeline, &mut control, config).await
        }
        .await;
        match result {
            Ok(()) => return,
            Err(error) => {
                let message = error.to_string();
                if started.elapsed() >= RAN_AGAIN_AFTER || *inner.applied.borrow() > applied_before
                {
                    last_logged = None;
                    backoff = FIRST_BACKOFF;
                }
                if last_logged.as_deref() == Some(message.as_str()) {
                    tracing::debug!(%error, "projection failed again; restarting from its checkpoint");
                } else {
                    tracing::error!(%error, "projection failed; restarting from its checkpoint (a repeat of this error is logged at debug)");
                    last_logged = Some(message.clone());
                }
                *lock(&inner.last_error) = Some(message);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Applies the feed to the served copy until stopped; adopts rebuilt copies.
async fn drive(
    inner: &Inner,
    mut instance: Instance,
    mut pipeline: Pipeline,
    control: &mut mpsc::Receiver<Control>,
    config: RunConfig,
) -> Result<(), ProjectionError> {
    loop {
        tokio::select! {
            biased;
            message = control.recv() => match message {
                None => return Ok(()),
                Some(Control::Stop(done)) => {
                    let _ = done.send(());
                    return Ok(());
                }
                Some(Control::Adopt(candidate, reply)) => {
                    match adopt(inner, *candidate, instance.position(), config).await {
                        Ok((new_instance, new_pipeline)) => {
                            instance = new_instance;
                            pipeline = new_pipeline;
                            let _ = reply.send(Ok(instance.position()));
                        }
                        Err(error) => {
                            let _ = reply.send(Err(error));
                        }
                    }
                }
            },
            next = pipeline.next(config.commit_events_max, config.live_linger) => {
                let (events, at_head) = next?;
                // Paging cursors read the served copy at the head; behind
                // it, nobody pages the snapshots a catch-up passes through.
                let history = if at_head {
                    InboxHistory::Retain
                } else {
                    InboxHistory::Delete
                };
                instance = apply_blocking(instance, events, history).await?;
                inner.publish(&instance);
            }
        }
    }
}

/// Brings the rebuilt copy to exactly `position` (the served copy's, which
/// does not move meanwhile: this runs in its runner) and serves it.
async fn adopt(
    inner: &Inner,
    candidate: Candidate,
    position: u64,
    config: RunConfig,
) -> Result<(Instance, Pipeline), ProjectionError> {
    let Candidate {
        mut instance,
        mut pipeline,
    } = candidate;
    while instance.position() < position {
        let wanted = usize::try_from(position - instance.position()).unwrap_or(usize::MAX);
        let (events, _) = pipeline
            .next(wanted.min(config.commit_events_max), Duration::ZERO)
            .await?;
        instance = apply_blocking(instance, events, InboxHistory::Delete).await?;
    }
    inner.swap(&instance)?;
    Ok((instance, pipeline))
}
