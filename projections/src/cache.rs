//! A bounded write-back cache of decoded records.
//!
//! Between two commits every record an event touches stays in memory,
//! decoded, and is written once at the commit however many events touched
//! it. Clean records are kept across commits in two generations: a lookup
//! moves a record into the hot generation; when the hot one holds half the
//! capacity after a commit, it becomes the cold one and the old cold one is
//! dropped. So the cache holds at most `capacity` clean records plus the
//! records of the current batch, and recently used records survive.

use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table::{Entry, HashTable};

use crate::error::ProjectionError;

// foldhash, not std's SipHash: a rebuild looks a record up several times
// per event, so the hash is paid on the fold's hot path and SipHash's
// DoS resistance costs a large share of folding an event
// (`docs/benchmarks.md`, "Rebuild"). The keys come from the log (ticket
// ids, numbers, dates), and foldhash is still seeded per process.
type Hasher = foldhash::fast::RandomState;

// hashbrown's `HashTable`, not std's `HashMap`: a hit is one hash and one
// probe. With `HashMap` it was two (`contains_key`, then `get_mut`), three
// for `WriteBack::get_mut` (once more to mark the record dirty), because a borrow returned from one
// branch of a lookup cannot be followed by an insert in the other; and
// `entry` would clone every key (page keys and KPI day keys allocate).
type Table<K, V> = HashTable<(K, Slot<V>)>;

pub(crate) struct WriteBack<K, V> {
    hasher: Hasher,
    hot: Table<K, V>,
    cold: Table<K, V>,
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
        // moves every record again at each step (`docs/benchmarks.md`,
        // "Rebuild").
        WriteBack {
            hasher: Hasher::default(),
            hot: HashTable::with_capacity(generation_max),
            cold: HashTable::with_capacity(generation_max),
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
        let WriteBack {
            hasher,
            hot,
            cold,
            dirty,
            ..
        } = self;
        let slot = slot(hasher, hot, cold, key, load)?;
        if !slot.dirty {
            slot.dirty = true;
            dirty.push(key.clone());
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
        let hash = self.hasher.hash_one(key);
        self.hot
            .find_mut(hash, |(stored, _)| stored == key)
            .map(|(_, slot)| slot)
            .filter(|slot| slot.dirty)
            .map(|slot| &mut slot.value)
    }

    /// The commit is durable: everything is clean again; rotate if full.
    pub(crate) fn committed(&mut self) {
        for key in self.dirty.drain(..) {
            let hash = self.hasher.hash_one(&key);
            if let Some((_, slot)) = self.hot.find_mut(hash, |(stored, _)| *stored == key) {
                slot.dirty = false;
            }
        }
        if self.hot.len() >= self.generation_max {
            // The dropped generation's table becomes the new hot one:
            // growing a fresh table would rehash every record again on
            // every rotation, into new memory (`docs/benchmarks.md`,
            // "Rebuild").
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
        slot(&self.hasher, &mut self.hot, &mut self.cold, key, load)
    }
}

/// The key's slot in the hot generation: found there, or moved there from
/// the cold one, or loaded.
fn slot<'a, K: Hash + Eq + Clone, V>(
    hasher: &Hasher,
    hot: &'a mut Table<K, V>,
    cold: &mut Table<K, V>,
    key: &K,
    load: impl FnOnce() -> Result<Option<V>, ProjectionError>,
) -> Result<&'a mut Slot<V>, ProjectionError> {
    let hash = hasher.hash_one(key);
    let rehash = |(stored, _): &(K, Slot<V>)| hasher.hash_one(stored);
    match hot.entry(hash, |(stored, _)| stored == key, rehash) {
        Entry::Occupied(entry) => Ok(&mut entry.into_mut().1),
        Entry::Vacant(entry) => {
            let slot = match cold.find_entry(hash, |(stored, _)| stored == key) {
                Ok(found) => found.remove().0 .1,
                Err(_) => Slot {
                    value: load()?,
                    dirty: false,
                },
            };
            Ok(&mut entry.insert((key.clone(), slot)).into_mut().1)
        }
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
