//! [`RecordBatch`]: the records of one page as a collector's callbacks see them.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use crate::state::CollectorId;

/// The decoded records of one page (or of one [`Run::emit`](super::Run::emit)), handed to
/// [`Collector::on_records`](super::Collector::on_records) before they are stored.
///
/// A callback may read them, change them, drop some or add others; what the batch holds when
/// the callback returns is what gets stored. It is a cheap handle (clones share the records), so
/// an `async move` block can own it, and none of its methods hands out a lock guard that could be
/// held across an `.await`.
///
/// # Examples
/// ```
/// use hamstr::{backend::CollectorId, collector::RecordBatch};
///
/// let batch = RecordBatch::new(CollectorId::new("shop", "orders"), vec![5, 12, 40]);
/// batch.retain(|amount| *amount >= 10);     // drop small orders
/// batch.for_each_mut(|amount| *amount *= 100); // to cents
/// assert_eq!(batch.read(|amounts| amounts.to_vec()), [1_200, 4_000]);
/// ```
pub struct RecordBatch<T> {
    collector: Arc<CollectorId>,
    records: Arc<Mutex<Vec<T>>>,
}

impl<T> RecordBatch<T> {
    /// A batch of `records` from `collector`.
    pub fn new(collector: CollectorId, records: Vec<T>) -> Self {
        Self {
            collector: Arc::new(collector),
            records: Arc::new(Mutex::new(records)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        // A callback that panicked mid-change leaves records that are still whole values.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The collector whose run produced the records.
    pub fn collector(&self) -> &CollectorId {
        &self.collector
    }

    /// How many records the batch holds now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Reads the records.
    pub fn read<R>(&self, read: impl FnOnce(&[T]) -> R) -> R {
        read(&self.lock())
    }

    /// Keeps the records for which `keep` is true; the others are not stored (they are counted
    /// as dropped in the run's report).
    pub fn retain(&self, keep: impl FnMut(&T) -> bool) {
        self.lock().retain(keep);
    }

    /// Changes every record in place.
    pub fn for_each_mut(&self, change: impl FnMut(&mut T)) {
        self.lock().iter_mut().for_each(change);
    }

    /// Adds a record.
    pub fn push(&self, record: T) {
        self.lock().push(record);
    }

    /// Takes the records out, leaving the batch empty; hand back with [`replace`](Self::replace).
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.lock())
    }

    /// Replaces the records with `records`.
    pub fn replace(&self, records: Vec<T>) {
        *self.lock() = records;
    }
}

impl<T: Clone> RecordBatch<T> {
    /// A copy of the records.
    pub fn to_vec(&self) -> Vec<T> {
        self.lock().clone()
    }
}

impl<T> Clone for RecordBatch<T> {
    fn clone(&self) -> Self {
        Self {
            collector: Arc::clone(&self.collector),
            records: Arc::clone(&self.records),
        }
    }
}

impl<T> fmt::Debug for RecordBatch<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RecordBatch")
            .field("collector", &self.collector)
            .field("records", &self.len())
            .finish()
    }
}
