//! Sorted index spaces stored as pages: up to [`PAGE_ENTRIES_MAX`] entries
//! per sled value, under the key `space | the page's lower bound`.
//!
//! Why: sled 0.34 costs about the same per write whatever the value size up
//! to a few KiB (it clones the leaf it writes into), so writes, not bytes,
//! are the budget. Index entries change in time order (a ticket updated,
//! answered, closed now sorts near the other tickets of now), so a commit's
//! entries fall into a few pages of each space: one write each, instead of
//! one per entry.
//!
//! A page holds the entries whose suffix is at or above its lower bound and
//! below the next page's. The first page of a space has the empty lower
//! bound. A page that grows past the maximum splits in two; an empty page
//! is dropped. Pages are cached decoded and written back at the commit.
//! Which pages exist is kept in memory per space (the page directory): read
//! from sled once per space, then kept in step by this struct, the only
//! writer of page keys. Finding an entry's page is then a `BTreeSet`
//! lookup; a sled reverse range scan per lookup clones leaf nodes, on
//! every command's path (`docs/benchmarks.md`, "HTTP commands (docketd)").

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use crate::cache::WriteBack;
use crate::error::ProjectionError;
use crate::keys;
use crate::store;

/// Entries per page at most (a page splits in two above it).
pub(crate) const PAGE_ENTRIES_MAX: usize = 128;

/// Pages kept decoded between commits.
const PAGE_CACHE_MAX: usize = 2_048;

/// An entry: its suffix (the key after the space) and its value.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// A page's entries as stored: postcard's `Vec<(Vec<u8>, Vec<u8>)>`, each
/// part written and read as a byte string. The bytes are the same as
/// serde's default for `Vec<u8>` (a length, then the bytes), but serde
/// handles that default one call per byte, on every page a commit writes
/// (`docs/benchmarks.md`, "Rebuild").
pub(crate) fn encode_entries(entries: &[Entry]) -> Result<sled::IVec, ProjectionError> {
    struct Stored<'a>(&'a [Entry]);
    impl serde::Serialize for Stored<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(|(suffix, value)| {
                (
                    serde_bytes::Bytes::new(suffix),
                    serde_bytes::Bytes::new(value),
                )
            }))
        }
    }
    store::encode_value("index page", &Stored(entries))
}

/// The entries of a stored page (see [`encode_entries`]).
pub(crate) fn decode_entries(bytes: &[u8]) -> Result<Vec<Entry>, ProjectionError> {
    let stored: Vec<(serde_bytes::ByteBuf, serde_bytes::ByteBuf)> =
        store::decode("index page", bytes)?;
    Ok(stored
        .into_iter()
        .map(|(suffix, value)| (suffix.into_vec(), value.into_vec()))
        .collect())
}

/// A page in memory: its entries in suffix order (what is stored), and
/// beside them the first 16 bytes of each suffix as one number. A search
/// compares those numbers, held together in one allocation, and reads a
/// suffix itself only among entries whose first 16 bytes tie; comparing
/// the suffixes directly would follow a pointer per probe into cold memory
/// (`docs/benchmarks.md`, "Rebuild").
struct Page {
    prefixes: Vec<u128>,
    entries: Vec<Entry>,
}

/// The first 16 bytes of `suffix`, zero-padded, as a big-endian number:
/// `prefix_of(a) < prefix_of(b)` implies `a < b`, so only equal prefixes
/// need the full comparison (a zero pad sorts a shorter suffix first,
/// as the byte order does).
fn prefix_of(suffix: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let len = suffix.len().min(16);
    bytes[..len].copy_from_slice(&suffix[..len]);
    u128::from_be_bytes(bytes)
}

impl Page {
    fn new(entries: Vec<Entry>) -> Page {
        let prefixes = entries
            .iter()
            .map(|(suffix, _)| prefix_of(suffix))
            .collect();
        Page { prefixes, entries }
    }

    /// As `binary_search` on the entries by suffix.
    fn search(&self, suffix: &[u8]) -> Result<usize, usize> {
        let prefix = prefix_of(suffix);
        let start = self.prefixes.partition_point(|p| *p < prefix);
        let tied = self.prefixes[start..].partition_point(|p| *p == prefix);
        self.entries[start..start + tied]
            .binary_search_by(|(s, _)| s.as_slice().cmp(suffix))
            .map(|i| start + i)
            .map_err(|i| start + i)
    }

