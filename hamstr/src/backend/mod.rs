//! The [`Backend`] trait: the single seam between collection and storage.
//!
//! A backend receives [`Batch`]es: rows of one model with their [`Schema`], plus the collector
//! [`State`] that covers them. It creates what it needs from the schema
//! ([`prepare`](Backend::prepare)), stores rows and state together ([`commit`](Backend::commit)),
//! and gives the state back at the next run ([`load_state`](Backend::load_state)). Stored rows
//! are read back one by primary key ([`get_row`](Backend::get_row)), a page at a time with
//! filters and an order ([`query`](Backend::query) with a [`Query`]), or as the distinct values
//! of a column ([`distinct`](Backend::distinct)).
//!
//! | backend | module | atomic rows + state | reads |
//! |---|---|---|---|
//! | memory | [`MemoryBackend`] | yes (one lock) | over its rows |
//! | SQLite (feature `sqlite`, default) | [`Sqlite`] | yes (one transaction per batch) | SQL on its thread |
//! | PostgreSQL (feature `postgres`) | [`Postgres`] | yes (one transaction per batch) | SQL on a pooled connection |
//! | JSON Lines | [`JsonLines`] | no: records are written and synced before the state | its log files; not on a writer (stdout) |

mod continuation;
mod jsonl;
mod keys;
mod lease;
mod memory;
mod migration;
#[cfg(feature = "postgres")]
mod postgres;
mod read;
mod scan;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod storage;

