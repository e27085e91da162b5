//! [`JsonLines`]: one JSON object per line, in a file per model or on a writer such as stdout.

use std::{
    collections::{HashMap, HashSet},
    fs::{self, File, OpenOptions},
    hash::{DefaultHasher, Hash, Hasher},
    io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use super::{Backend, BackendError, Batch, CollectorId, Committed, State, added_fields};
use crate::model::{Cell, FieldType, Schema};

const STATE_FILE: &str = "_hamstr_state.json";

/// Writes records as JSON Lines: in a folder, one `<model>.jsonl` file per model; or on a writer
/// (stdout for a one-shot extractor: [`JsonLines::stdout`]), one object per line and nothing else.
///
/// JSON Lines is a log, not a table: a record collected again is appended again, and the last
/// line with a primary key holds that record's newest values ([`Committed::updated`] counts
/// such lines). It cannot commit rows and state in one transaction; instead each commit writes
/// and flushes (and, in a folder, syncs) its rows before it saves the state, so the state never
/// runs ahead of the records: after a crash, at worst some records are written twice.
///
/// In a folder, `<model>.schema.json` remembers each model's fields, so that a changed model is
/// checked as in the other backends, and `_hamstr_state.json` holds the collectors' state. On a
/// writer, state lives in memory only.
#[derive(Debug, Clone)]
pub struct JsonLines {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    target: Target,
    tables: HashMap<String, Table>,
    states: HashMap<CollectorId, State>,
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

#[derive(Debug)]
struct Table {
    schema: Schema,
    /// Hashes of the primary keys written so far, to tell new records from updates.
    keys: HashSet<u64>,
    file: Option<BufWriter<File>>,
}

impl JsonLines {
    /// Writes into the folder `dir`, creating it if needed, and reads the state saved there.
    ///
    /// # Errors
    /// When the folder cannot be created or its state file cannot be read.
    pub fn dir(dir: impl AsRef<Path>) -> Result<Self, BackendError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir)
            .map_err(|error| io_error(format!("creating {}", dir.display()), error))?;
        let state_file = dir.join(STATE_FILE);
        let states = match fs::read_to_string(&state_file) {
            Ok(text) => {
                let saved: Vec<(CollectorId, State)> =
                    serde_json::from_str(&text).map_err(|error| {
                        io_error(format!("reading {}", state_file.display()), error)
                    })?;
                saved.into_iter().collect()
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(error) => return Err(io_error(format!("reading {}", state_file.display()), error)),
        };
        Ok(Self::new(Target::Dir(dir), states))
    }

    /// Writes every record to standard output, one JSON object per line.
    pub fn stdout() -> Self {
        Self::writer(io::stdout())
    }

    /// Writes every record to `writer`, one JSON object per line.
    pub fn writer(writer: impl Write + Send + 'static) -> Self {
        Self::new(Target::Writer(Box::new(writer)), HashMap::new())
    }

    fn new(target: Target, states: HashMap<CollectorId, State>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                target,
                tables: HashMap::new(),
                states,
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

/// The hash of a record's primary key, the same for a record about to be written and one read
/// back from its line.
/// [`record_key`] of a row about to be written: the same hash as its line gives when read back.
fn row_key(schema: &Schema, row: &[Cell]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for &index in schema.primary_key_indexes() {
        row[index].to_json().to_string().hash(&mut hasher);
    }
    hasher.finish()
}

/// A row as one JSON object, field names in schema order.
struct JsonRow<'a> {
    schema: &'a Schema,
    row: &'a [Cell],
}

impl serde::Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.row.len()))?;
        for (field, cell) in self.schema.fields().iter().zip(self.row) {
            map.serialize_entry(field.name(), &JsonCell(cell))?;
        }
        map.end()
    }
}

/// A cell as JSON, as [`Cell::to_json`] gives it, without building a value.
struct JsonCell<'a>(&'a Cell);

impl serde::Serialize for JsonCell<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Cell::Null => serializer.serialize_none(),
            Cell::Bool(value) => serializer.serialize_bool(*value),
            Cell::Integer(value) => serializer.serialize_i64(*value),
            Cell::Float(value) if value.is_finite() => serializer.serialize_f64(*value),
            Cell::Float(_) => serializer.serialize_none(),
            Cell::String(value) => serializer.serialize_str(value),
            Cell::DateTime(value) => {
                serializer.collect_str(&value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Cell::Date(value) => serializer.collect_str(value),
            // JSON text on one line is written as it is (a `RawValue` is copied verbatim); text
            // with line breaks (a pretty-printed API) is re-encoded, so a record stays one line.
            Cell::Json(text) if !text.contains(['\n', '\r']) => {
                match serde_json::from_str::<&serde_json::value::RawValue>(text) {
                    Ok(raw) => raw.serialize(serializer),
                    Err(_) => serializer.serialize_str(text),
                }
            }
            Cell::Json(_) => self.0.to_json().serialize(serializer),
        }
    }
}

fn record_key(schema: &Schema, record: &serde_json::Map<String, serde_json::Value>) -> u64 {
    let mut hasher = DefaultHasher::new();
    for field in schema.primary_key() {
        match record.get(field.name()) {
            Some(value) => value.to_string().hash(&mut hasher),
            None => "null".hash(&mut hasher),
        }
    }
    hasher.finish()
}

