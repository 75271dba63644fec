//! One copy of the read models as the applier holds it ([`Instance`]):
//! events folded into cached records, then committed with the checkpoint.
//!
//! A copy commits in one of two ways ([`Commits`]). The served copy writes
//! each commit as one atomic sled batch, so a crash leaves it at a
//! checkpoint and never half-way. A copy being built is thrown away whole if
//! the process dies before it is served, so it needs no atomicity: its
//! commits go to a writer thread that inserts them one by one, in chunks,
//! while the applier folds the next events. Folding and committing are CPU
//! and sled work, so they run on tokio's blocking pool, never on a runtime
//! worker.

use super::checkpoint::Checkpoint;
use super::config::CommitBound;
use super::pipeline::Batches;
use crate::error::ProjectionError;
use crate::keys::CHECKPOINT_KEY;
pub(crate) use crate::model::InboxHistory;
use crate::model::{Incoming, ReadModels};
use crate::store::{self, Writes};

/// Chunks of a background commit prepared ahead of its writer.
const WRITE_CHUNKS_AHEAD: usize = 4;

/// A commit of at least this many events returns freed heap to the OS.
const RELEASE_MEMORY_AFTER_EVENTS: u64 = 10_000;

/// How a copy commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commits {
    /// One atomic batch each: the copy is served.
    Atomic,
    /// Written in the background while folding on: the copy is being built.
    Background,
}

/// One generation's tree, its projection state and its checkpoint.
pub(super) struct Instance {
    pub(super) generation: u64,
    pub(super) tree: sled::Tree,
    pub(super) model: ReadModels,
    /// What has been folded: ahead of the stored checkpoint between a
    /// [`Instance::fold`] and the next [`Instance::commit`].
    pub(super) checkpoint: Checkpoint,
    /// The position of the stored checkpoint (or, while `writing`, of the
    /// checkpoint being written).
    committed_position: u64,
    /// The writes of the last background commit, in flight.
    writing: Option<std::thread::JoinHandle<Result<(), ProjectionError>>>,
}

impl Instance {
    /// The copy in `tree`, at its stored checkpoint.
    pub(super) fn open(generation: u64, tree: sled::Tree) -> Result<Instance, ProjectionError> {
        let checkpoint = Checkpoint::read(&tree)?;
        Ok(Instance {
            generation,
            tree,
            model: ReadModels::new(),
            committed_position: checkpoint.position,
            checkpoint,
            writing: None,
        })
    }

    /// The last position folded (committed or not).
    pub(super) fn position(&self) -> u64 {
        self.checkpoint.position
    }

    /// Applies the events after the checkpoint and commits them with it.
    /// On error the instance must be dropped: its cache is ahead of sled.
    pub(super) fn apply(
        &mut self,
        events: &[Vec<Incoming>],
        history: InboxHistory,
    ) -> Result<(), ProjectionError> {
        self.fold(events)?;
        self.commit(history)
    }

    /// Applies the events after the checkpoint to the cached records
    /// without writing them: `position()` moves, the stored checkpoint does
    /// not until [`Instance::commit`]. On error the instance must be
    /// dropped: its cache is ahead of sled.
    pub(super) fn fold(&mut self, events: &[Vec<Incoming>]) -> Result<(), ProjectionError> {
        for incoming in events.iter().flatten() {
            if incoming.position <= self.checkpoint.position {
                continue;
            }
            if incoming.position != self.checkpoint.position + 1 {
                return Err(ProjectionError::Gap {
                    expected: self.checkpoint.position + 1,
                    got: incoming.position,
                });
            }
            let applied = match &incoming.event {
                Some(event) => self.model.apply(&self.tree, incoming, event)?,
                None => false,
            };
            if applied {
                self.checkpoint.events_applied += 1;
            } else {
                self.checkpoint.events_skipped += 1;
            }
            self.checkpoint.position = incoming.position;
        }
        Ok(())
    }

    /// Events folded since the last commit.
    pub(super) fn uncommitted(&self) -> u64 {
        self.checkpoint.position - self.committed_position
    }

    /// Writes everything folded since the last commit, and the checkpoint,
    /// as one atomic batch.
    pub(super) fn commit(&mut self, history: InboxHistory) -> Result<(), ProjectionError> {
        self.finish_writing()?;
        let Some((writes, folded)) = self.writes(history)? else {
            return Ok(());
        };
        writes.apply_atomically(&self.tree)?;
        self.committed(folded);
        Ok(())
    }

