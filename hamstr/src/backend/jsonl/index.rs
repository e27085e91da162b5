//! [`KeyIndex`]: what a JSON Lines target remembers of the records it wrote, to tell new records
//! from updated and unchanged ones: for each primary key (hashed), the hash of its last line.

use std::collections::{HashMap, VecDeque};

/// The keys written, each with its last line's hash. A file keeps every key (its records are
/// read back to fill it on start, so a record is never written twice); standard output keeps a
/// window of the latest keys, so memory stays flat however long the run: a record repeated
/// within the window (a listing whose pages shifted) is still written once.
#[derive(Debug)]
pub(super) struct KeyIndex {
    lines: HashMap<u64, u64, foldhash::fast::FixedState>,
    /// For a window: the keys from the oldest written; `None` for a file.
    order: Option<(VecDeque<u64>, usize)>,
}

impl KeyIndex {
    /// Every key.
    pub(super) fn whole() -> Self {
        Self {
            lines: HashMap::default(),
            order: None,
        }
    }

    /// The latest `size` keys.
    pub(super) fn window(size: usize) -> Self {
        Self {
            lines: HashMap::default(),
            order: Some((VecDeque::new(), size.max(1))),
        }
    }

    /// Keeps `line` as the last line of `key`; returns the line it had.
    pub(super) fn insert(&mut self, key: u64, line: u64) -> Option<u64> {
        let previous = self.lines.insert(key, line);
        if previous.is_none()
            && let Some((order, size)) = &mut self.order
        {
            if order.len() == *size
                && let Some(oldest) = order.pop_front()
            {
                self.lines.remove(&oldest);
            }
            order.push_back(key);
        }
        previous
    }

    /// How many keys it holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_latest_keys() {
        let mut index = KeyIndex::window(3);
        for key in 0..10 {
            assert_eq!(index.insert(key, key), None);
        }
        assert_eq!(index.len(), 3);
        assert_eq!(index.insert(9, 1), Some(9), "the latest are known");
        assert_eq!(index.insert(0, 0), None, "the oldest are forgotten");
        let mut whole = KeyIndex::whole();
        for key in 0..10 {
            whole.insert(key, key);
        }
        assert_eq!(whole.insert(0, 5), Some(0));
    }
}
