//! [`Sqlite`]: the embedded default backend. One table per model, upsert by primary key, rows
//! and state in one transaction, the load history beside them, all on a writer thread of its own.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    thread,
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, Transaction, params_from_iter, types::Value as SqlValue};
use tokio::sync::{mpsc, oneshot};

mod history;
mod keys;
mod migrate;
mod read;

use history::{load_state, record_run, run_history};
use read::stored_schema;

use super::{
    Backend, BackendError, Batch, CollectorId, Committed, DueKey, FoundKeys, Frontier, KeyRead,
    Query, RowPage, RunRecord, Scheme, State, Storage, TablePlan, added_fields, check_key,
    sql::{self, quote_name as quote},
};
use crate::model::{Cell, FieldType, Row, Schema};

/// Where hamstr keeps collector state, beside the model tables.
const STATE_TABLE: &str = "_hamstr_state";
/// The load history: one row per run.
const RUNS_TABLE: &str = "_hamstr_runs";
/// hamstr's type of each column (SQLite's declared types cannot tell a datetime from a string).
const COLUMNS_TABLE: &str = "_hamstr_columns";

/// Stores each model in a table of a SQLite database file (in WAL mode).
///
/// - A table per model, named after it; a column per field (`TEXT`, `INTEGER`, `REAL`;
///   datetimes as RFC 3339 text in UTC, dates as `YYYY-MM-DD`, JSON as text, booleans as 0/1);
///   the model's primary key; upsert on conflict.
/// - One transaction per batch: its rows and the collector's state commit together. States are
///   kept in `_hamstr_state` (one JSON document per collector), the load history in
///   `_hamstr_runs` (one row per run), hamstr's column types in `_hamstr_columns`, the keys of
///   fan-out collectors in `_hamstr_keys` (one row per key).
/// - An upsert that would not change a row leaves it as it is, and is counted as unchanged.
/// - All SQLite work runs on one thread per database, fed through a bounded channel, so the async
///   runtime never blocks and a slow disk slows collectors down instead of growing memory.
/// - A model that gains a field gains a column when it is prepared (existing rows keep NULL); a
///   field whose type changed, or a changed primary key, is refused with an error naming both.
/// - Reads are SQL on the same thread, between commits: filters as `WHERE` conditions with bound
///   values, `COUNT(*)` for the count, keyset paging for the continuation, `SELECT DISTINCT`.
///
/// # Examples
/// ```
/// use hamstr::backend::Sqlite;
/// let dir = tempfile::tempdir().unwrap();
/// let store = Sqlite::open(dir.path().join("hamstr.db")).unwrap();
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
pub struct Sqlite {
    commands: mpsc::Sender<Command>,
    path: Arc<PathBuf>,
}

