//! A vector and a sorted map whose clones share their contents in chunks,
//! copying a chunk only when one of them changes it (copy on write).
//!
//! Time travel keeps views of the session every so many events
//! ([`super::travel`]). With `Vec` and `BTreeMap` inside [`super::View`],
//! each kept view would be a whole copy: a view half way through a
//! 112,000-event session is 8.7 MB, and a copy every 1,024 events would
//! hold gigabytes. Here a clone costs one pointer per chunk, and a view
//! that goes on changing copies only the chunks it touches (the last of
//! each list, the few sockets and calls still moving), so a kept view costs
//! kilobytes.
//!
//! Both keep the parts of `Vec`'s and `BTreeMap`'s interfaces the page
//! uses, so the rest of the model reads the same.

use std::{
    borrow::Borrow,
    fmt,
    ops::{Index, Range},
    sync::Arc,
};

/// Elements in each chunk of a [`CowVec`]: what one copy on write costs.
const VEC_CHUNK: usize = 64;

/// Entries past which a [`CowMap`] chunk is split in two.
const MAP_CHUNK: usize = 32;

/// A list that is mostly appended to, cheap to clone.
pub struct CowVec<T> {
    /// Every chunk but the last holds exactly `VEC_CHUNK` elements.
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> CowVec<T> {
    pub const fn new() -> Self {
        CowVec {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / VEC_CHUNK)?.get(i % VEC_CHUNK)
    }

    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    pub fn last(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The elements `range` covers (clamped to the list), in order.
    pub fn range(&self, range: Range<usize>) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        let chunks = if start == end {
            &self.chunks[..0]
        } else {
            &self.chunks[start / VEC_CHUNK..end.div_ceil(VEC_CHUNK)]
        };
        let first = start / VEC_CHUNK;
        chunks.iter().enumerate().flat_map(move |(k, chunk)| {
            let base = (first + k) * VEC_CHUNK;
            let from = start.saturating_sub(base);
            let to = (end - base).min(chunk.len());
            chunk[from..to].iter()
        })
    }

    /// The index of the first element for which `pred` is false, the list
    /// being partitioned by it (as [`slice::partition_point`]).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        // The first chunk whose first element fails, then within the one before.
        let c = self
            .chunks
            .partition_point(|c| c.first().is_some_and(&mut pred));
        match c.checked_sub(1) {
            None => 0,
            Some(c) => c * VEC_CHUNK + self.chunks[c].partition_point(pred),
        }
    }
}

