//! Reading a model's log back: the newest line of each primary key is its row.

use std::{
    collections::{HashMap, hash_map::Entry},
    fs::File,
    io::{self, BufRead, BufReader},
    path::Path,
};

use super::{JsonLines, Target, io_error, line::read_row, load_schema, lock};
use crate::{
    backend::{BackendError, added_fields},
    model::{Cell, Row, Schema},
};

impl JsonLines {
    /// Every stored row of `schema`'s model, read from its log file: one per primary key, with
    /// its newest values.
    ///
    /// The file is read without the store's lock, so collectors keep writing meanwhile. A commit
    /// writes and flushes its lines before it returns, so every row committed before this call
    /// is read; a line still being written has no line break yet and is left for the next read.
    pub(super) async fn stored_rows(&self, schema: &Schema) -> Result<Vec<Row>, BackendError> {
        let dir = match &lock(&self.inner).target {
            Target::Dir(dir) => dir.clone(),
            Target::Writer(_) => {
                return Err(BackendError::Unsupported {
                    backend: "JSON Lines on a writer (stdout)",
                    operation: "reading rows: lines written to a writer are not kept",
                });
            }
        };
        let schema = schema.clone();
        tokio::task::spawn_blocking(move || {
            let name = schema.name();
            let schema_path = dir.join(format!("{name}.schema.json"));
            let stored = load_schema(&schema_path, name)
                .map_err(|error| io_error(format!("reading {}", schema_path.display()), error))?;
            if let Some(stored) = &stored {
                // A model whose field changed type cannot read the old lines as its own.
                added_fields(stored, &schema)?;
            }
            latest_rows(&dir.join(format!("{name}.jsonl")), &schema)
        })
        .await
        .map_err(|error| io_error("running a JSON Lines read", error))?
    }
}

/// The rows of the log at `path`, the last line of each primary key winning; no file is no rows.
fn latest_rows(path: &Path, schema: &Schema) -> Result<Vec<Row>, BackendError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(format!("reading {}", path.display()), error)),
    };
    let mut reader = BufReader::new(file);
    let mut rows: Vec<Row> = Vec::new();
    // Primary key (as JSON text) to position in `rows`.
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| io_error(format!("reading {}", path.display()), error))?;
        // A last line without its line break is being written now, or was cut short by a crash
        // (and its record is written again by the next run): no record yet.
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        let row = read_row(schema, &line).map_err(|error| {
            io_error(format!("reading {} line {number}", path.display()), error)
        })?;
        match positions.entry(key_text(schema, &row)) {
            Entry::Occupied(entry) => rows[*entry.get()] = row,
            Entry::Vacant(entry) => {
                entry.insert(rows.len());
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

fn key_text(schema: &Schema, row: &[Cell]) -> String {
    let key: Vec<serde_json::Value> = schema
        .primary_key_indexes()
        .iter()
        .map(|&index| row[index].to_json())
        .collect();
    serde_json::Value::Array(key).to_string()
}