/// Opens a model's file for appending; a last line cut short by a crash is ended first, so the
/// next record starts on a line of its own.
fn open_for_append(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let length = file.metadata()?.len();
    if length > 0 {
        let mut last = [0_u8];
        file.seek(SeekFrom::Start(length - 1))?;
        file.read_exact(&mut last)?;
        if last != *b"\n" {
            file.write_all(b"\n")?;
        }
    }
    Ok(file)
}

/// The primary keys already in a model's file, so a restart still tells new from updated.
fn existing_keys(path: &Path, schema: &Schema) -> io::Result<HashSet<u64>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(error) => return Err(error),
    };
    let mut keys = HashSet::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        // A line cut short by a crash is skipped: its record is written again by the next run.
        let Ok(record) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
        else {
            continue;
        };
        keys.insert(record_key(schema, &record));
    }
    Ok(keys)
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
            Target::Writer(_) => (HashSet::new(), None),
            Target::Dir(dir) => {
                let schema_path = dir.join(format!("{name}.schema.json"));
                let stored = load_schema(&schema_path, &name).map_err(|error| {
                    io_error(format!("reading {}", schema_path.display()), error)
                })?;
                if let Some(stored) = &stored {
                    added_fields(stored, &schema)?;
                }
                let path = dir.join(format!("{name}.jsonl"));
                let keys = existing_keys(&path, &schema)
                    .map_err(|error| io_error(format!("reading {}", path.display()), error))?;
                let file = open_for_append(&path)
                    .map_err(|error| io_error(format!("opening {}", path.display()), error))?;
                (keys, Some(BufWriter::new(file)))
            }
        };
        self.tables
            .insert(name.clone(), Table { schema, keys, file });
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
        let Self { target, tables, .. } = self;
        let table = tables
            .get_mut(name)
            .filter(|table| table.schema == *batch.schema)
            .ok_or_else(|| BackendError::NotPrepared {
                table: name.to_owned(),
            })?;
        batch.check_rows()?;
        let mut committed = Committed::default();
        let mut lines = Vec::with_capacity(batch.rows.len() * 256);
        for row in &batch.rows {
            // Straight from the cells to the line: no `serde_json::Value` per record.
            serde_json::to_writer(
                &mut lines,
                &JsonRow {
                    schema: &table.schema,
                    row,
                },
            )
            .map_err(|error| io_error("encoding a record", error))?;
            lines.push(b'\n');
            if table.keys.insert(row_key(&table.schema, row)) {
                committed.inserted += 1;
            } else {
                committed.updated += 1;
            }
        }
        let written = match (target, table.file.as_mut()) {
            (Target::Dir(_), Some(file)) => file
                .write_all(&lines)
                .and_then(|()| file.flush())
                .and_then(|()| file.get_ref().sync_data()),
            (Target::Writer(writer), _) => writer.write_all(&lines).and_then(|()| writer.flush()),
            (Target::Dir(_), None) => Ok(()),
        };
        written.map_err(|error| io_error(format!("writing records of `{name}`"), error))?;
        // Only now, with the records on disk, may the state say they are stored.
        if let Some(state) = batch.state {
            self.states.insert(batch.collector, state);
            self.save_states()?;
        }
        Ok(committed)
    }

    fn save_states(&self) -> Result<(), BackendError> {
        let Target::Dir(dir) = &self.target else {
            return Ok(());
        };
        let mut states: Vec<(&CollectorId, &State)> = self.states.iter().collect();
        states.sort_by(|left, right| left.0.cmp(right.0));
        let text = serde_json::to_string_pretty(&states)
            .map_err(|error| io_error("encoding state", error))?;
        let path = dir.join(STATE_FILE);
        write_atomically(&path, text.as_bytes())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line written straight from the cells reads back as `Cell::to_json` gives each cell, on
    /// one line, with the same key hash as when it is read back on a restart.
    #[test]
    fn rows_are_written_as_their_cells_json() {
        let schema = Schema::builder("things")
            .field("id", FieldType::String)
            .nullable("count", FieldType::Integer)
            .nullable("price", FieldType::Float)
            .nullable("nan", FieldType::Float)
            .nullable("flag", FieldType::Bool)
            .nullable("at", FieldType::DateTime)
            .nullable("on", FieldType::Date)
            .nullable("compact", FieldType::Json)
            .nullable("pretty", FieldType::Json)
            .primary_key(["id"])
            .build()
            .unwrap();
        let row = vec![
            Cell::String("a\"b".into()),
            Cell::Integer(-3),
            Cell::Float(1.5),
            Cell::Float(f64::NAN),
            Cell::Bool(true),
            Cell::DateTime(chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap()),
            Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
            Cell::Json(r#"{"a": [1, 2]}"#.into()),
            Cell::Json("{\n  \"b\": null\n}".into()),
        ];
        let line = serde_json::to_string(&JsonRow {
            schema: &schema,
            row: &row,
        })
        .unwrap();
        assert!(!line.contains('\n'), "{line}");
        let read: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line).unwrap();
        let expected: serde_json::Map<String, serde_json::Value> =
            crate::model::row_to_json(&schema, &row)
                .into_iter()
                .collect();
        assert_eq!(read, expected);
        assert_eq!(row_key(&schema, &row), record_key(&schema, &read));
    }
}