impl<T: Clone> CowVec<T> {
    pub fn push(&mut self, value: T) {
        if self.len % VEC_CHUNK == 0 {
            self.chunks.push(Arc::new(Vec::with_capacity(VEC_CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            writable(last).push(value);
            self.len += 1;
        }
    }

    /// The element at `i`, to change: its chunk is copied first if another
    /// clone shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        writable(&mut self.chunks[i / VEC_CHUNK]).get_mut(i % VEC_CHUNK)
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

/// A chunk to change: copied (with room for a whole chunk, as the last
/// one grows) if a clone shares it.
fn writable<T: Clone>(chunk: &mut Arc<Vec<T>>) -> &mut Vec<T> {
    if Arc::get_mut(chunk).is_none() {
        let mut copy = Vec::with_capacity(chunk.capacity().max(chunk.len()));
        copy.extend_from_slice(chunk);
        *chunk = Arc::new(copy);
    }
    // Now the only owner: no copy here.
    Arc::make_mut(chunk)
}

impl<T> Clone for CowVec<T> {
    fn clone(&self) -> Self {
        CowVec {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        CowVec::new()
    }
}

impl<T: PartialEq> PartialEq for CowVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Eq> Eq for CowVec<T> {}

impl<T: fmt::Debug> fmt::Debug for CowVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Index<usize> for CowVec<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(value) => value,
            None => panic!("index {i} out of a list of {}", self.len),
        }
    }
}

impl<'a, T> IntoIterator for &'a CowVec<T> {
    type Item = &'a T;
    type IntoIter = std::iter::FlatMap<
        std::slice::Iter<'a, Arc<Vec<T>>>,
        std::slice::Iter<'a, T>,
        fn(&'a Arc<Vec<T>>) -> std::slice::Iter<'a, T>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        fn elements<T>(chunk: &Arc<Vec<T>>) -> std::slice::Iter<'_, T> {
            chunk.iter()
        }
        self.chunks
            .iter()
            .flat_map(elements as fn(&'a Arc<Vec<T>>) -> _)
    }
}

impl<T: Clone> FromIterator<T> for CowVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = CowVec::new();
        iter.into_iter().for_each(|x| v.push(x));
        v
    }
}

/// A map sorted by key, cheap to clone: sorted chunks of entries.
pub struct CowMap<K, V> {
    /// Each chunk is sorted, holds 1 to `MAP_CHUNK` entries, and every
    /// key in it is below every key of the next.
    chunks: Vec<Arc<Vec<(K, V)>>>,
    len: usize,
}

impl<K: Ord, V> CowMap<K, V> {
    pub const fn new() -> Self {
        CowMap {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk that holds `key`, or would: the last whose first key is
    /// at or below it (the first chunk for a key below them all).
    fn chunk_of<Q: Ord + ?Sized>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        self.chunks
            .partition_point(|c| c.first().is_some_and(|(k, _)| k.borrow() <= key))
            .saturating_sub(1)
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let chunk = self.chunks.get(self.chunk_of(key))?;
        let i = chunk.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
        Some(&chunk[i].1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.get(key).is_some()
    }

    /// Every entry, in the order of the keys.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + Clone + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter().map(|(k, v)| (k, v)))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + Clone + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + Clone + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Clone, V: Clone> CowMap<K, V> {
    /// Sets `key`'s value, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok((c, i)) => Some(std::mem::replace(
                &mut writable(&mut self.chunks[c])[i].1,
                value,
            )),
            Err((c, i)) => {
                self.insert_at(c, i, key, value);
                None
            }
        }
    }

    /// The value of `key`, to change: its chunk is copied first if another
    /// clone shares it.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let (c, i) = self.find(key).ok()?;
        Some(&mut writable(&mut self.chunks[c])[i].1)
    }

    /// The value of `key`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let (c, i) = match self.find(&key) {
            Ok(at) => at,
            Err((c, i)) => self.insert_at(c, i, key, make()),
        };
        &mut writable(&mut self.chunks[c])[i].1
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Where `key` is (chunk, index), or where it belongs.
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<(usize, usize), (usize, usize)>
    where
        K: Borrow<Q>,
    {
        let c = self.chunk_of(key);
        match self.chunks.get(c) {
            None => Err((0, 0)),
            Some(chunk) => chunk
                .binary_search_by(|(k, _)| k.borrow().cmp(key))
                .map(|i| (c, i))
                .map_err(|i| (c, i)),
        }
    }

    /// Inserts at a place [`CowMap::find`] gave, splitting a full chunk;
    /// returns where the entry went.
    fn insert_at(&mut self, c: usize, i: usize, key: K, value: V) -> (usize, usize) {
        self.len += 1;
        if self.chunks.is_empty() {
            self.chunks.push(Arc::new(vec![(key, value)]));
            return (0, 0);
        }
        let last = c + 1 == self.chunks.len();
        let chunk = writable(&mut self.chunks[c]);
        chunk.insert(i, (key, value));
        if chunk.len() <= MAP_CHUNK {
            return (c, i);
        }
        // Keys mostly arrive in increasing order (sockets, clients): a
        // split of the last chunk leaves the first part full.
        let at = if last && i + 1 == chunk.len() {
            MAP_CHUNK
        } else {
            chunk.len() / 2
        };
        let rest = chunk.split_off(at);
        self.chunks.insert(c + 1, Arc::new(rest));
        if i < at {
            (c, i)
        } else {
            (c + 1, i - at)
        }
    }
}

impl<K, V> Clone for CowMap<K, V> {
    fn clone(&self) -> Self {
        CowMap {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<K: Ord, V> Default for CowMap<K, V> {
    fn default() -> Self {
        CowMap::new()
    }
}

impl<K: Ord, V: PartialEq> PartialEq for CowMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Ord, V: Eq> Eq for CowMap<K, V> {}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for CowMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> Index<&Q> for CowMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for CowMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = CowMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}