enum Command {
    Prepare {
        schema: Schema,
        reply: oneshot::Sender<Result<(), BackendError>>,
    },
    Commit {
        batch: Box<Batch>,
        reply: oneshot::Sender<Result<Committed, BackendError>>,
    },
    LoadState {
        collector: CollectorId,
        reply: oneshot::Sender<Result<Option<State>, BackendError>>,
    },
    RecordRun {
        run: Box<RunRecord>,
        reply: oneshot::Sender<Result<(), BackendError>>,
    },
    RunHistory {
        collector: Option<CollectorId>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<RunRecord>, BackendError>>,
    },
    /// Other work (a read of model rows, a migration); it sends its own answer.
    Work(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// `sqlite://PATH`: the database file at PATH, created when missing.
pub(in crate::backend) const SCHEME: Scheme = Scheme {
    name: "sqlite",
    location: Some("PATH"),
    is_persistent: true,
    is_local_path: true,
    writes_stdout: false,
    open: |storage: &Storage| Ok(Arc::new(Sqlite::open(storage.location())?)),
};

impl Sqlite {
    /// Opens (or creates) the database at `path`. The path is a file's path, always: a path
    /// that starts with `file:` is not read as a SQLite URI (`file:x?mode=memory` would keep
    /// nothing); use [`in_memory`](Self::in_memory), or the `memory` storage, for that.
    ///
    /// # Errors
    /// When the file cannot be opened or set up.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BackendError> {
        let path = path.as_ref().to_owned();
        // The bundled SQLite reads any name that starts with `file:` as a URI, whatever the open
        // flags say; `./` in front makes it the name of a file again.
        let opened = if path.to_string_lossy().starts_with("file:") {
            Path::new(".").join(&path)
        } else {
            path.clone()
        };
        let connection = Connection::open(&opened)
            .map_err(|error| store_error(format!("opening {}", path.display()), error))?;
        Self::start(connection, path)
    }

    /// A database in memory, gone when the last clone is dropped.
    ///
    /// # Errors
    /// When SQLite cannot start.
    pub fn in_memory() -> Result<Self, BackendError> {
        let connection = Connection::open_in_memory()
            .map_err(|error| store_error("opening in memory", error))?;
        Self::start(connection, PathBuf::from(":memory:"))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn start(connection: Connection, path: PathBuf) -> Result<Self, BackendError> {
        set_up(&connection).map_err(|error| store_error("setting up the database", error))?;
        // Bounded: a slow disk slows the collectors down instead of growing memory.
        let (commands, receiver) = mpsc::channel(16);
        thread::Builder::new()
            .name("hamstr-sqlite-writer".into())
            .spawn(move || run_writer(connection, receiver))
            .map_err(|error| store_error("starting the writer thread", error))?;
        Ok(Self {
            commands,
            path: Arc::new(path),
        })
    }

    async fn send<T>(
        &self,
        command: Command,
        reply: oneshot::Receiver<Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let gone = || store_error("reaching the writer thread", WriterGone);
        self.commands.send(command).await.map_err(|_| gone())?;
        reply.await.map_err(|_| gone())?
    }

    /// Runs `work` on the writer thread, between commits.
    ///
    /// Reads share the writer's thread and connection rather than opening connections of their
    /// own: a database in memory has only the one connection; a read sees every commit made
    /// before it; and a page's count and rows come from the same state of the table, with no
    /// transaction to manage. The cost is that a read waits for the commit before it, and the
    /// commit after it waits for the read; pages are short, and their count is one `COUNT(*)`.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        self.on_thread(move |connection| work(connection)).await
    }

    /// Runs `work` on the writer thread, between commits, with the connection to itself.
    async fn on_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Work(Box::new(move |connection| {
            let _ = reply.send(work(connection));
        }));
        self.send(command, answer).await
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the SQLite writer thread has stopped")]
struct WriterGone;

fn store_error(
    operation: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> BackendError {
    BackendError::store("sqlite", operation, source)
}

fn set_up(connection: &Connection) -> rusqlite::Result<()> {
    // WAL lets readers (a status command, a user's SQL) read while collectors write;
    // synchronous=NORMAL in WAL mode survives a killed process (not a power cut) at a fraction of
    // the cost of FULL.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
             service TEXT NOT NULL, collector TEXT NOT NULL, state TEXT NOT NULL, updated_at TEXT NOT NULL,
             PRIMARY KEY (service, collector));
         CREATE TABLE IF NOT EXISTS {COLUMNS_TABLE} (
             table_name TEXT NOT NULL, column_name TEXT NOT NULL, field_type TEXT NOT NULL,
             is_primary_key INTEGER NOT NULL, position INTEGER NOT NULL,
             PRIMARY KEY (table_name, column_name));
         CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             service TEXT NOT NULL, collector TEXT NOT NULL,
             started_at TEXT NOT NULL, finished_at TEXT NOT NULL, outcome TEXT NOT NULL,
             pages INTEGER NOT NULL, records INTEGER NOT NULL, inserted INTEGER NOT NULL,
             updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, dropped INTEGER NOT NULL,
             skipped INTEGER NOT NULL, is_full INTEGER NOT NULL, resumed_at_page INTEGER,
             error TEXT);
         CREATE INDEX IF NOT EXISTS {RUNS_TABLE}_by_collector ON {RUNS_TABLE} (service, collector, id);
         {}",
        keys::create_table()
    ))?;
    keys::add_columns(connection)
}

fn run_writer(mut connection: Connection, mut commands: mpsc::Receiver<Command>) {
    // Ends by itself when the last `Sqlite` clone is dropped.
    while let Some(command) = commands.blocking_recv() {
        match command {
            Command::Prepare { schema, reply } => {
                let _ = reply.send(prepare(&mut connection, &schema));
            }
            Command::Commit { batch, reply } => {
                let _ = reply.send(commit(&mut connection, &batch));
            }
            Command::LoadState { collector, reply } => {
                let _ = reply.send(load_state(&connection, &collector));
            }
            Command::RecordRun { run, reply } => {
                let _ = reply.send(
                    record_run(&connection, &run)
                        .map_err(|error| store_error("recording a run", error)),
                );
            }
            Command::RunHistory {
                collector,
                limit,
                reply,
            } => {
                let _ = reply.send(
                    run_history(&connection, collector.as_ref(), limit)
                        .map_err(|error| store_error("reading the run history", error)),
                );
            }
            Command::Work(work) => work(&mut connection),
        }
    }
}

fn column_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Integer | FieldType::Bool => "INTEGER",
        FieldType::Float => "REAL",
        _ => "TEXT",
    }
}

