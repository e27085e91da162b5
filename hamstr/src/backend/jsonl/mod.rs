//! [`JsonLines`]: one JSON object per line, in a file per model or on a writer such as stdout.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, BufRead, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use async_trait::async_trait;

mod index;
mod line;
mod read;
mod table;

use index::KeyIndex;
use table::{Table, existing_keys, open_for_append};

use super::{
    Backend, BackendError, Batch, CollectorId, Committed, Query, RecentRuns, RowPage, RunRecord,
    Scheme, State, Storage, added_fields, check_key, distinct_values, find_by_key, newest_runs,
};
use crate::model::{Cell, FieldType, Row, Schema};

const STATE_FILE: &str = "_hamstr_state.json";
const RUNS_FILE: &str = "_hamstr_runs.jsonl";
/// How often a walk's state reaches the state file while records keep coming. The state may lag
/// the records (a restart then reads a few pages again, and writes none of them twice), never
/// lead them; a state-only commit (the end of a run) is saved at once.
const STATE_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Writes records as JSON Lines: in a folder, one `<model>.jsonl` file per model; or on a writer
/// (stdout for a one-shot extractor: [`JsonLines::stdout`]), one object per line and nothing else.
///
/// JSON Lines is a log, not a table: a record that changed is appended again, and the last
/// line with a primary key holds that record's newest values ([`Committed::updated`] counts
/// such lines). A record collected again unchanged (the same line as the last one written for
/// its key) is not written again ([`Committed::unchanged`]).
///
/// It cannot commit rows and state in one transaction; instead each commit writes and flushes
/// its rows before the state is saved, and in a folder the records files are synced to disk
/// before the state file is written, so the state never runs ahead of the records, even after
/// a power cut. During a long walk the state file is rewritten at most once a second, and at
/// once when a run ends. After a crash, the next run goes on from the last saved state: it may
/// read again pages whose records are already written, and writes none of them twice. A line cut
/// short by the crash is removed when the file is opened again.
///
/// In a folder, `<model>.schema.json` remembers each model's fields, so that a changed model is
/// checked as in the other backends, `_hamstr_state.json` holds the collectors' state and
/// `_hamstr_runs.jsonl` the load history. On a writer, state and history live in memory, unless
/// a [`state_file`](Self::state_file) keeps the state.
///
/// Reads ([`Backend::get_row`], [`Backend::query`], [`Backend::distinct`]) read the model's file
/// whole, keep the last line of each primary key, and answer in memory: every row committed
/// before the call is there, and a line cut short at the end is skipped. On a writer nothing is
/// kept to read back, and reads are [`BackendError::Unsupported`].
#[derive(Debug, Clone)]
pub struct JsonLines {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    target: Target,
    tables: HashMap<String, Table>,
    states: HashMap<CollectorId, State>,
    /// Where the state is saved: a folder's `_hamstr_state.json`, a writer's state file.
    state_path: Option<PathBuf>,
    /// When the state file was last written.
    states_saved: Option<Instant>,
    /// The history of a writer's runs (a folder keeps it in a file).
    history: RecentRuns,
    /// A writer puts each record in an envelope naming its collector and model.
    is_enveloped: bool,
}

enum Target {
    Dir(PathBuf),
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(dir) => formatter.debug_tuple("Dir").field(dir).finish(),
            Self::Writer(_) => formatter.write_str("Writer"),
        }
    }
}

/// How many of the latest keys standard output remembers (16 bytes each, and the map's share).
const STDOUT_KEYS: usize = 8_192;

/// `jsonl://DIR` (a file per model in DIR, created when missing), `stdout` (JSON lines on
/// standard output) and `stdout+envelope` (each record in an envelope naming its collector and
/// model).
pub(in crate::backend) const SCHEMES: [Scheme; 3] = [
    Scheme {
        name: "jsonl",
        location: Some("DIR"),
        is_persistent: true,
        is_local_path: true,
        writes_stdout: false,
        open: |storage: &Storage| Ok(Arc::new(JsonLines::dir(storage.location())?)),
    },
    Scheme {
        name: "stdout",
        location: None,
        is_persistent: false,
        is_local_path: false,
        writes_stdout: true,
        open: |_: &Storage| Ok(Arc::new(JsonLines::stdout())),
    },
    Scheme {
        name: "stdout+envelope",
        location: None,
        is_persistent: false,
        is_local_path: false,
        writes_stdout: true,
        open: |_: &Storage| Ok(Arc::new(JsonLines::stdout().enveloped())),
    },
];

