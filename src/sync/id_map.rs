//! A small map from waiter ids to values, ordered by id.
//!
//! Waiter ids only grow, so entries almost always arrive at the back; the
//! lists are short (the tasks blocked on one channel or lock), so a sorted
//! `VecDeque` with binary search beats a `BTreeMap` or a hashed map by a
//! wide margin on the hot path (one insert and one removal per wait).

use std::collections::VecDeque;

pub(crate) struct IdMap<V> {
    entries: VecDeque<(u64, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            entries: VecDeque::new(),
        }
    }
}

impl<V> IdMap<V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Where `id` is (or would go). The oldest entry is the one most often
    /// looked up (a list of one waiter, or the next to be served), so it is
    /// checked before the search.
    #[inline]
    fn position(&self, id: u64) -> Result<usize, usize> {
        match self.entries.front() {
            Some((first, _)) if *first == id => Ok(0),
            _ => self.entries.binary_search_by_key(&id, |(k, _)| *k),
        }
    }

    /// Inserts or replaces the value for `id`; returns the old value.
    ///
    /// The common case, a new largest id, is inlined so the entry is
    /// written straight into the deque rather than copied through a call
    /// (a copy that stalls on store forwarding).
    #[inline(always)]
    pub(crate) fn insert(&mut self, id: u64, value: V) -> Option<V> {
        if self.entries.back().is_none_or(|(last, _)| *last < id) {
            self.entries.push_back((id, value));
            return None;
        }
        self.insert_before_last(id, value)
    }

    #[inline(never)]
    fn insert_before_last(&mut self, id: u64, value: V) -> Option<V> {
        match self.position(id) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    pub(crate) fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        let i = self.position(*id).ok()?;
        Some(&mut self.entries[i].1)
    }

    pub(crate) fn remove(&mut self, id: &u64) -> Option<V> {
        match self.position(*id).ok()? {
            0 => self.entries.pop_front().map(|(_, v)| v),
            i => self.entries.remove(i).map(|(_, v)| v),
        }
    }

    /// The entry with the smallest id, removed.
    pub(crate) fn pop_first(&mut self) -> Option<(u64, V)> {
        self.entries.pop_front()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry, in id order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (u64, V)> + '_ {
        self.entries.drain(..)
    }
}

/// A set of waiter ids.
#[derive(Default)]
pub(crate) struct IdSet(IdMap<()>);

impl IdSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `id`; whether it was new.
    pub(crate) fn insert(&mut self, id: u64) -> bool {
        self.0.insert(id, ()).is_none()
    }

    /// Removes `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: &u64) -> bool {
        self.0.remove(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_id_order_whatever_the_insertion_order() {
        let mut m = IdMap::new();
        for id in [5, 1, 9, 3, 7] {
            assert!(m.insert(id, id * 10).is_none());
        }
        assert_eq!(m.insert(3, 33), Some(30));
        assert_eq!(m.remove(&9), Some(90));
        assert_eq!(m.remove(&9), None);
        *m.get_mut(&1).unwrap() += 1;
        let all: Vec<(u64, u64)> = std::iter::from_fn(|| m.pop_first()).collect();
        assert_eq!(all, [(1, 11), (3, 33), (5, 50), (7, 70)]);
        assert!(m.is_empty());
    }

    #[test]
    fn id_set_reports_membership_changes() {
        let mut s = IdSet::new();
        assert!(s.insert(2));
        assert!(!s.insert(2));
        assert!(s.remove(&2));
        assert!(!s.remove(&2));
    }
}