    fn insert(&mut self, index: usize, suffix: Vec<u8>, value: Vec<u8>) {
        self.prefixes.insert(index, prefix_of(&suffix));
        self.entries.insert(index, (suffix, value));
    }

    fn remove(&mut self, index: usize) {
        self.prefixes.remove(index);
        self.entries.remove(index);
    }

    fn split_off(&mut self, at: usize) -> Page {
        Page {
            prefixes: self.prefixes.split_off(at),
            entries: self.entries.split_off(at),
        }
    }
}

pub(crate) struct Pages {
    cache: WriteBack<Vec<u8>, Page>,
    /// Per space read so far, the lower bounds of its pages (their keys
    /// without the space) as of the last change:
    /// committed, plus created, minus dropped since the last commit. A
    /// failed commit discards the whole `Pages` (the runner stops), so it
    /// never disagrees with sled for long.
    directory: HashMap<Vec<u8>, BTreeSet<Vec<u8>>>,
}

impl Pages {
    pub(crate) fn new() -> Pages {
        Pages {
            cache: WriteBack::new(PAGE_CACHE_MAX),
            directory: HashMap::new(),
        }
    }

    /// Sets the entry `suffix` of `space` to `value`.
    pub(crate) fn insert(
        &mut self,
        tree: &sled::Tree,
        space: &[u8],
        suffix: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), ProjectionError> {
        let key = match self.page_of(tree, space, &suffix)? {
            Some(key) => key,
            None => {
                let key = space.to_vec();
                self.created(space, &key);
                key
            }
        };
        let page = self
            .cache
            .get_mut(&key, || load(tree, &key))?
            .get_or_insert_with(|| Page::new(Vec::new()));
        match page.search(&suffix) {
            Ok(index) => page.entries[index].1 = value,
            Err(index) => page.insert(index, suffix, value),
        }
        if page.entries.len() > PAGE_ENTRIES_MAX {
            let right = page.split_off(page.entries.len() / 2);
            let mut right_key = space.to_vec();
            right_key.extend_from_slice(&right.entries[0].0);
            self.created(space, &right_key);
            *self.cache.get_mut(&right_key, || Ok(None))? = Some(right);
        }
        Ok(())
    }

    /// Removes the entry `suffix` of `space`, if there.
    pub(crate) fn remove(
        &mut self,
        tree: &sled::Tree,
        space: &[u8],
        suffix: &[u8],
    ) -> Result<(), ProjectionError> {
        let Some(key) = self.page_of(tree, space, suffix)? else {
            return Ok(());
        };
        let slot = self.cache.get_mut(&key, || load(tree, &key))?;
        let Some(page) = slot else {
            return Ok(());
        };
        if let Ok(index) = page.search(suffix) {
            page.remove(index);
        }
        if page.entries.is_empty() {
            *slot = None;
            if let Some(bounds) = self.directory.get_mut(space) {
                bounds.remove(&key[space.len()..]);
            }
        }
        Ok(())
    }

    /// Changes the value of the entry `suffix` of `space`, if there.
    pub(crate) fn update(
        &mut self,
        tree: &sled::Tree,
        space: &[u8],
        suffix: &[u8],
        change: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), ProjectionError> {
        let Some(key) = self.page_of(tree, space, suffix)? else {
            return Ok(());
        };
        if let Some(page) = self.cache.get_mut(&key, || load(tree, &key))? {
            if let Ok(index) = page.search(suffix) {
                change(&mut page.entries[index].1);
            }
        }
        Ok(())
    }

    /// Writes the pages changed since the last commit into `batch`.
    pub(crate) fn write(&mut self, batch: &mut store::Writes) -> Result<(), ProjectionError> {
        for key in self.cache.dirty_keys().to_vec() {
            match self.cache.dirty_mut(&key) {
                Some(Some(page)) => batch.insert(key, encode_entries(&page.entries)?),
                Some(None) => batch.remove(key),
                None => {}
            }
        }
        Ok(())
    }

