//! A bounded write-back cache of decoded records.
//!
//! Between two commits every record an event touches stays in memory,
//! decoded, and is written once at the commit however many events touched
//! it. Clean records are kept across commits in two generations: a lookup
//! moves a record into the hot generation; when the hot one holds half the
//! capacity after a commit, it becomes the cold one and the old cold one is
//! dropped. So the cache holds at most `capacity` clean records plus the
//! records of the current batch, and recently used records survive.

use std::collections::HashMap;
use std::hash::Hash;

use crate::error::ProjectionError;

// foldhash, not std's SipHash: a rebuild looks a record up several times
// per event, and hashing its key with SipHash was ~20% of folding an event
// (`docs/benchmarks.md`). The keys come from the log (ticket ids, numbers,
// dates), and foldhash is still seeded per process.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) struct WriteBack<K, V> {
    hot: Map<K, Slot<V>>,
    cold: Map<K, Slot<V>>,
    dirty: Vec<K>,
    generation_max: usize,
}

struct Slot<V> {
    /// `None`: the record does not exist (or is to be deleted).
    value: Option<V>,
    dirty: bool,
}

impl<K: Hash + Eq + Clone, V> WriteBack<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        let generation_max = (capacity / 2).max(1);
        // Sized for a generation up front: a table growing by doubling
        // moved every record again at each step (~2% of a rebuild).
        let table = || Map::with_capacity_and_hasher(generation_max, Default::default());
        WriteBack {
            hot: table(),
            cold: table(),
            dirty: Vec::new(),
            generation_max,
        }
    }

    /// The record, loaded with `load` on a miss; not marked dirty.
    pub(crate) fn get(
        &mut self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, ProjectionError>,
    ) -> Result<Option<&V>, ProjectionError> {
        Ok(self.slot(key, load)?.value.as_ref())
    }

    /// The record for changing, loaded with `load` on a miss, and marked
    /// dirty: it is written (or, if left `None`, deleted) at the next commit.
    pub(crate) fn get_mut(
        &mut self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, ProjectionError>,
    ) -> Result<&mut Option<V>, ProjectionError> {
        self.slot(key, load)?;
        let slot = self
            .hot
            .get_mut(key)
            .expect("slot() leaves the key in the hot generation");
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push(key.clone());
        }
        Ok(&mut slot.value)
    }

    /// The keys changed since the last commit, leaving them marked until
    /// [`WriteBack::committed`].
    pub(crate) fn dirty_keys(&self) -> &[K] {
        &self.dirty
    }

    /// A record changed since the last commit (for writing it out).
    pub(crate) fn dirty_mut(&mut self, key: &K) -> Option<&mut Option<V>> {
        self.hot
            .get_mut(key)
            .filter(|slot| slot.dirty)
            .map(|slot| &mut slot.value)
    }

    /// The commit is durable: everything is clean again; rotate if full.
    pub(crate) fn committed(&mut self) {
        for key in self.dirty.drain(..) {
            if let Some(slot) = self.hot.get_mut(&key) {
                slot.dirty = false;
            }
        }
        if self.hot.len() >= self.generation_max {
            // The dropped generation's table becomes the new hot one:
            // growing a fresh table rehashed every record again on every
            // rotation, into new memory (~2% of a rebuild).
            std::mem::swap(&mut self.hot, &mut self.cold);
            self.hot.clear();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.hot.len() + self.cold.len()
    }

    fn slot(
        &mut self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, ProjectionError>,
    ) -> Result<&mut Slot<V>, ProjectionError> {
        if !self.hot.contains_key(key) {
            let slot = match self.cold.remove(key) {
                Some(slot) => slot,
                None => Slot {
                    value: load()?,
                    dirty: false,
                },
            };
            self.hot.insert(key.clone(), slot);
        }
        Ok(self
            .hot
            .get_mut(key)
            .expect("the key was just inserted into the hot generation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_loaded_once_and_written_once_per_commit() {
        let mut cache: WriteBack<u32, String> = WriteBack::new(4);
        let mut loads = 0;
        for _ in 0..3 {
            let value = cache
                .get_mut(&1, || {
                    loads += 1;
                    Ok(Some("a".to_owned()))
                })
                .expect("no error");
            if let Some(value) = value {
                value.push('b');
            }
        }
        assert_eq!(loads, 1);
        assert_eq!(cache.dirty_keys(), &[1]);
        assert_eq!(cache.dirty_mut(&1).cloned(), Some(Some("abbb".to_owned())));
        cache.committed();
        assert!(cache.dirty_keys().is_empty());
        assert!(cache.dirty_mut(&1).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let mut cache: WriteBack<u32, u32> = WriteBack::new(10);
        for key in 0..1_000 {
            cache.get_mut(&key, || Ok(Some(key))).expect("no error");
            cache.committed();
            assert!(cache.len() <= 10, "{} records cached", cache.len());
        }
        // A recent record is still there.
        let mut loaded = false;
        cache
            .get(&999, || {
                loaded = true;
                Ok(None)
            })
            .expect("no error");
        assert!(!loaded);
    }
}