    /// For a copy being built (not served, dropped if the process dies
    /// before it is): hands everything folded since the last commit, and
    /// the checkpoint, to a thread that writes them one by one while the
    /// next events are folded. The cached records keep what the writes
    /// hold until the next commit, which waits for them first.
    ///
    /// The writer starts on the first chunk of ticket records while the
    /// rest of the commit is prepared: preparing a commit is work for one
    /// core (the reader soon has its read-ahead full), so the other one
    /// writes meanwhile.
    pub(super) fn commit_in_background(
        &mut self,
        chunk_tickets: usize,
    ) -> Result<(), ProjectionError> {
        self.finish_writing()?;
        let folded = self.uncommitted();
        if folded == 0 {
            return Ok(());
        }
        let (chunks, received) = std::sync::mpsc::sync_channel::<Writes>(WRITE_CHUNKS_AHEAD);
        let tree = self.tree.clone();
        self.writing = Some(std::thread::spawn(move || {
            for writes in received {
                writes.apply_one_by_one(&tree)?;
            }
            Ok(())
        }));
        let mut hand_over = |writes: Writes| {
            chunks
                .send(writes)
                .map_err(|_| ProjectionError::Feed("the read-model writer stopped".to_owned()))
        };
        let prepared = self
            .model
            .commit(
                &self.tree,
                &mut self.checkpoint,
                InboxHistory::Delete,
                Some((chunk_tickets, &mut hand_over)),
            )
            .and_then(|mut writes| {
                writes.insert(
                    CHECKPOINT_KEY,
                    store::encode("checkpoint", &self.checkpoint)?,
                );
                hand_over(writes)
            });
        drop(chunks);
        if let Err(error) = prepared {
            // The writer's own error, if it stopped on one, says more.
            self.finish_writing()?;
            return Err(error);
        }
        self.committed(folded);
        Ok(())
    }

    /// The last commit of a copy being built: a background commit, waited for.
    pub(super) fn commit_last(&mut self, chunk_tickets: usize) -> Result<(), ProjectionError> {
        self.commit_in_background(chunk_tickets)?;
        self.finish_writing()
    }

    /// Waits for the writes of the last background commit.
    fn finish_writing(&mut self) -> Result<(), ProjectionError> {
        match self.writing.take() {
            None => Ok(()),
            Some(writing) => writing
                .join()
                .map_err(|_| ProjectionError::Feed("the read-model writer panicked".to_owned()))?,
        }
    }

    /// The writes of everything folded since the last commit, with the
    /// checkpoint, and how many events they cover; `None` if none.
    fn writes(&mut self, history: InboxHistory) -> Result<Option<(Writes, u64)>, ProjectionError> {
        let folded = self.uncommitted();
        if folded == 0 {
            return Ok(None);
        }
        let mut writes = self
            .model
            .commit(&self.tree, &mut self.checkpoint, history, None)?;
        writes.insert(
            CHECKPOINT_KEY,
            store::encode("checkpoint", &self.checkpoint)?,
        );
        Ok(Some((writes, folded)))
    }

    fn committed(&mut self, folded: u64) {
        self.model.committed();
        self.committed_position = self.checkpoint.position;
        if folded >= RELEASE_MEMORY_AFTER_EVENTS {
            release_freed_memory();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // A dropped copy's writer must not outlive it (its tree may be
        // dropped next); its result no longer matters.
        let _ = self.finish_writing();
    }
}

/// Runs `work` on `instance` on the blocking pool (folding and committing
/// are CPU and sled work, not for a runtime worker).
pub(super) async fn on_blocking_pool(
    mut instance: Instance,
    work: impl FnOnce(&mut Instance) -> Result<(), ProjectionError> + Send + 'static,
) -> Result<Instance, ProjectionError> {
    tokio::task::spawn_blocking(move || {
        work(&mut instance)?;
        Ok(instance)
    })
    .await
    .map_err(|error| ProjectionError::Feed(format!("the applier task failed: {error}")))?
}

/// Folds `events` and commits them atomically, on the blocking pool.
pub(super) async fn apply_blocking(
    instance: Instance,
    events: Batches,
    history: InboxHistory,
) -> Result<Instance, ProjectionError> {
    on_blocking_pool(instance, move |instance| instance.apply(&events, history)).await
}

/// Folds `events` and commits once `bound` is reached since the last
/// commit, or the copy has reached `commit_at` (or beyond): a ticket's
/// events then share one write of its record even when the feed hands
/// them over in small batches (which it does whenever the reader is ahead
/// of the applier). Without retention: for copies that are not served
/// yet, or tools.
pub(super) async fn fold_blocking(
    instance: Instance,
    events: Batches,
    bound: CommitBound,
    commit_at: u64,
    commits: Commits,
) -> Result<Instance, ProjectionError> {
    on_blocking_pool(instance, move |instance| {
        instance.fold(&events)?;
        let due = instance.uncommitted() >= bound.events_max as u64
            || instance.model.changed_tickets() >= bound.tickets_max
            || instance.position() >= commit_at;
        if !due {
            return Ok(());
        }
        match commits {
            Commits::Atomic => instance.commit(InboxHistory::Delete),
            Commits::Background => instance.commit_in_background(bound.chunk_tickets),
        }
    })
    .await
}

/// Gives the heap memory freed by a big commit back to the OS.
///
/// sled frees the pages it evicts through epoch-based reclamation, and
/// glibc's malloc keeps freed memory in its arenas: without a trim the
/// resident set grows with the bytes written although sled's cache and
/// ours are bounded (`docs/benchmarks.md`, "Read models' memory against
/// closed tickets"). `malloc_trim` after each big commit keeps the
/// resident set near what is live. Other allocators need nothing.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it
    // takes the allocator's own locks and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
