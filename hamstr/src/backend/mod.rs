//! The [`Backend`] trait: the single seam between collection and storage.
//!
//! A backend receives [`Batch`]es: rows of one model with their [`Schema`], plus the collector
//! [`State`] that covers them. It creates what it needs from the schema
//! ([`prepare`](Backend::prepare)), stores rows and state together ([`commit`](Backend::commit)),
//! and gives the state back at the next run ([`load_state`](Backend::load_state)).
//!
//! | backend | module | atomic rows + state |
//! |---|---|---|
//! | memory | [`MemoryBackend`] | yes (one lock) |
//! | SQLite (feature `sqlite`, default) | [`Sqlite`] | yes (one transaction per batch) |
//! | JSON Lines | [`JsonLines`] | no: records are written and synced before the state |

mod jsonl;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;
mod storage;

use std::{collections::VecDeque, fmt, sync::Arc};

use async_trait::async_trait;

use crate::model::{FieldType, Row, Schema};

pub use crate::state::{CollectorId, RunRecord, State};

pub use jsonl::JsonLines;
pub use memory::MemoryBackend;
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;
pub use storage::{Scheme, Storage, StorageError, register_scheme, schemes};

/// Rows of one model and the state that covers them, committed together.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The collector whose run produced the rows.
    pub collector: CollectorId,
    /// The rows' model.
    pub schema: Arc<Schema>,
    /// The rows, cells in schema field order.
    pub rows: Vec<Row>,
    /// The collector's state after these rows; `None` leaves the stored state as it is.
    pub state: Option<State>,
}

impl Batch {
    /// Checks that every row has one cell per field of the schema.
    ///
    /// # Errors
    /// [`BackendError::RowShape`] for the first row that does not.
    pub fn check_rows(&self) -> Result<(), BackendError> {
        let fields = self.schema.fields().len();
        match self.rows.iter().find(|row| row.len() != fields) {
            Some(row) => Err(BackendError::RowShape {
                table: self.schema.name().to_owned(),
                cells: row.len(),
                fields,
            }),
            None => Ok(()),
        }
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// Rows whose primary key was new.
    pub inserted: usize,
    /// Rows that changed a stored row with the same primary key.
    pub updated: usize,
    /// Rows equal to the stored row with their primary key (nothing changed).
    pub unchanged: usize,
}

/// Where collected records and collector state are kept.
///
/// # Contract
/// - [`prepare`](Self::prepare) is called for a schema before the first commit of its rows, and
///   again after the model changes (a new start). It creates the storage, adds what a model
///   gained (a new field becomes a new, nullable column; existing rows keep null), and refuses
///   a change it cannot apply safely (a field whose type changed, another primary key) with
///   [`BackendError::Incompatible`], naming the table and field.
/// - [`commit`](Self::commit) upserts by primary key: the same record twice leaves one row with
///   the newest values. Rows and state are stored atomically where the store can (after a
///   crash both are there or neither); a backend that cannot says so in its docs, and must then
///   store the rows before the state, so that state never runs ahead of the records.
/// - [`load_state`](Self::load_state) returns what the last successful commit stored.
/// - [`record_run`](Self::record_run) appends a line to the load history, which
///   [`run_history`](Self::run_history) reads back, newest first.
///
/// Implement it with `#[async_trait]`; it is used as `Arc<dyn Backend>`. Nothing in it may block
/// the async runtime: run blocking I/O on a thread of its own or with `spawn_blocking`.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Creates or updates the storage for `schema`.
    async fn prepare(&self, schema: &Schema) -> Result<(), BackendError>;

    /// Stores `batch.rows` and `batch.state` atomically.
    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError>;

    /// The state saved by the last successful commit of `collector`, if there was one.
    async fn load_state(&self, collector: &CollectorId) -> Result<Option<State>, BackendError>;

    /// Appends `run` to the load history.
    async fn record_run(&self, run: &RunRecord) -> Result<(), BackendError>;