use std::{collections::VecDeque, fmt, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{Cell, FieldType, Row, Schema};

pub use crate::state::{CollectorId, RunRecord, State};

pub use continuation::{Continuation, Position};
pub use jsonl::JsonLines;
pub use keys::{DueKey, FoundKeys, Frontier, KeyRead, KeyStatus};
pub(crate) use keys::{KeyRow, count as count_keys};
/// What the two SQL stores share about keys.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use keys::{depth_of, frontier_of, mark_of, mark_text, within_depth_sql};
pub use lease::{
    Claim, Claimed, ClusterStatus, LeaseStatus, SharedPause, SharedPauses, WorkerStatus,
    default_worker_name,
};
pub use memory::MemoryBackend;
pub use migration::{Change, TablePlan, changes, migrated_schema};
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
pub use read::{Direction, Filter, Op, Order, Query, RowPage, check_key};
pub use scan::{distinct_values, find_by_key};
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;
#[cfg(feature = "yaml")]
pub(crate) use storage::expected_forms;
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
/// - [`get_row`](Self::get_row), [`query`](Self::query) and [`distinct`](Self::distinct) read
///   stored rows back, as every commit before the call left them. A model with nothing stored
///   reads as no rows. Their default implementations answer [`BackendError::Unsupported`], so a
///   backend that keeps nothing to read needs none of them; one that can list a model's rows
///   answers all three with [`find_by_key`], [`Query::page_of`] and [`distinct_values`].
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

    /// The stored row of `schema`'s model whose primary key is `key` (cells in the primary key's
    /// field order, each of its field's type), cells in schema field order; `None` when there is
    /// none.
    ///
    /// # Errors
    /// [`BackendError::BadQuery`] when `key` does not fit the primary key (see [`check_key`]);
    /// [`BackendError::Unsupported`] from a backend that cannot read (the default).
    async fn get_row(&self, schema: &Schema, key: &[Cell]) -> Result<Option<Row>, BackendError> {
        let _ = (schema, key);
        Err(BackendError::Unsupported {
            backend: std::any::type_name::<Self>(),
            operation: "reading a row by key (get_row)",
        })
    }

    /// A page of the stored rows of `schema`'s model that match `query`, in its order, with how
    /// many match in all and where the next page starts; see [`Query`] for what each part means.
    ///
    /// # Errors
    /// [`BackendError::BadQuery`] when the query does not fit the schema (an unknown field, a
    /// value of another type, a continuation of another query); [`BackendError::Unsupported`]
    /// from a backend that cannot read (the default).
    async fn query(&self, schema: &Schema, query: &Query) -> Result<RowPage, BackendError> {
        let _ = (schema, query);
        Err(BackendError::Unsupported {
            backend: std::any::type_name::<Self>(),
            operation: "querying rows (query)",
        })
    }

    /// Whether several processes may share this store, so that each run of a collector is
    /// claimed first ([`claim_run`](Self::claim_run)). False (the default) for a store one
    /// process owns.
    fn is_shared(&self) -> bool {
        false
    }

    /// Claims a run of `claim.collector` for `claim.worker`: granted when it is due and no live
    /// worker holds it (or when the holder's lease ran out: a takeover). While granted, commits
    /// of the collector's rows are refused once the lease is lost ([`BackendError::LeaseLost`]).
    /// The default grants every claim.
    async fn claim_run(&self, claim: &Claim<'_>) -> Result<Claimed, BackendError> {
        let _ = claim;
        Ok(Claimed::Granted {
            taken_over_from: None,
        })
    }

    /// Ends the run that [`claim_run`](Self::claim_run) granted: the lease is given up and the
    /// collector is due again in `next_due_in` (`None`: only when a run is asked for).
    async fn release_run(
        &self,
        collector: &CollectorId,
        next_due_in: Option<std::time::Duration>,
    ) -> Result<(), BackendError> {
        let _ = (collector, next_due_in);
        Ok(())
    }

    /// Tells the other workers sharing the store that `pause.service`'s requests wait until
    /// `pause.resumes_at` (one quota, one `Retry-After`, for all). Nothing for a store one
    /// process owns (the default).
    async fn share_pause(&self, pause: &SharedPause) -> Result<(), BackendError> {
        let _ = pause;
        Ok(())
    }

    /// The pauses other workers share ([`share_pause`](Self::share_pause)); `None` for a store
    /// one process owns (the default).
    async fn watch_pauses(&self) -> Result<Option<SharedPauses>, BackendError> {
        Ok(None)
    }

    /// How many workers renewed their leases within `within` (this one included once it has
    /// claimed a run); 1 for a store one process owns (the default).
    async fn live_workers(&self, within: std::time::Duration) -> Result<usize, BackendError> {
        let _ = within;
        Ok(1)
    }

    /// The workers sharing the store and the collectors' leases; `None` for a store one process
    /// owns (the default).
    async fn cluster_status(&self) -> Result<Option<ClusterStatus>, BackendError> {
        Ok(None)
    }

    /// How the tables of `schemas` would change to take those models as they are now, one
    /// [`TablePlan`] per model (empty where the table fits); nothing changes. `hamstr migrate`.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`] from a backend without migrations (the default), or the
    /// store's error.
    async fn plan_migration(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        let _ = schemas;
        Err(BackendError::Unsupported {
            backend: std::any::type_name::<Self>(),
            operation: "migrations (its files are rewritten by hand)",
        })
    }

    /// Makes the changes [`plan_migration`](Self::plan_migration) shows, for every table in one
    /// transaction, and returns them. A value that does not convert, or two rows that would
    /// share a new key, stop it with nothing changed. `hamstr migrate --apply`.
    ///
    /// # Errors
    /// As [`plan_migration`](Self::plan_migration), and what stopped the migration, naming the
    /// table.
    async fn migrate(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        let _ = schemas;
        Err(BackendError::Unsupported {
            backend: std::any::type_name::<Self>(),
            operation: "migrations (its files are rewritten by hand)",
        })
    }

    /// Whether it keeps the frontier of fan-out collectors ([`add_keys`](Self::add_keys) and the
    /// calls after it); default `false`.
    fn keeps_keys(&self) -> bool {
        false
    }

    /// Adds the keys `found` to `collector`'s frontier, due at `now`, at their depth. Of the
    /// keys it knows, only the depth changes, and only to a lower one (and then, with
    /// [`FoundKeys::revisit`], a key already read is due now). Returns how many were new.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`] from a backend that keeps no keys (the default).
    async fn add_keys(
        &self,
        collector: &CollectorId,
        found: &FoundKeys<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, BackendError> {
        let _ = (collector, found, now);
        Err(unsupported_keys::<Self>())
    }

    /// At most `limit` of `collector`'s keys due at `now`, the longest due first (then by key),
    /// with their depth and mark; with `max_depth`, only keys known to be that close to the
    /// seeds.
    ///
    /// # Errors
    /// As [`add_keys`](Self::add_keys).
    async fn due_keys(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        limit: usize,
        max_depth: Option<u32>,
    ) -> Result<Vec<DueKey>, BackendError> {
        let _ = (collector, now, limit, max_depth);
        Err(unsupported_keys::<Self>())
    }

    /// Keeps how a read of one of `collector`'s keys went, and when it is due again.
    ///
    /// # Errors
    /// As [`add_keys`](Self::add_keys).
    async fn record_key(
        &self,
        collector: &CollectorId,
        read: &KeyRead,
    ) -> Result<(), BackendError> {
        let _ = (collector, read);
        Err(unsupported_keys::<Self>())
    }

    /// How many keys `collector` knows, and in what state, at `now`, under `max_depth`.
    ///
    /// # Errors
    /// As [`add_keys`](Self::add_keys).
    async fn frontier(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        max_depth: Option<u32>,
    ) -> Result<Frontier, BackendError> {
        let _ = (collector, now, max_depth);
        Err(unsupported_keys::<Self>())
    }

    /// The distinct values of `field` in the stored rows of `schema`'s model, sorted as
    /// [`Cell::total_cmp`] orders them, nulls left out.
    ///
    /// # Errors
    /// [`BackendError::BadQuery`] when the schema has no such field;
    /// [`BackendError::Unsupported`] from a backend that cannot read (the default).
    async fn distinct(&self, schema: &Schema, field: &str) -> Result<Vec<Cell>, BackendError> {
        let _ = (schema, field);
        Err(BackendError::Unsupported {
            backend: std::any::type_name::<Self>(),
            operation: "listing distinct values (distinct)",
        })
    }
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
    /// A read asked for what the table cannot answer: a field it does not have, a value of
    /// another type than its field's, a key of the wrong shape, a limit of 0, or a continuation
    /// that does not parse or was made for another table or order.
    #[error("query on table `{table}`: {reason}")]
    BadQuery {
        /// The table (the model's name).
        table: String,
        /// What does not fit, naming the field.
        reason: String,
    },
    /// A commit of a collector whose lease this worker no longer holds: it ran out while the
    /// worker was paused or cut off, and another worker may have taken the collector over.
    /// Nothing of the batch was stored.
    #[error(
        "{collector}: this worker's lease ran out (another worker may run it now); the batch was not stored"
    )]
    LeaseLost {
        /// The collector.
        collector: CollectorId,
    },
    /// The backend cannot do this; the other operations may still work.
    #[error("{backend} does not support {operation}")]
    Unsupported {
        /// Which backend (its type name, or a description such as JSON Lines on a writer).
        backend: &'static str,
        /// What it was asked to do, and why it cannot when that is not plain.
        operation: &'static str,
    },
    /// The store itself failed (disk, database).
    #[error("{backend} failed: {operation}: {}", crate::text::chain(&**cause))]
    Store {
        /// Which backend.
        backend: &'static str,
        /// What it was doing.
        operation: String,
        /// The store's error, in the message.
        cause: Box<dyn std::error::Error + Send + Sync>,
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
            cause: Box::new(source),
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

fn unsupported_keys<B: ?Sized>() -> BackendError {
    BackendError::Unsupported {
        backend: std::any::type_name::<B>(),
        operation: "keeping the keys of fan-out collectors",
    }
}