impl JsonLines {
    /// Writes into the folder `dir`, creating it if needed, and reads the state saved there.
    ///
    /// # Errors
    /// When the folder cannot be created or its state file cannot be read.
    pub fn dir(dir: impl AsRef<Path>) -> Result<Self, BackendError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir)
            .map_err(|error| io_error(format!("creating {}", dir.display()), error))?;
        let state_path = dir.join(STATE_FILE);
        let states = read_states(&state_path)?;
        let backend = Self::new(Target::Dir(dir), states);
        lock(&backend.inner).state_path = Some(state_path);
        Ok(backend)
    }

    /// Keeps the state of a writer's collectors in the file at `path`, so that the next process
    /// goes on where this one stopped: a one-shot extract from cron that writes only what is
    /// new. The state saved there is read now; it is saved (replacing the file whole) once the
    /// lines it covers are written and flushed, so it never runs ahead of them. A run cut short
    /// may leave lines the saved state does not cover yet: the next run writes them again.
    ///
    /// # Errors
    /// When the file is there but is not a state file, or on a folder, which keeps its state in
    /// a file of its own.
    ///
    /// # Examples
    /// ```no_run
    /// use hamstr::backend::JsonLines;
    /// # fn main() -> Result<(), hamstr::backend::BackendError> {
    /// let backend = JsonLines::stdout().state_file(".hamstr-state.json")?;
    /// # Ok(()) }
    /// ```
    pub fn state_file(self, path: impl AsRef<Path>) -> Result<Self, BackendError> {
        let path = path.as_ref().to_owned();
        {
            let mut inner = lock(&self.inner);
            if let Target::Dir(dir) = &inner.target {
                return Err(io_error(
                    format!("keeping state in {}", path.display()),
                    io::Error::other(format!(
                        "the folder {} keeps its state in its own {STATE_FILE}",
                        dir.display()
                    )),
                ));
            }
            inner.states = read_states(&path)?;
            inner.state_path = Some(path);
        }
        Ok(self)
    }

    /// Writes every record to standard output, one JSON object per line.
    pub fn stdout() -> Self {
        Self::writer(io::stdout())
    }

    /// Writes every record to `writer`, one JSON object per line.
    pub fn writer(writer: impl Write + Send + 'static) -> Self {
        Self::new(Target::Writer(Box::new(writer)), HashMap::new())
    }

    /// Puts each record a writer writes in an envelope that names where it came from, so that
    /// one stream of several collectors and models can be told apart:
    /// `{"collector":"shop/orders","model":"orders","record":{…}}`. A folder's files are one
    /// per model already; it writes records as they are.
    #[must_use]
    pub fn enveloped(self) -> Self {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_enveloped = true;
        self
    }

    fn new(target: Target, states: HashMap<CollectorId, State>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                target,
                tables: HashMap::new(),
                states,
                state_path: None,
                states_saved: None,
                history: RecentRuns::default(),
                is_enveloped: false,
            })),
        }
    }

    /// Runs `work` on the blocking pool with the store locked: file I/O must not block the runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Inner) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&mut lock(&inner)))
            .await
            .map_err(|error| io_error("running a JSON Lines write", error))?
    }
}

