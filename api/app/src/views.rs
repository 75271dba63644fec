//! The read side as the server runs it: the read models at
//! `<data-dir>/views`, their live projection fed by the store's
//! subscription (or, with `--nats`, by the log's stream on JetStream), and
//! the SLA breach timer driven by the server's clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket_eventstore::jetstream::{JetStreamLog, LogReplica};
use docket_eventstore::Store;
use docket_projections::{ProjectionError, RunConfig, Runner};
use tokio::task::JoinHandle;

use crate::clock::ServerClock;
use crate::datadir::DataDir;
use crate::error::AppError;

/// How often the breach timer looks at the real clock (the test clock wakes
/// it on every set).
pub const BREACH_TICK: Duration = Duration::from_secs(1);

/// The read models as served, with the tasks that keep them current.
#[derive(Clone)]
pub struct Views {
    /// The read models themselves.
    pub models: docket_projections::Views,
    store: Store,
    tasks: Arc<Mutex<Tasks>>,
}

#[derive(Default)]
struct Tasks {
    runner: Option<LiveRunner>,
    breach_timer: Option<JoinHandle<()>>,
}

/// The live projection, by where it reads the log.
enum LiveRunner {
    Log(Runner<Store>),
    JetStream(Runner<LogReplica>),
}

impl LiveRunner {
    async fn stop(self) -> Result<(), ProjectionError> {
        match self {
            LiveRunner::Log(runner) => runner.stop().await,
            LiveRunner::JetStream(runner) => runner.stop().await,
        }
    }
}

impl Views {
    /// Opens the read models and starts the projection (fed by `replica`
    /// if given, else by `store`) and the breach timer on the current tokio
    /// runtime.
    pub fn start(
        data_dir: &DataDir,
        store: Store,
        replica: Option<LogReplica>,
        clock: ServerClock,
    ) -> Result<Views, ProjectionError> {
        let models = docket_projections::Views::open(&data_dir.views_dir())?;
        let nats = replica.as_ref().map(|replica| replica.log().clone());
        let runner = match replica {
            Some(replica) => LiveRunner::JetStream(models.start(replica, RunConfig::SERVING)?),
            None => LiveRunner::Log(models.start(store.clone(), RunConfig::SERVING)?),
        };
        let breach_timer = tokio::spawn(breach_timer(models.clone(), clock, nats));
        Ok(Views {
            models,
            store,
            tasks: Arc::new(Mutex::new(Tasks {
                runner: Some(runner),
                breach_timer: Some(breach_timer),
            })),
        })
    }

    /// Stops the projection after its current commit, and the timer.
    pub async fn stop(&self) {
        let (runner, timer) = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            (tasks.runner.take(), tasks.breach_timer.take())
        };
        if let Some(timer) = timer {
            timer.abort();
        }
        if let Some(runner) = runner {
            if let Err(error) = runner.stop().await {
                tracing::error!(%error, "stopping the projection failed");
            }
        }
        if let Err(error) = self.models.flush() {
            tracing::error!(%error, "flushing the read models failed");
        }
    }

    /// The log the read models follow.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits until the read models have applied `position` (at most
    /// `limit`), for `X-Min-Position`; `Lagging` after that.
    pub async fn wait_for(&self, position: u64, limit: Duration) -> Result<(), AppError> {
        self.models
            .wait_for_position(position, limit)
            .await
            .map_err(|_| lagging(position, limit))
    }

    /// The same for answers folded from the log itself (histories).
    pub async fn wait_for_log(&self, position: u64, limit: Duration) -> Result<(), AppError> {
        let mut head = self.store.watch_head();
        let reached = tokio::time::timeout(limit, head.wait_for(|head| *head >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(lagging(position, limit)),
        }
    }

    /// The last log position the read models have applied.
    pub fn applied_position(&self) -> u64 {
        self.models.applied_position()
    }

    /// How far the read models are behind the log, in positions.
    pub fn lag(&self) -> u64 {
        self.store
            .head()
            .position
            .saturating_sub(self.models.applied_position())
    }
}

fn lagging(position: u64, limit: Duration) -> AppError {
    AppError::Lagging {
        position,
        waited_s: limit.as_secs(),
    }
}

/// Marks breaches when they happen, on the server's clock, and reports
/// them: in the log, and with `--nats` on `docket.sla.breached.<org>`.
async fn breach_timer(
    models: docket_projections::Views,
    clock: ServerClock,
    nats: Option<JetStreamLog>,
) {
    let mut test_clock = clock.changes();
    loop {
        match &mut test_clock {
            Some(changes) => {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(BREACH_TICK) => {}
                }
            }
            None => tokio::time::sleep(BREACH_TICK).await,
        }
        if let Err(error) = report_breaches(&models, clock.now(), nats.as_ref()).await {
            tracing::warn!(%error, "reporting SLA breaches failed; retrying on the next tick");
        }
    }
}

/// Reports the breaches not reported yet and then records them as
/// reported, so a failure or a crash in between reports them again (at
/// least once; each notice carries an id that names the breach, and the
/// notice stream drops a repeat within its duplicate window).
async fn report_breaches(
    models: &docket_projections::Views,
    now: time::OffsetDateTime,
    nats: Option<&JetStreamLog>,
) -> Result<(), AppError> {
    let failed = |error: &dyn std::fmt::Display| AppError::BreachReport(error.to_string());
    let report = models.breaches_to_report(now).map_err(|e| failed(&e))?;
    if let Some(log) = nats {
        let mut messages = Vec::with_capacity(report.notices.len());
        for notice in &report.notices {
            let payload = serde_json::to_vec(notice).map_err(|e| failed(&e))?;
            messages.push((
                format!("docket.sla.breached.{}", notice.org),
                notice.id(),
                payload,
            ));
        }
        log.publish_notices(messages)
            .await
            .map_err(|e| failed(&e))?;
    }
    let notices = report.notices.clone();
    models.record_reported(report).map_err(|e| failed(&e))?;
    for notice in notices {
        metrics::counter!("docket_sla_breaches_total").increment(1);
        tracing::info!(
            ticket_id = %notice.ticket_id,
            number = %notice.number,
            org = %notice.org,
            "SLA clock breached"
        );
    }
    Ok(())
}