/// `CREATE TABLE` for `schema`'s model under the name `quoted`, in SQLite's column types.
fn create_table(schema: &Schema, quoted: &str) -> String {
    sql::create_table(schema, quoted, column_type)
}

fn prepare(connection: &mut Connection, schema: &Schema) -> Result<(), BackendError> {
    let table = schema.name();
    let failed = |error| store_error(format!("preparing table `{table}`"), error);
    let transaction = connection.transaction().map_err(failed)?;
    let stored = stored_schema(&transaction, table).map_err(failed)?;
    let added = match &stored {
        None => {
            transaction
                .execute(&create_table(schema, &quote(table)), [])
                .map_err(failed)?;
            schema.fields().iter().collect()
        }
        Some(stored) => {
            let added = added_fields(stored, schema)?;
            for field in &added {
                // Added columns are nullable: the rows already stored have no value for them.
                transaction
                    .execute(
                        &format!(
                            "ALTER TABLE {} ADD COLUMN {} {}",
                            quote(table),
                            quote(field.name()),
                            column_type(field.field_type())
                        ),
                        [],
                    )
                    .map_err(failed)?;
            }
            added
        }
    };
    let offset = stored.as_ref().map_or(0, |stored| stored.fields().len());
    for (position, field) in added.iter().enumerate() {
        let is_key = schema.primary_key().any(|key| key.name() == field.name());
        transaction
            .execute(
                &format!("INSERT INTO {COLUMNS_TABLE} VALUES (?1, ?2, ?3, ?4, ?5)"),
                rusqlite::params![
                    table,
                    field.name(),
                    field.field_type().as_str(),
                    is_key,
                    (offset + position) as i64
                ],
            )
            .map_err(failed)?;
    }
    transaction.commit().map_err(failed)
}

fn sql_value(cell: &Cell) -> SqlValue {
    match cell {
        Cell::Null => SqlValue::Null,
        Cell::Bool(value) => SqlValue::Integer(i64::from(*value)),
        Cell::Integer(value) => SqlValue::Integer(*value),
        Cell::Float(value) => SqlValue::Real(*value),
        Cell::String(text) | Cell::Json(text) => SqlValue::Text(text.clone()),
        Cell::DateTime(value) => SqlValue::Text(format_datetime(value)),
        Cell::Date(value) => SqlValue::Text(format_date(value)),
    }
}

/// How datetimes are stored: RFC 3339 in UTC with a `Z` and only the fraction digits needed.
/// As text they sort in time order only to the second (`.` sorts before `Z`); reads compare
/// them through `read::sort_key`, which pads the fraction.
pub(crate) fn format_datetime(value: &DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn format_date(value: &NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

fn commit(connection: &mut Connection, batch: &Batch) -> Result<Committed, BackendError> {
    let schema = &batch.schema;
    let table = schema.name();
    let failed = |error| store_error(format!("writing to table `{table}`"), error);
    batch.check_rows()?;
    let transaction = connection.transaction().map_err(failed)?;
    let committed = write_rows(&transaction, schema, &batch.rows).map_err(|error| match error {
        rusqlite::Error::SqliteFailure(_, Some(ref message))
            if message.starts_with("no such table") =>
        {
            BackendError::NotPrepared {
                table: table.to_owned(),
            }
        }
        error => failed(error),
    })?;
    if let Some(state) = &batch.state {
        let text = serde_json::to_string(state).expect("a state always serializes");
        transaction
            .execute(
                &format!(
                    "INSERT INTO {STATE_TABLE} (service, collector, state, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (service, collector) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
                ),
                rusqlite::params![batch.collector.service, batch.collector.collector, text, format_datetime(&Utc::now())],
            )
            .map_err(|error| store_error("saving collector state", error))?;
    }
    transaction.commit().map_err(failed)?;
    Ok(committed)
}

/// Insert-or-update each row, counting which it was.
fn write_rows(
    transaction: &Transaction<'_>,
    schema: &Schema,
    rows: &[Vec<Cell>],
) -> rusqlite::Result<Committed> {
    let table = quote(schema.name());
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| quote(field.name()))
        .collect();
    let placeholders: Vec<String> = (1..=columns.len())
        .map(|index| format!("?{index}"))
        .collect();
    let mut insert = transaction.prepare_cached(&format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
        columns.join(", "),
        placeholders.join(", ")
    ))?;
    let key = schema.primary_key_indexes();
    let others: Vec<usize> = (0..columns.len())
        .filter(|index| !key.contains(index))
        .collect();
    let mut update = if others.is_empty() {
        None
    } else {
        let sets: Vec<String> = others
            .iter()
            .map(|&index| format!("{} = ?{}", columns[index], index + 1))
            .collect();
        let matches: Vec<String> = key
            .iter()
            .map(|&index| format!("{} = ?{}", columns[index], index + 1))
            .collect();
        // Only a row that differs is written, so an unchanged record is told from an update.
        let differs: Vec<String> = others
            .iter()
            .map(|&index| format!("{} IS NOT ?{}", columns[index], index + 1))
            .collect();
        Some(transaction.prepare_cached(&format!(
            "UPDATE {table} SET {} WHERE {} AND ({})",
            sets.join(", "),
            matches.join(" AND "),
            differs.join(" OR ")
        ))?)
    };
    let mut committed = Committed::default();
    for row in rows {
        let values: Vec<SqlValue> = row.iter().map(sql_value).collect();
        if insert.execute(params_from_iter(&values))? == 1 {
            committed.inserted += 1;
        } else {
            let changed = match update.as_mut() {
                Some(update) => update.execute(params_from_iter(&values))? == 1,
                None => false,
            };
            if changed {
                committed.updated += 1;
            } else {
                committed.unchanged += 1;
            }
        }
    }
    Ok(committed)
}