/// The states saved at `path`; none when there is no file.
fn read_states(path: &Path) -> Result<HashMap<CollectorId, State>, BackendError> {
    let reading = || format!("reading {}", path.display());
    match fs::read_to_string(path) {
        Ok(text) => {
            let saved: Vec<(CollectorId, State)> =
                serde_json::from_str(&text).map_err(|error| io_error(reading(), error))?;
            Ok(saved.into_iter().collect())
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(error) => Err(io_error(reading(), error)),
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

fn io_error(
    operation: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> BackendError {
    BackendError::store("jsonl", operation, source)
}

/// A model's schema as saved beside its file.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedSchema {
    fields: Vec<(String, String, bool)>,
    primary_key: Vec<String>,
}

fn save_schema(path: &Path, schema: &Schema) -> io::Result<()> {
    let saved = SavedSchema {
        fields: schema
            .fields()
            .iter()
            .map(|field| {
                (
                    field.name().to_owned(),
                    field.field_type().as_str().to_owned(),
                    field.is_nullable(),
                )
            })
            .collect(),
        primary_key: schema
            .primary_key()
            .map(|field| field.name().to_owned())
            .collect(),
    };
    let text = serde_json::to_string_pretty(&saved).map_err(io::Error::other)?;
    write_atomically(path, text.as_bytes())
}

fn load_schema(path: &Path, name: &str) -> io::Result<Option<Schema>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let saved: SavedSchema = serde_json::from_str(&text).map_err(io::Error::other)?;
    let mut builder = Schema::builder(name);
    for (field, field_type, is_nullable) in saved.fields {
        let field_type = FieldType::parse(&field_type).unwrap_or(FieldType::Json);
        builder = if is_nullable {
            builder.nullable(field, field_type)
        } else {
            builder.field(field, field_type)
        };
    }
    builder
        .primary_key(saved.primary_key)
        .build()
        .map(Some)
        .map_err(io::Error::other)
}

/// Writes a file whole or not at all: a crash leaves the old version.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&partial, path)
}

impl Inner {
    fn prepare(&mut self, schema: Schema) -> Result<(), BackendError> {
        let name = schema.name().to_owned();
        if let Some(table) = self.tables.get_mut(&name) {
            added_fields(&table.schema, &schema)?;
            table.schema = schema;
            return self.save_schema(&name);
        }
        let (keys, file) = match &self.target {
            // Standard output cannot be read back: a window of the latest keys, flat in memory.
            Target::Writer(_) => (KeyIndex::window(STDOUT_KEYS), None),
            Target::Dir(dir) => {
                let schema_path = dir.join(format!("{name}.schema.json"));
                let stored = load_schema(&schema_path, &name).map_err(|error| {
                    io_error(format!("reading {}", schema_path.display()), error)
                })?;
                if let Some(stored) = &stored {
                    added_fields(stored, &schema)?;
                }
                let path = dir.join(format!("{name}.jsonl"));
                // Cut a line the crash left first: a record written up to its last brace but
                // not its line break is read again, not counted as stored.
                let file = open_for_append(&path)
                    .map_err(|error| io_error(format!("opening {}", path.display()), error))?;
                let keys = existing_keys(&path, dir, &schema)
                    .map_err(|error| io_error(format!("reading {}", path.display()), error))?;
                (keys, Some(BufWriter::new(file)))
            }
        };
        self.tables.insert(
            name.clone(),
            Table {
                schema,
                keys,
                file,
                is_unsynced: false,
                lines: Vec::new(),
            },
        );
        self.save_schema(&name)
    }

    fn save_schema(&self, name: &str) -> Result<(), BackendError> {
        if let (Target::Dir(dir), Some(table)) = (&self.target, self.tables.get(name)) {
            let path = dir.join(format!("{name}.schema.json"));
            save_schema(&path, &table.schema)
                .map_err(|error| io_error(format!("writing {}", path.display()), error))?;
        }
        Ok(())
    }

    fn commit(&mut self, batch: Batch) -> Result<Committed, BackendError> {
        let name = batch.schema.name();
        let Self {
            target,
            tables,
            is_enveloped,
            ..
        } = self;
        let table = tables
            .get_mut(name)
            .filter(|table| table.schema == *batch.schema)
            .ok_or_else(|| BackendError::NotPrepared {
                table: name.to_owned(),
            })?;
        batch.check_rows()?;
        let envelope = (*is_enveloped && matches!(target, Target::Writer(_))).then(|| {
            let text = |value: &str| serde_json::Value::from(value).to_string();
            format!(
                "{{\"collector\":{},\"model\":{},\"record\":",
                text(&batch.collector.to_string()),
                text(name)
            )
        });
        let committed = match table.write(target, envelope.as_deref(), &batch.rows) {
            Ok(committed) => committed,
            Err(error) => {
                // The index already holds keys whose lines may not have been written: a record
                // collected again must not be taken for unchanged.
                table.recover(target, name);
                return Err(error);
            }
        };
        // Only now, with the records on disk, may the state say they are stored.
        if let Some(state) = batch.state {
            self.states.insert(batch.collector, state);
            let is_due = self
                .states_saved
                .is_none_or(|saved| saved.elapsed() >= STATE_SAVE_INTERVAL);
            if batch.rows.is_empty() || is_due {
                self.save_states()?;
                self.states_saved = Some(Instant::now());
            }
        }
        Ok(committed)
    }

    fn record_run(&mut self, run: RunRecord) -> Result<(), BackendError> {
        match &self.target {
            Target::Writer(_) => {
                self.history.push(run);
                Ok(())
            }
            Target::Dir(dir) => {
                let path = dir.join(RUNS_FILE);
                let mut line =
                    serde_json::to_vec(&run).map_err(|error| io_error("encoding a run", error))?;
                line.push(b'\n');
                open_for_append(&path)
                    .and_then(|mut file| file.write_all(&line))
                    .map_err(|error| io_error(format!("writing {}", path.display()), error))
            }
        }
    }

    fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        let Target::Dir(dir) = &self.target else {
            return Ok(self.history.newest(collector, limit));
        };
        let path = dir.join(RUNS_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_error(format!("reading {}", path.display()), error)),
        };
        let mut runs = Vec::new();
        for line in BufReader::new(file).lines() {
            let line =
                line.map_err(|error| io_error(format!("reading {}", path.display()), error))?;
            // A line cut short by a crash is no run.
            if let Ok(run) = serde_json::from_str::<RunRecord>(&line) {
                runs.push(run);
            }
        }
        Ok(newest_runs(runs.iter(), collector, limit))
    }

    /// Saves every collector's state, after syncing the records it covers to disk (a writer's
    /// lines are flushed by each commit).
    fn save_states(&mut self) -> Result<(), BackendError> {
        let Some(path) = &self.state_path else {
            return Ok(());
        };
        for (name, table) in &mut self.tables {
            if let Some(file) = table.file.as_ref().filter(|_| table.is_unsynced) {
                file.get_ref()
                    .sync_data()
                    .map_err(|error| io_error(format!("syncing records of `{name}`"), error))?;
                table.is_unsynced = false;
            }
        }
        let mut states: Vec<(&CollectorId, &State)> = self.states.iter().collect();
        states.sort_by(|left, right| left.0.cmp(right.0));
        let text = serde_json::to_string_pretty(&states)
            .map_err(|error| io_error("encoding state", error))?;
        write_atomically(path, text.as_bytes())
            .map_err(|error| io_error(format!("writing {}", path.display()), error))
    }
}

