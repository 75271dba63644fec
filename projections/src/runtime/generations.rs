//! Generations: each copy of the read models lives in a tree
//! `views@<generation>`, and the `catalog` tree names the one served.
//!
//! A rebuild fills a fresh generation from position 1 while the served one
//! goes on, then swaps: the catalog is updated and flushed before the new
//! copy is served, so a crash mid-rebuild leaves the catalog on the old
//! generation and the leftover tree is dropped at the next open. A replaced
//! generation stays readable for a grace period, because a query that
//! started before the swap may still be reading it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::checkpoint::{Checkpoint, READ_MODEL_FORMAT};
use super::commit::{fold_blocking, on_blocking_pool, Commits, Instance};
use super::config::RunConfig;
use super::pipeline::Pipeline;
use super::{lock, ClearOnDrop, Inner, Served, Views};
use crate::error::ProjectionError;
use crate::feed::FeedSource;

/// How long a replaced generation stays readable for in-flight queries.
const OLD_GENERATION_GRACE: Duration = Duration::from_secs(30);

/// The catalog's key naming the served generation.
const CATALOG_SERVED: &[u8] = b"served";
const TREE_PREFIX: &str = "views@";

impl Views {
    /// Rebuilds the read models from position 1 into a fresh generation up
    /// to the source's head, then serves it; without a live runner (the
    /// replay tool's `rebuild`). Calls `progress(position, target)`.
    pub async fn rebuild_offline<S: FeedSource>(
        &self,
        source: &S,
        config: RunConfig,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64, ProjectionError> {
        let _running = self.exclusive()?;
        let target = source.head().await?;
        let (instance, _pipeline) = self
            .build_copy(source, config, |position| {
                progress(position, target);
                position >= target
            })
            .await?;
        self.inner.swap(&instance)?;
        Ok(instance.position())
    }

    /// Fills a fresh generation from position 1 until `done(position)`.
    pub(super) async fn build_copy<S: FeedSource>(
        &self,
        source: &S,
        config: RunConfig,
        mut done: impl FnMut(u64) -> bool + Send,
    ) -> Result<(Instance, Pipeline), ProjectionError> {
        if self.inner.rebuilding.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::RebuildRunning);
        }
        let _rebuilding = ClearOnDrop(&self.inner.rebuilding);
        let generation = next_generation(&self.inner.db, self.served().generation);
        let name = tree_name(generation);
        let built = async {
            let tree = self.inner.db.open_tree(&name)?;
            tree.clear()?;
            let mut instance = Instance::open(generation, tree)?;
            let mut pipeline = Pipeline::start(source.open(1).await?, config);
            self.inner.rebuild_position.store(0, Ordering::Release);
            let bound = config.build_commit;
            while !done(instance.position()) {
                let (events, _) = pipeline.next(bound.events_max, Duration::ZERO).await?;
                instance =
                    fold_blocking(instance, events, bound, u64::MAX, Commits::Background).await?;
                self.inner
                    .rebuild_position
                    .store(instance.position(), Ordering::Release);
            }
            // Commits what is folded and waits until it is written: plain
            // inserts like the commits before, not one sled batch, because
            // sled holds every node a batch replaces until the batch ends
            // and the resident set would jump at the very end of a big
            // rebuild (`docs/benchmarks.md`, "Read models' memory against
            // closed tickets"). Nothing reads the copy before `swap`
            // flushes it.
            let instance = on_blocking_pool(instance, move |instance| {
                instance.commit_last(bound.chunk_tickets)
            })
            .await?;
            Ok((instance, pipeline))
        }
        .await;
        if built.is_err() {
            // Not served, never will be: give the space back now.
            let _ = self.inner.db.drop_tree(name.as_bytes());
        }
        built
    }
}

impl Inner {
    /// Serves `instance`'s generation from now on.
    pub(super) fn swap(&self, instance: &Instance) -> Result<(), ProjectionError> {
        self.catalog
            .insert(CATALOG_SERVED, &instance.generation.to_be_bytes())?;
        self.db.flush()?;
        let old = {
            let mut served = self
                .served
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::replace(
                &mut *served,
                Served {
                    generation: instance.generation,
                    tree: instance.tree.clone(),
                },
            )
        };
        self.publish(instance);
        if old.generation != instance.generation {
            lock(&self.retired).push((old.generation, Instant::now()));
        }
        Ok(())
    }

    /// Drops the replaced generations whose grace period is over: no
    /// in-flight read can use them any more. A crash before leaves them to
    /// the next open.
    pub(super) fn drop_retired_past_grace(&self) {
        self.drop_retired_where(|since| since.elapsed() >= OLD_GENERATION_GRACE);
    }

    /// Drops every replaced generation now: for when nothing reads any more.
    pub(super) fn drop_all_retired(&self) {
        self.drop_retired_where(|_| true);
    }

    fn drop_retired_where(&self, due: impl Fn(Instant) -> bool) {
        let mut retired = lock(&self.retired);
        retired.retain(|(generation, since)| {
            if !due(*since) {
                return true;
            }
            if let Err(error) = self.db.drop_tree(tree_name(*generation).as_bytes()) {
                tracing::warn!(%error, "could not drop a replaced read-model generation");
            }
            false
        });
    }
}

/// The generation to serve in `db`: the catalog's, if its tree is of
/// [`READ_MODEL_FORMAT`]; else a new, empty one, recorded in the catalog
/// (flushed). Drops every other generation's tree: leftovers of a rebuild
/// that did not finish, or of a swap whose grace period a crash cut short.
pub(super) fn open_served(db: &sled::Db, catalog: &sled::Tree) -> Result<u64, ProjectionError> {
    let mut generation = match catalog.get(CATALOG_SERVED)? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .as_ref()
                .try_into()
                .map_err(|_| ProjectionError::corrupt("catalog", "not a generation"))?,
        ),
        None => 0,
    };
    let readable = generation > 0
        && match Checkpoint::read(&db.open_tree(tree_name(generation))?) {
            Ok(checkpoint) => checkpoint.format == READ_MODEL_FORMAT,
            Err(ProjectionError::Corrupt { .. }) => false,
            Err(error) => return Err(error),
        };
    if !readable {
        // New, or written by another format: start an empty generation.
        generation = next_generation(db, generation);
        catalog.insert(CATALOG_SERVED, &generation.to_be_bytes())?;
        db.flush()?;
    }
    for name in db.tree_names() {
        let stale = std::str::from_utf8(&name)
            .ok()
            .and_then(|name| name.strip_prefix(TREE_PREFIX))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n != generation);
        if stale {
            db.drop_tree(&name)?;
        }
    }
    Ok(generation)
}

/// The name of `generation`'s tree.
pub(super) fn tree_name(generation: u64) -> String {
    format!("{TREE_PREFIX}{generation}")
}

/// One more than any generation in the catalog or on disk.
fn next_generation(db: &sled::Db, served: u64) -> u64 {
    db.tree_names()
        .iter()
        .filter_map(|name| {
            std::str::from_utf8(name)
                .ok()?
                .strip_prefix(TREE_PREFIX)?
                .parse::<u64>()
                .ok()
        })
        .fold(served, u64::max)
        + 1
}