#[async_trait]
impl Backend for Sqlite {
    async fn prepare(&self, schema: &Schema) -> Result<(), BackendError> {
        let (reply, answer) = oneshot::channel();
        self.send(
            Command::Prepare {
                schema: schema.clone(),
                reply,
            },
            answer,
        )
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError> {
        let (reply, answer) = oneshot::channel();
        let batch = Box::new(batch);
        self.send(Command::Commit { batch, reply }, answer).await
    }

    async fn load_state(&self, collector: &CollectorId) -> Result<Option<State>, BackendError> {
        let (reply, answer) = oneshot::channel();
        self.send(
            Command::LoadState {
                collector: collector.clone(),
                reply,
            },
            answer,
        )
        .await
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), BackendError> {
        let (reply, answer) = oneshot::channel();
        let run = Box::new(run.clone());
        self.send(Command::RecordRun { run, reply }, answer).await
    }

    async fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        let (reply, answer) = oneshot::channel();
        self.send(
            Command::RunHistory {
                collector: collector.cloned(),
                limit,
                reply,
            },
            answer,
        )
        .await
    }

    async fn get_row(&self, schema: &Schema, key: &[Cell]) -> Result<Option<Row>, BackendError> {
        check_key(schema, key)?;
        let (schema, key) = (schema.clone(), key.to_vec());
        self.read(move |connection| read::get_row(connection, &schema, &key))
            .await
    }

    async fn query(&self, schema: &Schema, query: &Query) -> Result<RowPage, BackendError> {
        // Checked here: a bad query never reaches the thread.
        let query = query.resolve(schema)?;
        let schema = schema.clone();
        self.read(move |connection| read::query(connection, &schema, &query))
            .await
    }

    async fn plan_migration(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        let schemas = schemas.to_vec();
        self.read(move |connection| migrate::plan_tables(connection, &schemas))
            .await
    }

    async fn migrate(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        let schemas = schemas.to_vec();
        self.on_thread(move |connection| migrate::migrate_tables(connection, &schemas))
            .await
    }

    fn keeps_keys(&self) -> bool {
        true
    }

    async fn add_keys(
        &self,
        collector: &CollectorId,
        found: &FoundKeys<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, BackendError> {
        let (collector, keys) = (collector.clone(), found.keys.to_vec());
        let (depth, revisit) = (found.depth, found.revisit);
        self.on_thread(move |connection| {
            let found = FoundKeys::new(&keys).maybe_depth(depth).revisit(revisit);
            keys::add_keys(connection, &collector, &found, now)
        })
        .await
    }

    async fn due_keys(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        limit: usize,
        max_depth: Option<u32>,
    ) -> Result<Vec<DueKey>, BackendError> {
        let collector = collector.clone();
        self.read(move |connection| keys::due_keys(connection, &collector, now, limit, max_depth))
            .await
    }

    async fn record_key(
        &self,
        collector: &CollectorId,
        read: &KeyRead,
    ) -> Result<(), BackendError> {
        let (collector, read) = (collector.clone(), read.clone());
        self.read(move |connection| keys::record_key(connection, &collector, &read))
            .await
    }

    async fn frontier(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        max_depth: Option<u32>,
    ) -> Result<Frontier, BackendError> {
        let collector = collector.clone();
        self.read(move |connection| keys::frontier(connection, &collector, now, max_depth))
            .await
    }

    async fn distinct(&self, schema: &Schema, field: &str) -> Result<Vec<Cell>, BackendError> {
        let (schema, field) = (schema.clone(), field.to_owned());
        self.read(move |connection| read::distinct(connection, &schema, &field))
            .await
    }
}