    pub(crate) fn committed(&mut self) {
        self.cache.committed();
    }

    /// `key` (a page of `space`, whose directory is loaded) is in use.
    fn created(&mut self, space: &[u8], key: &[u8]) {
        if let Some(bounds) = self.directory.get_mut(space) {
            bounds.insert(key[space.len()..].to_vec());
        }
    }

    /// The key of the page `suffix` belongs in: the greatest page key of
    /// the space at or below `space | suffix`.
    fn page_of(
        &mut self,
        tree: &sled::Tree,
        space: &[u8],
        suffix: &[u8],
    ) -> Result<Option<Vec<u8>>, ProjectionError> {
        let bounds = match self.directory.get(space) {
            Some(bounds) => bounds,
            None => {
                let mut bounds = BTreeSet::new();
                for entry in tree.scan_prefix(space) {
                    let (key, _) = entry?;
                    bounds.insert(key[space.len()..].to_vec());
                }
                self.directory.entry(space.to_vec()).or_insert(bounds)
            }
        };
        Ok(bounds
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(suffix)))
            .next_back()
            .map(|bound| {
                let mut key = Vec::with_capacity(space.len() + bound.len());
                key.extend_from_slice(space);
                key.extend_from_slice(bound);
                key
            }))
    }
}

fn load(tree: &sled::Tree, key: &[u8]) -> Result<Option<Page>, ProjectionError> {
    match tree.get(key)? {
        Some(bytes) => decode_entries(&bytes).map(|entries| Some(Page::new(entries))),
        None => Ok(None),
    }
}

/// The entries of `space` from `from` on, in suffix order: what queries
/// read (committed pages only).
pub(crate) struct Scan {
    pages: sled::Iter,
    entries: std::vec::IntoIter<Entry>,
    from: Bound<Vec<u8>>,
    done: bool,
}

impl Scan {
    pub(crate) fn new(tree: &sled::Tree, space: &[u8], from: Bound<&[u8]>) -> Scan {
        let start = match from {
            Bound::Unbounded => space.to_vec(),
            Bound::Included(suffix) | Bound::Excluded(suffix) => {
                let mut full = space.to_vec();
                full.extend_from_slice(suffix);
                // The page holding `suffix` starts at or below it.
                match tree.range(space.to_vec()..=full).next_back() {
                    Some(Ok((key, _))) => key.to_vec(),
                    _ => space.to_vec(),
                }
            }
        };
        let pages = match keys::prefix_end(space) {
            Some(end) => tree.range(start..end),
            None => tree.range(start..),
        };
        Scan {
            pages,
            entries: Vec::new().into_iter(),
            from: match from {
                Bound::Unbounded => Bound::Unbounded,
                Bound::Included(s) => Bound::Included(s.to_vec()),
                Bound::Excluded(s) => Bound::Excluded(s.to_vec()),
            },
            done: false,
        }
    }
}