    /// The last `limit` runs of `collector` (of every collector with `None`), newest first.
    async fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError>;
}

/// Why a backend could not store or load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The stored table cannot take the model as it is now.
    #[error("table `{table}`: field `{field}` {reason}")]
    Incompatible {
        /// The table (the model's name).
        table: String,
        /// The field that does not fit.
        field: String,
        /// What changed.
        reason: String,
    },
    /// A batch arrived for a schema that was never prepared.
    #[error("table `{table}` was not prepared before its first commit")]
    NotPrepared {
        /// The table.
        table: String,
    },
    /// A row does not have one cell per field.
    #[error("table `{table}`: a row has {cells} cells for {fields} fields")]
    RowShape {
        /// The table.
        table: String,
        /// Cells in the row.
        cells: usize,
        /// Fields in the schema.
        fields: usize,
    },
    /// The store itself failed (disk, database).
    #[error("{backend} failed: {operation}")]
    Store {
        /// Which backend.
        backend: &'static str,
        /// What it was doing.
        operation: String,
        /// The store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BackendError {
    /// A failure of the store itself, for backend implementations.
    pub fn store(
        backend: &'static str,
        operation: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Store {
            backend,
            operation: operation.into(),
            source: Box::new(source),
        }
    }
}

/// The load history of a backend that keeps it in memory: the last 10,000 runs, so a process
/// that runs for months does not grow.
#[derive(Debug, Default)]
pub(crate) struct RecentRuns(VecDeque<RunRecord>);

impl RecentRuns {
    const KEPT: usize = 10_000;

    pub(crate) fn push(&mut self, run: RunRecord) {
        if self.0.len() == Self::KEPT {
            self.0.pop_front();
        }
        self.0.push_back(run);
    }

    pub(crate) fn newest(&self, collector: Option<&CollectorId>, limit: usize) -> Vec<RunRecord> {
        newest_runs(self.0.iter(), collector, limit)
    }
}

/// The last `limit` runs of `collector` (or of all) in `history` (oldest first), newest first.
pub(crate) fn newest_runs<'a>(
    history: impl DoubleEndedIterator<Item = &'a RunRecord>,
    collector: Option<&CollectorId>,
    limit: usize,
) -> Vec<RunRecord> {
    history
        .rev()
        .filter(|run| collector.is_none_or(|collector| run.collector == *collector))
        .take(limit)
        .cloned()
        .collect()
}

/// Checks that `stored` (the schema the storage was made for) can take `wanted`: same primary
/// key, and every field both have of the same type. Fields only `wanted` has are returned, to be
/// added.
pub fn added_fields<'a>(
    stored: &Schema,
    wanted: &'a Schema,
) -> Result<Vec<&'a crate::model::Field>, BackendError> {
    let incompatible = |field: &str, reason: String| BackendError::Incompatible {
        table: wanted.name().to_owned(),
        field: field.to_owned(),
        reason,
    };
    let stored_key: Vec<&str> = stored.primary_key().map(|field| field.name()).collect();
    let wanted_key: Vec<&str> = wanted.primary_key().map(|field| field.name()).collect();
    if stored_key != wanted_key {
        return Err(incompatible(
            wanted_key.first().copied().unwrap_or_default(),
            format!(
                "is in a primary key ({}) that differs from the stored one ({}); keys cannot change in place",
                wanted_key.join(", "),
                stored_key.join(", ")
            ),
        ));
    }
    let mut added = Vec::new();
    for field in wanted.fields() {
        match stored.field(field.name()) {
            Some((_, existing)) if !same_storage(existing.field_type(), field.field_type()) => {
                return Err(incompatible(
                    field.name(),
                    format!(
                        "changed type from {} to {}; existing rows cannot be converted safely",
                        existing.field_type(),
                        field.field_type()
                    ),
                ));
            }
            Some(_) => {}
            None => added.push(field),
        }
    }
    Ok(added)
}

fn same_storage(stored: FieldType, wanted: FieldType) -> bool {
    stored == wanted
}