#[async_trait]
impl Backend for JsonLines {
    async fn prepare(&self, schema: &Schema) -> Result<(), BackendError> {
        let schema = schema.clone();
        self.blocking(move |inner| inner.prepare(schema)).await
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError> {
        self.blocking(move |inner| inner.commit(batch)).await
    }

    async fn load_state(&self, collector: &CollectorId) -> Result<Option<State>, BackendError> {
        Ok(lock(&self.inner).states.get(collector).cloned())
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), BackendError> {
        let run = run.clone();
        self.blocking(move |inner| inner.record_run(run)).await
    }

    async fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        let collector = collector.cloned();
        self.blocking(move |inner| inner.run_history(collector.as_ref(), limit))
            .await
    }

    async fn get_row(&self, schema: &Schema, key: &[Cell]) -> Result<Option<Row>, BackendError> {
        check_key(schema, key)?;
        find_by_key(schema, key, &self.stored_rows(schema).await?)
    }

    async fn query(&self, schema: &Schema, query: &Query) -> Result<RowPage, BackendError> {
        query.check(schema)?;
        query.page_of(schema, &self.stored_rows(schema).await?)
    }

    async fn distinct(&self, schema: &Schema, field: &str) -> Result<Vec<Cell>, BackendError> {
        distinct_values(schema, field, &self.stored_rows(schema).await?)
    }
}

#[cfg(test)]
mod tests;