impl Iterator for Scan {
    type Item = Result<Entry, ProjectionError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            for (suffix, value) in self.entries.by_ref() {
                let wanted = match &self.from {
                    Bound::Unbounded => true,
                    Bound::Included(from) => suffix >= *from,
                    Bound::Excluded(from) => suffix > *from,
                };
                if wanted {
                    // Entries are sorted: every later one is wanted too.
                    self.from = Bound::Unbounded;
                    return Some(Ok((suffix, value)));
                }
            }
            match self.pages.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Some(Err(error.into()));
                }
                Some(Ok((_, bytes))) => match decode_entries(&bytes) {
                    Ok(entries) => self.entries = entries.into_iter(),
                    Err(error) => {
                        self.done = true;
                        return Some(Err(error));
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(tree: &sled::Tree, space: &[u8], from: Bound<&[u8]>) -> Vec<Vec<u8>> {
        Scan::new(tree, space, from)
            .map(|e| e.expect("readable").0)
            .collect()
    }

    fn commit(pages: &mut Pages, tree: &sled::Tree) {
        let mut batch = store::Writes::default();
        pages.write(&mut batch).expect("write");
        batch.apply_atomically(tree).expect("apply");
        pages.committed();
    }

    proptest::proptest! {
        /// A page keeps its entries in byte order and finds them as a
        /// plain binary search over the suffixes would, including suffixes
        /// that tie on their first 16 bytes, are shorter than 16 bytes or
        /// end in zero bytes (which the prefix pads with).
        #[test]
        fn page_search_agrees_with_byte_order(
            operations in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec(
                    proptest::prop_oneof![proptest::strategy::Just(0u8), proptest::strategy::Just(1u8), proptest::num::u8::ANY],
                    0..20,
                )),
                0..200,
            )
        ) {
            let mut page = Page::new(Vec::new());
            let mut expected = BTreeSet::new();
            for (insert, mut suffix) in operations {
                // Half of the suffixes share a 16-byte head, to force ties.
                if suffix.len() % 2 == 0 {
                    let mut tied = vec![7u8; 16];
                    tied.append(&mut suffix);
                    suffix = tied;
                }
                let reference = expected.iter().position(|s: &Vec<u8>| s == &suffix);
                match page.search(&suffix) {
                    Ok(index) => {
                        proptest::prop_assert_eq!(Some(index), reference);
                        if !insert {
                            page.remove(index);
                            expected.remove(&suffix);
                        }
                    }
                    Err(index) => {
                        proptest::prop_assert_eq!(reference, None);
                        let below = expected.iter().filter(|s| **s < suffix).count();
                        proptest::prop_assert_eq!(index, below);
                        if insert {
                            page.insert(index, suffix.clone(), Vec::new());
                            expected.insert(suffix);
                        }
                    }
                }
                let stored: Vec<Vec<u8>> = page.entries.iter().map(|(s, _)| s.clone()).collect();
                let want: Vec<Vec<u8>> = expected.iter().cloned().collect();
                proptest::prop_assert_eq!(stored, want);
                proptest::prop_assert_eq!(page.prefixes.len(), page.entries.len());
            }
        }
    }

    #[test]
    fn pages_split_and_drop_and_scans_see_every_entry_in_order() {
        let db = sled::Config::new().temporary(true).open().expect("sled");
        let tree = db.open_tree("t").expect("tree");
        let mut pages = Pages::new();
        let space_a = b"Ia".to_vec();
        let space_b = b"Ib".to_vec();
        let mut expected = BTreeSet::new();
        // Interleave inserts and removes over several commits, in an order
        // that is neither ascending nor descending.
        for round in 0..6u32 {
            for i in 0..300u32 {
                let n = (i * 7919 + round * 104_729) % 2_000;
                let suffix = n.to_be_bytes().to_vec();
                if (n + round) % 5 == 0 {
                    pages.remove(&tree, &space_a, &suffix).expect("remove");
                    expected.remove(&suffix);
                } else {
                    pages
                        .insert(&tree, &space_a, suffix.clone(), vec![round as u8])
                        .expect("insert");
                    expected.insert(suffix);
                }
                pages
                    .insert(&tree, &space_b, vec![1], vec![2])
                    .expect("insert");
            }
            commit(&mut pages, &tree);
            let got = entries(&tree, &space_a, Bound::Unbounded);
            let want: Vec<Vec<u8>> = expected.iter().cloned().collect();
            assert_eq!(got, want, "round {round}");
        }
        // Scans from a bound.
        let middle = 1_000u32.to_be_bytes();
        let got = entries(&tree, &space_a, Bound::Excluded(&middle));
        let want: Vec<Vec<u8>> = expected
            .iter()
            .filter(|s| s.as_slice() > middle.as_slice())
            .cloned()
            .collect();
        assert_eq!(got, want);
        assert_eq!(entries(&tree, &space_b, Bound::Unbounded), vec![vec![1]]);
        // Removing everything drops every page.
        for suffix in expected.iter() {
            pages.remove(&tree, &space_a, suffix).expect("remove");
        }
        commit(&mut pages, &tree);
        assert!(entries(&tree, &space_a, Bound::Unbounded).is_empty());
        assert_eq!(tree.scan_prefix(&space_a).count(), 0);
        let pages_of_b = tree.scan_prefix(&space_b).count();
        assert_eq!(pages_of_b, 1);
    }
}
